"""Where the file dialogs start, and File ▸ Recent, remembered in the settings store.

A dialog starts in the folder last used for its kind of file, else where that kind usually
lives (sessions in the sessions folder, exports beside the recording shown), else the home
folder: never the process's current directory, which for a desktop app is wherever it was
launched from. Recent lists the last :data:`RECENT_MAX` recordings and sessions opened, recorded
or saved, newest first.
"""
from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path

RECENT_MAX = 10
RECENT_KEY = "recent/paths"


class DialogKind(Enum):
    """A kind of file dialog; each remembers its own last folder."""

    RECORDING = "recording"  # File ▸ Open Recording
    SESSION = "session"  # File ▸ Open Session
    SAVE_SESSION = "save_session"  # File ▸ Save Session As
    EXPORT = "export"  # File ▸ Export
    MODEL = "model"  # choosing a model file


class Places:
    def __init__(self, store, sessions_root: Path) -> None:
        self.store = store
        self.sessions_root = Path(sessions_root)

    # ---- dialog folders ------------------------------------------------------------------
    def start_folder(self, kind: DialogKind, recording_folder: Path | None = None) -> Path:
        """The folder a ``kind`` dialog opens in (it exists)."""
        remembered = self.store.value(f"dialogs/{kind.value}")
        candidates = [Path(remembered)] if remembered else []
        if kind in (DialogKind.SESSION, DialogKind.SAVE_SESSION):
            candidates.append(self.sessions_root)
        if recording_folder is not None:
            candidates.append(Path(recording_folder))
        candidates.append(Path.home())
        return next((c for c in candidates if c.is_dir()), Path.home())

    def remember_folder(self, kind: DialogKind, chosen: str | os.PathLike) -> None:
        """Remember the folder of ``chosen`` (a file, or for a folder its parent) for ``kind``."""
        self.store.setValue(f"dialogs/{kind.value}", str(Path(chosen).parent))

    # ---- recent recordings and sessions -------------------------------------------------------
    def recent(self) -> list[Path]:
        """Recordings and session folders, newest first (some may since have gone)."""
        raw = self.store.value(RECENT_KEY)
        try:
            paths = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            return []  # a hand-edited or damaged entry: start the list afresh
        return [Path(p) for p in paths if isinstance(p, str)][:RECENT_MAX]

    def add_recent(self, path: str | os.PathLike) -> None:
        path = Path(path).absolute()
        self._save([path] + [p for p in self.recent() if p != path])

    def remove_recent(self, path: str | os.PathLike) -> None:
        self._save([p for p in self.recent() if p != Path(path)])

    def clear_recent(self) -> None:
        self._save([])

    def _save(self, paths: list[Path]) -> None:
        # JSON in one value: an INI file reads a one-item list back as a plain string.
        self.store.setValue(RECENT_KEY, json.dumps([str(p) for p in paths[:RECENT_MAX]]))
