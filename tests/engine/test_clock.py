"""Times as people read them: the one formatter the window's axis, readout and the CLI share."""
from __future__ import annotations

import pytest

from moodline.engine.timeline import format_clock


@pytest.mark.parametrize("seconds, shown", [
    (0, "0:00"),
    (0.4, "0:00"),
    (9.5, "0:10"),  # halves round up
    (59.4, "0:59"),
    (59.6, "1:00"),  # to the nearest second: never shown more than half a second off
    (61, "1:01"),
    (3090, "51:30"),
    (3599.4, "59:59"),
    (3599.5, "1:00:00"),
    (3725, "1:02:05"),
    (36000, "10:00:00"),
    (-5, "-0:05"),
    (-0.2, "0:00"),  # no "-0:00"
])
def test_clock_format(seconds, shown):
    assert format_clock(seconds) == shown


@pytest.mark.parametrize("seconds, shown", [
    (3.24, "0:03.2"), (3.25, "0:03.3"), (59.96, "1:00.0"), (3725.04, "1:02:05.0"), (-0.04, "0:00.0"),
])
def test_tenths_where_stretches_are_shorter_than_a_second(seconds, shown):
    assert format_clock(seconds, tenths=True) == shown


def test_a_listing_with_sub_second_stretches_shows_tenths(capsys):
    """'0:03 – 0:03' hid a half-second stretch: a listing that has one shows tenths throughout."""
    from moodline.engine.cli import _print_summary
    from moodline.engine.timeline import Timeline, TimelinePoint

    labels = ("neutral", "happy")
    def point(start, label):
        return TimelinePoint(start, start + 2.0, {"neutral": 0.9 if label == "neutral" else 0.1,
                                                   "happy": 0.9 if label == "happy" else 0.1}, label, 0.9, True)
    timeline = Timeline(labels, [point(0.0, "neutral"), point(0.5, "neutral"), point(1.0, "happy"),
                                 point(1.5, "neutral"), point(2.0, "neutral")], 4.0)
    _print_summary("talk.wav", timeline)
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if " – " in line]
    # The half-second of happy: at whole seconds it would read "0:02 – 0:02".
    assert rows == [["0:00.0", "–", "0:01.8", "neutral", "0.90"], ["0:01.8", "–", "0:02.3", "happy", "0.90"],
                    ["0:02.3", "–", "0:04.0", "neutral", "0.90"]]
