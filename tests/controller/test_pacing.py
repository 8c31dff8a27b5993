"""BoundaryPacer: a controller tick waits for a window boundary that comes before the next tick."""

from __future__ import annotations

from modelmon.controller.pacing import BoundaryPacer


def test_no_wait_before_the_interval_is_known():
    pacer = BoundaryPacer(60_000)
    pacer.tick(59_500)
    assert pacer.wait_s(59_600) is None


def test_a_boundary_before_the_next_tick_is_waited_for_just_past_it():
    pacer = BoundaryPacer(60_000)
    for at in (57_200, 58_200, 59_200):
        pacer.tick(at)
    assert pacer.wait_s(59_300) == 0.705
    assert pacer.wait_s(58_900) is None  # 1.1 s away: the next tick comes first


def test_the_shortest_gap_counts_and_the_wait_is_bounded():
    pacer = BoundaryPacer(60_000, max_wait_s=2.0)
    for at in (0, 10_000, 12_500, 40_000):  # a tick that waited makes a longer gap: the shortest is the interval
        pacer.tick(at)
    assert pacer.wait_s(57_600) is None  # 2.4 s away: more than the bound
    assert pacer.wait_s(58_100) == 1.905


def test_windows_close_a_grace_after_their_boundary():
    pacer = BoundaryPacer(600_000, grace_ms=90_000)  # ten-minute windows closing a minute and a half late
    for at in (687_200, 688_200, 689_200):
        pacer.tick(at)
    assert pacer.wait_s(689_300) == 0.705  # 10:00 + 1:30
    assert pacer.wait_s(599_300) is None  # the boundary itself closes nothing
