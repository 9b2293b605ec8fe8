"""The live stream over real HTTP: signed-in only, one SSE message per change, let go on disconnect."""

from __future__ import annotations

import json
import time

import httpx

from server.services.live import feed
from tests.e2e.conftest import PASSWORD


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    answer = client.post("/signin", data={"username": "sam", "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def test_events_need_a_signed_in_person(live_server):
    answer = httpx.get(f"{live_server.url}/events", timeout=10)
    assert answer.status_code == 401


def test_each_change_arrives_as_one_event_and_a_closed_stream_stops_watching(live_server):
    before = feed.watchers
    client = _signed_in(live_server.url)
    with client.stream("GET", "/events") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        lines = answer.iter_lines()
        assert next(lines).startswith("retry:")
        feed.publish("alarm", {"id": 7, "kind": "climate", "state": "active", "subject": "库房 1"})
        seen: dict[str, str] = {}
        for line in lines:
            if not line:
                if "data" in seen:
                    break
                continue
            field, _, value = line.partition(": ")
            seen[field] = value
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


def test_the_overview_shows_each_sensors_stored_reading_before_any_live_one(live_server, db):
    from datetime import timedelta

    from sqlmodel import Session

    from server.clock import now
    from server.services import climate

    with Session(db) as session:
        climate.store(session, [("th-9", None, now() - timedelta(minutes=5), 19.0, 48.0),
                                ("th-9", None, now(), 21.4, 63.0)])
        session.commit()
    page = _signed_in(live_server.url).get("/").text
    assert 'data-key="th-9"' in page and "21.4 °C · 63 %RH" in page
    assert "19.0 °C" not in page
