"""The waveform strip of a live session: an hour of it shows every peak at the screen's
resolution, and adding audio costs as little after an hour as after a minute."""
from __future__ import annotations

import numpy as np
import pytest

from moodline.desktop.palette import Palette
from moodline.desktop.series import GrowingEnvelope
from moodline.desktop.widgets.timeline_view import TimelineView

from long_recording import LABELS

# An hour at 16 kHz is 230 MB of float32: the envelope works in buckets (50 a second at any
# rate), so a low rate gives the same buckets, levels and blocks at a fraction of the memory.
RATE = 800
FRAME = RATE * 33 // 1000  # what the window's frame timer hands over: 33 ms of audio
HOUR = 3600 * RATE


def hour_of_audio(seed: int = 0) -> np.ndarray:
    """Quiet noise with a one-sample click somewhere in every minute, each of its own height."""
    rng = np.random.default_rng(seed)
    audio = rng.uniform(-0.05, 0.05, HOUR).astype(np.float32)
    clicks = np.arange(60) * 60 * RATE + rng.integers(0, 60 * RATE, 60)
    audio[clicks] = np.linspace(0.3, 0.95, 60) * np.where(np.arange(60) % 2, 1, -1)
    return audio


def buckets_held(envelope: GrowingEnvelope) -> int:
    return sum(len(mins) for mins, _ in envelope.levels)


@pytest.fixture(scope="module")
def fed_hour():
    """An hour fed frame by frame, as the window does, with the buckets written per frame."""
    audio = hour_of_audio()
    envelope = GrowingEnvelope(RATE)
    written = []
    for start in range(0, len(audio), FRAME):
        before = buckets_held(envelope)
        envelope.append(audio[start:start + FRAME])
        written.append(buckets_held(envelope) - before)
    return audio, envelope, np.array(written)


def brute_force(audio: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spans = zip(np.round(starts_s * RATE).astype(int), np.round(ends_s * RATE).astype(int))
    mins, maxs = zip(*[(audio[a:b].min(), audio[a:b].max()) for a, b in spans])
    return np.array(mins), np.array(maxs)


@pytest.mark.parametrize("x0, x1, pixels", [
    (0.0, 3600.0, 1280),        # the whole hour
    (3480.0, 3615.0, 1280),     # following the live edge: the last two minutes and the lead
    (1234.5, 1801.7, 997),      # a zoomed part, in no way aligned to buckets
    (-5.0, 3600.0, 1),          # everything in one column
    (3599.5, 3600.0, 1000),     # zoomed in past the buckets: one column per bucket
])
def test_an_hour_at_screen_resolution_equals_min_and_max_over_each_pixels_audio(fed_hour, x0, x1, pixels):
    audio, envelope, _ = fed_hour
    starts, ends, mins, maxs = envelope.columns(x0, x1, pixels)
    assert 0 < len(starts) <= pixels
    # The columns follow one another and cover the view: no audio in sight is left out.
    np.testing.assert_allclose(ends[:-1], starts[1:])
    assert starts[0] <= max(x0, 0.0) and ends[-1] >= min(x1, len(audio) / RATE)
    # At screen resolution: no column is wider than two pixels' time (or, zoomed in past
    # the finest buckets, than one bucket).
    assert np.all(ends - starts <= max(2 * (x1 - x0) / pixels, envelope.bucket_s) + 1e-9)
    want_mins, want_maxs = brute_force(audio, starts, ends)
    np.testing.assert_array_equal(mins, want_mins)
    np.testing.assert_array_equal(maxs, want_maxs)


def test_every_click_of_the_hour_shows_at_full_height_zoomed_out(fed_hour):
    audio, envelope, _ = fed_hour
    starts, ends, mins, maxs = envelope.columns(0.0, 3600.0, 1280)
    clicks = np.flatnonzero(np.abs(audio) > 0.2)
    assert len(clicks) == 60
    for sample in clicks:
        column = np.searchsorted(ends, sample / RATE, side="right")
        assert starts[column] <= sample / RATE < ends[column]
        assert audio[sample] in (mins[column], maxs[column])


def test_the_newest_audio_is_drawn_before_it_fills_a_coarse_bucket():
    envelope = GrowingEnvelope(RATE)
    audio = np.random.default_rng(1).uniform(-0.1, 0.1, 1234 * envelope.bucket + 7).astype(np.float32)
    audio[-20] = 0.9  # in the last whole bucket, not yet merged into any coarser level
    envelope.append(audio)
    starts, ends, mins, maxs = envelope.columns(0.0, 60.0, 100)
    assert ends[-1] == pytest.approx(1234 * envelope.bucket_s)
    assert maxs[-1] == pytest.approx(0.9)
    np.testing.assert_array_equal(maxs, brute_force(audio, starts, ends)[1])


def test_adding_a_frame_of_audio_costs_the_same_after_an_hour_as_after_a_minute(fed_hour):
    _, envelope, written = fed_hour
    frames_per_minute = len(written) // 60
    first_minute, last_minute = written[:frames_per_minute].sum(), written[-frames_per_minute:].sum()
    # About two buckets per new bucket (each level half the one below), whatever came before.
    new_buckets = frames_per_minute * FRAME / envelope.bucket
    assert first_minute <= 2 * new_buckets + len(envelope.levels)
    assert last_minute <= first_minute + len(envelope.levels)
    # A single frame writes its own buckets plus at most one per level (a carry up the levels).
    assert written.max() <= np.ceil(FRAME / envelope.bucket) + len(envelope.levels)
    assert len(envelope.levels) <= np.log2(HOUR / envelope.bucket) + 1


def test_drawing_the_live_edge_takes_as_many_columns_after_an_hour_as_after_two_minutes(fed_hour):
    audio, _, _ = fed_hour
    envelope = GrowingEnvelope(RATE)
    envelope.append(audio[:120 * RATE])
    early = envelope.columns(0.0, 120.0, 1280)  # the follow view is two minutes wide
    envelope.append(audio[120 * RATE:])
    late = envelope.columns(3480.0, 3600.0, 1280)
    assert len(early[0]) == len(late[0]) <= 1280


def test_the_live_view_draws_a_click_from_ten_minutes_ago_when_zoomed_out(qtbot):
    """Through the view itself: audio in frames as the window hands it over, then the
    whole session in sight; the drawn waveform holds the click at its height."""
    view = TimelineView(Palette())
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    qtbot.waitExposed(view)
    rate = 16000
    view.start_live(LABELS, rate)
    audio = np.random.default_rng(2).uniform(-0.02, 0.02, 10 * 60 * rate).astype(np.float32)
    audio[int(37.3 * rate)] = -0.8
    frame = rate * 33 // 1000
    for start in range(0, len(audio), frame):
        view.add_audio(audio[start:start + frame])
    assert view.end_s == pytest.approx(600.0)
    view.set_follow(False)
    view.plot.setXRange(0, 600, padding=0)
    view.redraw()
    x, y = view.wave_curve.getData()
    assert len(x) // 2 <= view.wave.getViewBox().width() + 1
    assert y.min() == pytest.approx(-0.8)
    assert abs(x[np.argmin(y)] - 37.3) <= 600 / view.wave.getViewBox().width()
    assert y.max() <= 0.02
