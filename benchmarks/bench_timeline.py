"""How quickly the timeline answers a click on an hour-long recording, and what a redraw costs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_timeline.py [--minutes 60] [--clicks 10]

The window is the real one with a synthetic recording (no analysis; points and audio made
up). A click is a real mouse press and release on the plot; "until the cursor is drawn" is
the click's own handling plus the repaint that shows the cursor at its new place. Playback
goes to the default output device (a null sink is fine; without one playback fails and the
click is measured without it, which the report says).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench_window import ms, open_window
from figures import recorded  # the figures also go to docs/benchmark-figures.md


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the recording")
    parser.add_argument("--clicks", type=int, default=10, help="clicks to time")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtCore import QPoint, QPointF, Qt
    from PyQt5.QtTest import QTest
    from PyQt5.QtWidgets import QApplication

    from long_recording import synthetic_recording
    from moodline.desktop.main_window import prepare

    app = QApplication([])
    window, tmp = open_window(app)
    started = time.perf_counter()
    prepared = prepare(synthetic_recording(args.minutes))
    print(f"prepared {args.minutes:g} min ({len(prepared[1])} points) in {ms(time.perf_counter() - started)}")
    started = time.perf_counter()
    window.show_recording(prepared)
    app.processEvents()
    print(f"shown in {ms(time.perf_counter() - started)}")
    view = window.timeline_view
    for _ in range(10):
        app.processEvents()
        time.sleep(0.01)

    handling, painting = [], []
    rng = np.random.default_rng(1)
    for t_s in rng.uniform(60, args.minutes * 60 - 60, args.clicks):
        scene = view.plot.getViewBox().mapViewToScene(QPointF(t_s, 0.5))
        pos = view.graphics.mapFromScene(scene)
        t0 = time.perf_counter()
        QTest.mouseClick(view.graphics.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(int(pos.x()), int(pos.y())))
        t1 = time.perf_counter()
        window.on_frame()  # the next frame timer tick
        view.graphics.viewport().repaint()  # the paint that shows the cursor
        t2 = time.perf_counter()
        assert view.cursor_s is not None and abs(view.cursor_s - t_s) < args.minutes, view.cursor_s
        handling.append(t1 - t0)
        painting.append(t2 - t1)
        for _ in range(5):
            app.processEvents()
            time.sleep(0.02)
    total = np.array(handling) + np.array(painting)
    print(f"playing after the clicks: {window.player.playing}")
    print(f"first click (opens the output stream): {ms(total[0])}")
    print(f"later clicks, handling: median {ms(np.median(handling[1:]))}, max {ms(max(handling[1:]))}")
    print(f"later clicks, frame + repaint: median {ms(np.median(painting[1:]))}, max {ms(max(painting[1:]))}")
    print(f"later clicks, until the cursor is drawn: median {ms(np.median(total[1:]))}, max {ms(total[1:].max())}")

    # A frame while playing (cursor moves, readout changes) and a full redraw of the data.
    frames = []
    for _ in range(30):
        t0 = time.perf_counter()
        window.on_frame()
        view.graphics.viewport().repaint()
        frames.append(time.perf_counter() - t0)
        app.processEvents()
        time.sleep(0.033)
    print(f"a frame during playback (incl. repaint): median {ms(np.median(frames))}, max {ms(max(frames))}")
    if hasattr(view, "set_detail"):  # with the probability lines shown, zoomed out
        view.set_detail(True)
        view.fit()
        redraws = []
        for _ in range(10):
            t0 = time.perf_counter()
            view._dirty = True
            view.redraw()
            view.graphics.viewport().repaint()
            redraws.append(time.perf_counter() - t0)
        print(f"full redraw of the whole hour with probability lines: median {ms(np.median(redraws))}, "
              f"max {ms(max(redraws))}")
    window.player.stop()
    window.close()
    return 0


if __name__ == "__main__":
    with recorded():
        code = main()
    sys.exit(code)
