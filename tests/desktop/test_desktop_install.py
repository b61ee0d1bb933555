"""Moodline in the desktop's menu: `moodline install-desktop` writes an entry the desktop accepts,
and its Exec line starts the window (under Xvfb, as a menu would start it)."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

MOODLINE = str(Path(sys.executable).with_name("moodline"))
ROOT = Path(__file__).resolve().parents[2]


def install(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    return subprocess.run([MOODLINE, "install-desktop", *args], capture_output=True, text=True, env=env, timeout=60)


def exec_line(entry: Path) -> str:
    return next(line.split("=", 1)[1] for line in entry.read_text().splitlines() if line.startswith("Exec="))


def test_the_entry_is_valid_and_its_exec_line_opens_the_window(tmp_path):
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    entry = tmp_path / "share" / "applications" / "moodline.desktop"
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "moodline.svg"
    assert icon.read_text().startswith("<svg") and stat.S_IMODE(entry.stat().st_mode) == 0o644
    validate = shutil.which("desktop-file-validate")
    assert validate, "desktop-file-validate is needed (scripts/system-packages --test)"
    checked = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr

    # As a menu runs it: the Exec line, %f given a file (a file manager's "Open with"), on X11.
    command = [ROOT / "assets" / "demo.flac" if word == "%f" else word for word in shlex.split(exec_line(entry))]
    assert Path(command[0]).is_absolute()  # works without a terminal's PATH
    dump = tmp_path / "shown.json"
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *map(str, command),
                          "--settings-file", str(tmp_path / "s.ini"), "--quit-when-ready", "--dump-timeline", str(dump)],
                         capture_output=True, text=True, timeout=180, env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    assert run.returncode == 0, run.stderr
    assert sum(p["is_speech"] for p in json.loads(dump.read_text())["timeline"]) >= 20  # the demo is shown

    # From the menu itself (no file): %f is dropped and the window opens empty.
    bare = [word for word in shlex.split(exec_line(entry)) if word != "%f"]
    run = subprocess.run(["xvfb-run", "-a", *bare, "--settings-file", str(tmp_path / "s.ini"), "--quit-after", "2"],
                         capture_output=True, text=True, timeout=180, env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    assert run.returncode == 0, run.stderr

    assert install(tmp_path, "--remove").returncode == 0
    assert not entry.exists() and not icon.exists()


def test_a_folder_that_cannot_hold_the_entry_is_one_line(tmp_path):
    (tmp_path / "share").write_text("a file where the data folder should be")
    result = install(tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("moodline: ") and result.stderr.count("\n") == 1
