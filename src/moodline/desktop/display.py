"""Whether the window can open here, asked before Qt is: Qt's answer to a missing display or a
missing system library is to abort the process (``qt.qpa.plugin: Could not load the Qt platform
plugin "xcb"``, exit 134), which a user cannot read. No Qt is imported here.

On Linux with X11 (Qt's ``xcb`` platform, the default) the window needs a display and the
system libraries the xcb plugin links to; the plugin is loaded once here, so that the first
library missing is named in one line with the package that has it. Other platforms (Windows,
macOS, ``QT_QPA_PLATFORM=offscreen`` or ``wayland``) are left to Qt.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from pathlib import Path

# The libraries Qt's xcb plugin needs that a minimal Debian/Ubuntu lacks, and their packages
# (scripts/system-packages installs them all).
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0", "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1",
    "libdbus-1.so.3": "libdbus-1-3", "libfontconfig.so.1": "libfontconfig1", "libX11-xcb.so.1": "libx11-xcb1",
}


def xcb_plugin() -> Path | None:
    """PyQt5's xcb platform plugin, if this PyQt5 has one."""
    spec = importlib.util.find_spec("PyQt5")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt5" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def plugin_load_error(plugin: Path) -> str | None:
    """Why ``plugin`` cannot be loaded (the system's words), or None if it loads."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return str(exc)
    return None


def display_problem(plugin: Path | None = None) -> str | None:
    """Why the window cannot open here (one line), or None when it can (or Qt is to judge)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return None
    if not os.environ.get("DISPLAY"):
        return ("the window needs a display, and DISPLAY is not set (no desktop session here?); "
                "'moodline analyze' and 'moodline listen' work in a terminal")
    plugin = plugin or xcb_plugin()
    error = plugin_load_error(plugin) if plugin is not None else None
    if error is None:
        return None
    missing = re.match(r"([^:\s]+\.so[.\d]*): cannot open shared object file", error)
    if missing is None:
        return f"the window cannot open: Qt's X11 plugin does not load ({error})"
    library = missing.group(1)
    package = DEBIAN_PACKAGES.get(library)
    how = f"sudo apt install {package}" if package else f"install the package that has {library}"
    return (f"the window cannot open: Qt's X11 plugin needs {library}, which is not installed "
            f"(Debian/Ubuntu: scripts/system-packages, or {how})")
