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
