"""Who sees lending news on the live stream: staff all of it, a borrower only their own."""

from __future__ import annotations

from dashboard.stream import shown_to
from server.services.news import Delivered


def _change(kind: str, **data) -> Delivered:
    return Delivered(1, kind, data, "2026-12-01T00:00:00+00:00")


def test_a_borrower_sees_only_their_own_requests_reminders_and_holds():
    for kind in ("request", "reminder", "hold"):
        mine, theirs = _change(kind, borrower="li.wei"), _change(kind, borrower="wang.fang")
        assert shown_to(mine, "li.wei") and not shown_to(theirs, "li.wei")
        assert shown_to(theirs, None)  # staff see everything


def test_other_news_goes_to_everyone():
    assert shown_to(_change("box", code="B00000001"), "li.wei")
