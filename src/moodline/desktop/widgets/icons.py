"""Rendering the palette's SVG icons into pixmaps of any size and colour."""
from __future__ import annotations

from functools import lru_cache

from PyQt5.QtCore import QByteArray, Qt
from PyQt5.QtGui import QIcon, QPainter, QPixmap
from PyQt5.QtSvg import QSvgRenderer

from ..palette import icon_svg


@lru_cache(maxsize=128)
def svg_pixmap(name: str, colour: str, size_px: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(icon_svg(name, colour)))
    pixmap = QPixmap(size_px, size_px)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    return pixmap


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 32, 64, 128, 256):
        icon.addPixmap(svg_pixmap("moodline", "#4fb3bf", size))
    return icon
