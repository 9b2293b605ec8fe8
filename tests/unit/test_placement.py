"""Evidence from shelf antennas: cross-reads never move a box, real moves do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.services.placement import Evidence

A, B = 101, 102  # two neighbouring shelves


def round_(p: Evidence, at: float, *reads: tuple[int, int, float]) -> None:
    """One inventory round of a reader covering A and B; reads are (location, count, rssi)."""
    for location, count, rssi in reads:
        p.hear(1, location, count, rssi, at)
    p.round_done((A, B), at)


def test_a_new_box_goes_where_it_is_heard_repeatedly():
    p = Evidence()
    round_(p, 0, (B, 4, -45.0), (A, 1, -71.0))
    assert p.verdict(1, None, now=0) == B


def test_a_single_weak_read_places_nothing():
    p = Evidence()
    round_(p, 0, (A, 1, -70.0))
    assert p.verdict(1, None, now=0) is None


def test_cross_reads_from_the_next_shelf_never_move_a_box():
    p = Evidence()
    for t in range(0, 300, 10):
        round_(p, t, (A, 4, -45.0), (B, 1, -70.0))
        assert p.verdict(1, A, now=t) is None


def test_a_missed_round_is_not_a_move():
    p = Evidence()
    round_(p, 0, (A, 4, -45.0))
    round_(p, 10, (B, 2, -69.0))  # A missed it once; B cross-read it twice
    assert p.verdict(1, A, now=10) is None


def test_a_moved_box_follows_after_two_quiet_rounds_of_its_old_shelf():
    p = Evidence()
    round_(p, 0, (A, 5, -45.0))
    round_(p, 10, (B, 4, -46.0))
    assert p.verdict(1, A, now=10) is None
    round_(p, 20, (B, 4, -45.0))
    assert p.verdict(1, A, now=20) == B


def test_heard_by_both_the_much_stronger_wins_even_before_the_other_goes_quiet():
    p = Evidence()
    round_(p, 0, (A, 1, -66.0), (B, 6, -42.0))
    round_(p, 10, (A, 1, -67.0), (B, 6, -41.0))
    assert p.verdict(1, A, now=10) == B


def test_old_evidence_is_forgotten():
    p = Evidence(window_s=60)
    round_(p, 0, (B, 4, -45.0))
    assert p.verdict(1, None, now=100) is None
    assert len(p) == 0


@given(st.lists(st.tuples(st.integers(1, 6), st.floats(-60, -40)), min_size=1, max_size=40))
def test_whatever_its_own_shelf_hears_a_one_off_weak_read_never_moves_it(own):
    p = Evidence()
    for n, (count, rssi) in enumerate(own):
        t = 10.0 * n
        round_(p, t, (A, count, rssi), *([(B, 1, -72.0)] if n % 3 == 0 else []))
        assert p.verdict(1, A, now=t) is None
