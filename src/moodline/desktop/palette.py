"""Colours and icons for emotions, states and categories, read from ``assets/`` (no Qt here).

One palette serves every view: the window makes one :class:`Palette` and hands the same
object to the emotion panel, the timeline and the conversation aid, so an emotion has one
colour everywhere (labels a model adds beyond the known ones get their extra colour once, for
all views). ``assets/palette.json`` holds its two variants: the colour-blind-safe standard set
for the dark theme, and a high-contrast set (lighter, for a black background).
``assets/icons/<name>.svg`` holds one line-drawn icon per emotion, category and state, drawn
in black so a view can recolour it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

STANDARD = "standard"
HIGH_CONTRAST = "high contrast"
_FALLBACK_ICON = "unsure"


def assets_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("moodline.assets")))


@lru_cache(maxsize=None)
def _palettes() -> dict[str, dict]:
    return json.loads((assets_dir() / "palette.json").read_text(encoding="utf-8"))["palettes"]


class Palette:
    """Colour (``#rrggbb``) for any label; labels the palette does not know get stable extras."""

    def __init__(self, *, high_contrast: bool = False) -> None:
        self.high_contrast = high_contrast
        self.name = HIGH_CONTRAST if high_contrast else STANDARD
        self._colours = dict(_palettes()[self.name])
        self._extra = list(self._colours.pop("extra"))
        self._assigned: dict[str, str] = {}

    def colour(self, label: str) -> str:
        if label in self._colours:
            return self._colours[label]
        if label not in self._assigned:
            self._assigned[label] = self._extra[len(self._assigned) % len(self._extra)]
        return self._assigned[label]

    def known_labels(self) -> list[str]:
        """The emotions, categories and states this palette names a colour for."""
        return list(self._colours)

    def extra_colours(self) -> list[str]:
        """The colours given, in turn, to labels the palette does not know."""
        return list(self._extra)


def icon_path(name: str) -> Path:
    """The SVG icon for an emotion, category or state; a question mark for unknown names."""
    path = assets_dir() / "icons" / f"{name}.svg"
    return path if path.is_file() else assets_dir() / "icons" / f"{_FALLBACK_ICON}.svg"


@lru_cache(maxsize=64)
def icon_svg(name: str, colour: str) -> bytes:
    """The icon's SVG text drawn in ``colour``."""
    return icon_path(name).read_text(encoding="utf-8").replace("#000000", colour).encode()
