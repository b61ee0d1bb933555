"""Where the window cannot open, one line says why, before Qt would abort the process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from moodline.desktop.display import DEBIAN_PACKAGES, display_problem, xcb_plugin

MOODLINE = str(Path(sys.executable).with_name("moodline"))


def test_no_display_is_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    result = subprocess.run([MOODLINE, "--open", "assets/demo.flac", "--settings-file", str(tmp_path / "s.ini")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("moodline: the window needs a display, and DISPLAY is not set")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_missing_system_library_is_named_with_its_package(tmp_path, monkeypatch):
    gcc = shutil.which("gcc")
    assert gcc, "gcc builds the stand-in plugin (it is on every build machine Moodline uses)"
    (tmp_path / "needed.c").write_text("int needed(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int needed(void);\nint plugin(void) { return needed(); }\n")
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(tmp_path / "libmoodline-gone.so.1"), str(tmp_path / "needed.c"),
                    "-Wl,-soname,libmoodline-gone.so.1"], check=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(tmp_path / "libqxcb.so"), str(tmp_path / "plugin.c"),
                    str(tmp_path / "libmoodline-gone.so.1")], check=True)
    (tmp_path / "libmoodline-gone.so.1").unlink()  # the library the "plugin" needs is not installed
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setitem(DEBIAN_PACKAGES, "libmoodline-gone.so.1", "libmoodline-gone1")
    problem = display_problem(tmp_path / "libqxcb.so")
    assert problem == ("the window cannot open: Qt's X11 plugin needs libmoodline-gone.so.1, which is not installed "
                       "(Debian/Ubuntu: scripts/system-packages, or sudo apt install libmoodline-gone1)")
    monkeypatch.delitem(DEBIAN_PACKAGES, "libmoodline-gone.so.1")
    assert display_problem(tmp_path / "libqxcb.so").endswith(
        "or install the package that has libmoodline-gone.so.1)")


def test_the_real_plugin_loads_with_the_packages_the_first_command_installs(monkeypatch):
    """scripts/system-packages (without --test) installs every library Qt's xcb plugin needs."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert xcb_plugin() is not None
    assert display_problem() is None
