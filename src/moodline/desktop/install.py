"""``moodline install-desktop``: Moodline in the desktop's menu, for people who never open a terminal.

On Linux (and the BSDs) it writes a desktop entry, ``moodline.desktop``, and the icon into the
user's own data folder (``$XDG_DATA_HOME``, by default ``~/.local/share``): the menu then offers
Moodline, and a file manager offers it for audio files. The entry starts this very installation
(the absolute path of its ``moodline``), so it keeps working without a terminal's PATH.
``--remove`` takes both away again. No Qt is needed, and nothing outside those two files is
touched. Windows and macOS get Moodline from the bundle (``scripts/build-bundle``) instead.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from importlib.resources import files
from pathlib import Path
from typing import Sequence

from moodline.engine.errors import MoodlineError
from moodline.engine.fileio import PUBLIC_FILE_MODE, atomic_write

APP_ID = "moodline"
ICON_COLOUR = "#4fb3bf"  # the window's own icon colour
AUDIO_TYPES = ("audio/x-wav", "audio/wav", "audio/flac", "audio/x-flac", "audio/ogg", "audio/mpeg", "audio/mp4")


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def entry_path() -> Path:
    return data_home() / "applications" / f"{APP_ID}.desktop"


def icon_path() -> Path:
    return data_home() / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"


def moodline_executable() -> Path:
    """This installation's ``moodline`` program (beside this Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("moodline")
    found = beside if beside.is_file() else (Path(p) if (p := shutil.which("moodline")) else None)
    if found is None:
        raise MoodlineError("cannot find this installation's 'moodline' program to start from the menu")
    return found.absolute()


def _quoted(path: Path) -> str:
    """``path`` as one argument of an Exec line (the desktop entry spec's quoting)."""
    text = str(path)
    if not any(c in text for c in ' \t\n"\'\\><~|&;$*?#()`%'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return '"' + escaped.replace("%", "%%") + '"'


def desktop_entry(executable: Path) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=Moodline",
        "GenericName=Speech emotion",
        "Comment=See which emotion a voice carries, live or in recordings",
        f"Exec={_quoted(executable)} --open %f",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Utility;Accessibility;",  # one main category: listed once in every menu
        "Keywords=emotion;voice;speech;conversation;aid;",
        f"MimeType={';'.join(AUDIO_TYPES)};",
        "StartupWMClass=moodline",
        "",
    ])


def install() -> list[Path]:
    """Write the entry and the icon; the files written."""
    icon = (files("moodline.assets") / "icons" / "moodline.svg").read_text(encoding="utf-8")
    written = []
    for path, text in ((icon_path(), icon.replace("#000000", ICON_COLOUR)),
                       (entry_path(), desktop_entry(moodline_executable()))):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MoodlineError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from None
        written.append(atomic_write(path, text, mode=PUBLIC_FILE_MODE))
    return written


def remove() -> list[Path]:
    removed = []
    for path in (entry_path(), icon_path()):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="moodline install-desktop", description=__doc__.splitlines()[0])
    parser.add_argument("--remove", action="store_true", help="take Moodline out of the menu again")
    args = parser.parse_args(argv)
    if sys.platform in ("win32", "darwin"):
        print("moodline: install-desktop is for Linux desktops; on Windows and macOS use the bundle "
              "(scripts/build-bundle)", file=sys.stderr)
        return 2
    try:
        done = remove() if args.remove else install()
    except MoodlineError as exc:
        print(f"moodline: {exc}", file=sys.stderr)
        return 2
    verb = "Removed" if args.remove else "Wrote"
    for path in done:
        print(f"{verb} {path}", file=sys.stderr)
    if not args.remove:
        print("Moodline is in your desktop's menu (some desktops show it after logging in again).", file=sys.stderr)
    return 0
