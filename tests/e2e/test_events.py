"""The live stream over real HTTP: signed-in only, one SSE message per change, let go on disconnect."""

from __future__ import annotations

import json
import time

import httpx
from sqlmodel import Session

from server.services import news
from tests.e2e.conftest import PASSWORD


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    answer = client.post("/signin", data={"username": "sam", "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def test_events_need_a_signed_in_person(live_server):
    answer = httpx.get(f"{live_server.url}/events", timeout=10)
    assert answer.status_code == 401


def _tell(live_server, *items: news.News) -> None:
    with Session(live_server.engine) as session:
        news.tell(session, *items)
        session.commit()


def _alarm(n: int, subject: str) -> news.AlarmChanged:
    from server.clock import now

    return news.AlarmChanged(id=n, kind_of="temperature_high", severity="warning",
                             subject=subject, message="warm", state="active", ts=now())


def _events(lines, count: int) -> list[dict[str, str]]:
    """The next `count` SSE messages as {field: value}."""
    out: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in seen:
                out.append(seen)
                seen = {}
                if len(out) == count:
                    return out
            continue
        field, _, value = line.partition(": ")
        seen[field] = value
    return out


def test_each_change_arrives_as_one_event_and_a_closed_stream_stops_watching(live_server):
    feed = live_server.app.state.feed
    before = feed.watchers
    client = _signed_in(live_server.url)
    with client.stream("GET", "/events") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        lines = answer.iter_lines()
        assert next(lines).startswith("retry:")
        _tell(live_server, _alarm(7, "库房 1"))
        [seen] = _events(lines, 1)
        assert seen["event"] == "alarm"
        message = json.loads(seen["data"])
        assert message["kind"] == "alarm"
        assert message["data"]["subject"] == "库房 1"
        assert feed.watchers == before + 1
    client.close()
    deadline = time.monotonic() + 10
    while feed.watchers != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert feed.watchers == before, "the stream kept watching after the client went away"


def test_a_stream_that_comes_back_with_last_event_id_gets_what_it_missed(live_server):
    client = _signed_in(live_server.url)
    _tell(live_server, _alarm(1, "room A"))
    with client.stream("GET", "/events") as answer:
        lines = answer.iter_lines()
        next(lines)
        _tell(live_server, _alarm(2, "room B"))
        [first] = _events(lines, 1)
    # gone for a while: three changes happen meanwhile, one of them many at once
    _tell(live_server, _alarm(3, "room C"))
    _tell(live_server, *(_alarm(n, f"room {n}") for n in range(4, 600)))
    with client.stream("GET", "/events", headers={"Last-Event-ID": first["id"]}) as answer:
        missed = _events(answer.iter_lines(), 597)
    client.close()
    subjects = [json.loads(m["data"])["data"]["subject"] for m in missed]
    assert subjects == ["room C", *(f"room {n}" for n in range(4, 600))]
    ids = [int(m["id"]) for m in missed]
    assert ids == list(range(int(first["id"]) + 1, int(first["id"]) + 598))


def test_the_overview_shows_each_rooms_stored_reading_before_any_live_one(live_server, db):
    from datetime import timedelta

    from sqlmodel import Session

    from server.clock import now
    from server.models.places import Location
    from server.services import climate, locations

    room_code = live_server.archive.places["Room 1"]
    with Session(db) as session:
        room = locations.by_code(session, room_code)
        assert isinstance(room, Location)
        climate.store(session, [("th-9", room.id, now() - timedelta(minutes=5), 19.0, 48.0),
                                ("th-9", room.id, now(), 21.4, 63.0)])
        session.commit()
    page = _signed_in(live_server.url).get("/").text
    # one line per room, from its sensors' latest stored readings, before any live one
    assert f'data-room="{room_code}"' in page and "21.4 °C · 63 %RH" in page
    assert "19.0 °C" not in page
