"""Colours and icons for emotions, states and categories, read from ``assets/`` (no Qt here).

``assets/palette.json`` holds named palettes; ``assets/icons/<name>.svg`` one line-drawn icon
per emotion, category and state, drawn in black so a view can recolour it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DEFAULT_PALETTE = "default"
COLOUR_BLIND_SAFE = "colour-blind safe"
_FALLBACK_ICON = "unsure"


def assets_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("moodline.assets")))


@lru_cache(maxsize=None)
def _palettes() -> dict[str, dict]:
    return json.loads((assets_dir() / "palette.json").read_text(encoding="utf-8"))["palettes"]


def palette_names() -> list[str]:
    return list(_palettes())


class Palette:
    """Colour (``#rrggbb``) for any label; labels the palette does not know get stable extras."""

    def __init__(self, name: str = DEFAULT_PALETTE) -> None:
        palettes = _palettes()
        self.name = name if name in palettes else DEFAULT_PALETTE
        self._colours = dict(palettes[self.name])
        self._extra = list(self._colours.pop("extra", ["#ffffff"]))
        self._assigned: dict[str, str] = {}

    def colour(self, label: str) -> str:
        if label in self._colours:
            return self._colours[label]
        if label not in self._assigned:
            self._assigned[label] = self._extra[len(self._assigned) % len(self._extra)]
        return self._assigned[label]


def icon_path(name: str) -> Path:
    """The SVG icon for an emotion, category or state; a question mark for unknown names."""
    path = assets_dir() / "icons" / f"{name}.svg"
    return path if path.is_file() else assets_dir() / "icons" / f"{_FALLBACK_ICON}.svg"


@lru_cache(maxsize=64)
def icon_svg(name: str, colour: str) -> bytes:
    """The icon's SVG text drawn in ``colour``."""
    return icon_path(name).read_text(encoding="utf-8").replace("#000000", colour).encode()
