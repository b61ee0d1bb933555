"""What the summary, the segments list and the figure export cost the GUI thread on an hour.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_summary.py [--minutes 60]

The window is the real one with a synthetic recording (points made up, no analysis; the
segments are as fragmented as per-window labels of mixed speech make them). Measured:
the engine's segments and summary of the whole recording; showing the recording (timeline,
summary panel, segments list, drawn); a live session growing window by window to the full
length, the summary and list catching up once per second of session as the frame timer does
(catch-up plus the repaint of both panels); playback frames that move the highlighted
segment; and the figure exports. Each GUI-thread step must stay within the 50 ms budget of
benchmarks/bench_gui.py in CPU time of the GUI thread (wall time is printed too; on a busy
machine it also holds other processes' turns), except the exports, which a user asks for
(reported, not judged).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench_window import ms, open_window
from figures import recorded  # the figures also go to docs/benchmark-figures.md
BUDGET_MS = 50


def timed(step) -> tuple[float, float]:
    """(wall, CPU of this thread) seconds of ``step()``: on a shared machine the wall time also
    holds other processes' turns on the cores; the CPU time is what the GUI thread itself spent."""
    t0, c0 = time.perf_counter(), time.thread_time()
    step()
    return time.perf_counter() - t0, time.thread_time() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the recording and session")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtWidgets import QApplication

    from long_recording import LABELS, synthetic_points, synthetic_recording
    from moodline.desktop.app import apply_theme, tune_gc
    from moodline.desktop.main_window import prepare
    from moodline.engine.timeline import Timeline

    app = QApplication([])
    apply_theme(app)
    window, tmp = open_window(app)
    tune_gc()
    worst: dict[str, float] = {}

    recording = synthetic_recording(args.minutes)
    timeline = recording.timeline
    t0 = time.perf_counter()
    found = timeline.segments()
    t1 = time.perf_counter()
    timeline.summary()
    t2 = time.perf_counter()
    speech = sum(s.is_speech for s in found)
    print(f"{args.minutes:g} min: {len(timeline.points)} windows, {len(found)} segments ({speech} of speech)")
    print(f"engine: segments {ms(t1 - t0)}, summary {ms(t2 - t1)}")

    prepared = prepare(recording)
    wall, cpu = timed(lambda: (window.show_recording(prepared), window.repaint()))
    worst["showing the recording"] = cpu
    print(f"showing the recording (timeline, summary, {speech}-row list, drawn): {ms(wall)} (CPU {ms(cpu)})")

    frames = []
    starts = [s.start_s for s in found if s.is_speech]
    for t_s in np.linspace(starts[1], starts[-1], 40):
        # As a frame during playback does, far jumps included.
        frames.append(timed(lambda: (window.playback.follow(float(t_s)),
                                     window.segments_list.table.viewport().repaint())))
    frames = np.array(frames)
    worst["a playback frame"] = frames[:, 1].max()
    print(f"a playback frame moving the highlighted row: median {ms(np.median(frames[:, 0]))}, "
          f"max {ms(frames[:, 0].max())} (CPU max {ms(frames[:, 1].max())})")

    view = window.timeline_view
    view.start_live(LABELS)
    window.summary_panel.clear("This session so far")
    window.segments_list.set_segments([])
    points = synthetic_points(args.minutes, seed=1)
    per_point = 2  # points per second of session at the usual 0.5 s hop
    catch_ups: list[tuple[float, float, float]] = []  # (session minutes, wall s, CPU s of this thread)
    for k in range(0, len(points), per_point):
        view.add_points(points[k:k + per_point])
        so_far = Timeline(LABELS, points[:k + per_point], points[min(k + per_point, len(points)) - 1].end_s)
        wall, cpu = timed(lambda: (window.show_live_summary(so_far), window.summary_panel.repaint(),
                                   window.segments_list.repaint()))
        catch_ups.append((points[k].end_s / 60, wall, cpu))
        if k % 240 == 0:
            app.processEvents()
    taken = np.array([c[1] for c in catch_ups])
    cpu = np.array([c[2] for c in catch_ups])
    last_minute = taken[-60:]
    worst["a live catch-up"] = float(cpu.max())
    if os.environ.get("BENCH_DEBUG"):
        for i in np.argsort(taken)[-5:]:
            print(f"  catch-up {ms(taken[i])} (CPU {ms(cpu[i])}) at {catch_ups[i][0]:.1f} min")
    print(f"live catch-up once a second (summary, segments, list, repaint): after 1 min median "
          f"{ms(np.median(taken[:60]))}; after {args.minutes:g} min median {ms(np.median(last_minute))}, "
          f"max over the session {ms(taken.max())} (this thread's CPU time: max {ms(cpu.max())}; "
          f"wall time beyond it is other processes taking the cores)")

    window.show_recording(prepare(recording))  # afresh: the live view reused the series
    app.processEvents()
    for suffix in (".png", ".svg"):
        t0 = time.perf_counter()
        window.export(tmp / f"figure{suffix}")
        took = time.perf_counter() - t0
        print(f"figure export {suffix[1:].upper()} of the whole recording: {ms(took)} "
              f"({(tmp / f'figure{suffix}').stat().st_size / 1e3:.0f} kB)")
    t0 = time.perf_counter()
    window.export(tmp / "talk.segments.csv")
    print(f"segments CSV export: {ms(time.perf_counter() - t0)}")
    window.close()
    over = {what: s for what, s in worst.items() if s * 1000 > BUDGET_MS}
    for what, s in over.items():
        print(f"OVER BUDGET: {what} took {ms(s)} of CPU time on the GUI thread (budget {BUDGET_MS} ms)")
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores" if hasattr(os, "getloadavg") else "")
    return 1 if over else 0


if __name__ == "__main__":
    with recorded():
        code = main()
    sys.exit(code)
