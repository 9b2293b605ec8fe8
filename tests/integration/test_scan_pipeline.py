"""One scan pipeline: the API, a scanner on the wire and the Shelve page say the same words."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from devices.codecs import mqtt_json
from devices.events import Scan
from server.clock import now
from server.ingest import Ingest
from server.models.devices import DeviceCreate
from server.services import boxes, devices, news
from server.services.scan import ACTION_WORDS, LENDING_ACTIONS, LENDING_REASONS, REASONS
from tests.conftest import PASSWORD, SCHEME
from tests.integration.tree import build_tree

ORIGIN = {"Origin": "http://testserver"}
RECORD = "WS·2024·Y·0007"


@pytest.fixture
def archive(client, auth, db):
    """Three one-box slots (one per path), two boxes per path, a disposed box, a public record."""
    admin = auth("admin")
    codes = build_tree(client, admin, slot_capacity=1)
    shelf = codes["shelf"]
    slots = [codes["Slot 1"], codes["Slot 2"]]
    slots.append(client.post("/api/locations", headers=admin, json={
        "name": "Slot 3", "kind": "slot", "parent": shelf, "capacity": 1}).json()["code"])
    made = [client.post("/api/boxes", headers=admin, json={}).json()["code"] for _ in range(7)]
    client.post("/api/records", headers=admin, json={
        "reference_code": RECORD, "title": "公开通知", "classification": "public", "box": made[6]})
    with Session(db) as session:
        gone = boxes.by_code(session, made[6])
        gone.status = "disposed"
        session.add(gone)
        devices.register(session, DeviceCreate(id="hh-7", type="scanner"), actor="t")
        session.commit()
    return {"slots": slots, "boxes": [made[0:2], made[2:4], made[4:6]], "disposed": made[6]}


def _situations(slot: str, first: str, second: str, disposed: str) -> list[tuple[str, tuple]]:
    """Each scan in order and the (action, reason) it must end in, whoever scans."""
    return [
        (first, ("refused", "no_target")),
        (slot, ("target", None)),
        (first, ("moved", None)),
        (first, ("already_there", None)),
        (second, ("refused", "full")),
        (RECORD, ("refused", "record")),
        ("B09999999", ("refused", "unknown")),
        ("B123", ("refused", "invalid")),
        ("<<not a code>>", ("refused", "invalid")),
        (disposed, ("refused", "disposed")),
    ]


def test_the_same_situation_gets_the_same_outcome_word_on_every_path(client, auth, db, archive):
    slots, pairs, disposed = archive["slots"], archive["boxes"], archive["disposed"]
    staff = auth("staff")

    # 1. the API: the caller carries the target
    api_seen, target = [], None
    for code, _ in _situations(slots[0], *pairs[0], disposed):
        answer = client.post("/api/scan", headers=staff,
                             json={"code": code, "mode": "shelve", "target": target})
        body = answer.json()
        assert answer.status_code == (422 if body["reason"] == "invalid" else 200), body
        if body["action"] == "target":
            target = body["location"]
        api_seen.append((body["action"], body["reason"]))

    # 2. a scanner on the wire: its JSON through the MQTT codec into ingest
    with Session(db) as s:
        start = news.latest(s)
    worker = Ingest(db, scheme=SCHEME, status_ttl_s=0)
    worker.start()
    try:
        for seq, (code, _) in enumerate(_situations(slots[1], *pairs[1], disposed), start=1):
            payload = mqtt_json.encode_scan(Scan("hh-7", now(), seq, code, "wang"))
            worker.submit(mqtt_json.decode("archive/v1/scanners/hh-7/scans", payload))
        assert worker.drain()
    finally:
        worker.stop()
    with Session(db) as s:  # what the publisher sends on scanners/hh-7/results
        results = [c.data for c in news.after(s, start, limit=1000)
                   if c.kind == "scan" and c.data["device"] == "hh-7"]
    wire_seen = [(r["action"], r["reason"]) for r in results]
    assert all(r["ok"] == (r["action"] != "refused") for r in results)

    # 3. the dashboard's Shelve page (its script's JSON route)
    signed = client.post("/signin", data={"username": "staff-default", "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert signed.status_code == 303
    page_seen, target = [], None
    for code, _ in _situations(slots[2], *pairs[2], disposed):
        answer = client.post("/shelve/scan", headers=ORIGIN, json={"code": code, "target": target})
        body = answer.json()
        assert answer.status_code == (422 if body["reason"] == "invalid" else 200), body
        if body["action"] == "target":
            target = body["location"]
        page_seen.append((body["action"], body["reason"]))

    expected = [outcome for _, outcome in _situations(slots[0], *pairs[0], disposed)]
    assert api_seen == expected
    assert wire_seen == expected
    assert page_seen == expected
    # the stocktake and lending words have their own tests (below, and test_lending.py)
    assert {a for a, _ in expected} == set(ACTION_WORDS) - STOCKTAKE_WORDS - set(LENDING_ACTIONS)
    assert {r for _, r in expected if r} == set(REASONS) - {"other"} - set(LENDING_REASONS)
    # and each path really moved its own first box, and only that one
    with Session(db) as session:
        for slot, (first, second) in zip(slots, pairs, strict=True):
            placed = boxes.present(session, [boxes.by_code(session, first),
                                             boxes.by_code(session, second)], scheme=SCHEME,
                                   clearance="top_secret")
            assert [p.location for p in placed] == [slot, None]


STOCKTAKE_WORDS = {"counted", "duplicate"}


def _counting(slot: str, first: str, second: str, outside: str) -> list[tuple[str, tuple]]:
    """Stocktake mode: each scan and the (action, reason) it must end in, whoever scans."""
    return [
        (first, ("counted", None)),  # before any location: somewhere in the scope
        (slot, ("target", None)),
        (first, ("duplicate", None)),
        (second, ("counted", None)),
        (RECORD, ("refused", "record")),
        ("B09999999", ("refused", "unknown")),
        ("<<not a code>>", ("refused", "invalid")),
        (outside, ("refused", "other")),  # a location outside the stocktake's scope
    ]


def test_stocktake_mode_says_the_same_words_on_every_path_and_moves_nothing(
        client, auth, db, archive):
    slots, pairs = archive["slots"], archive["boxes"]
    staff = auth("staff")
    admin = auth("admin")
    outside = client.post("/api/locations", headers=admin, json={
        "name": "Room 2", "kind": "room", "parent": None}).json()["code"]
    shelf = client.get(f"/api/scan/{slots[0]}", headers=staff).json()["location"]["parent"]

    def start(device=None) -> int:
        answer = client.post("/api/stocktakes", headers=staff,
                             json={"scope": shelf, "device": device})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    # 1. the API, naming the stocktake
    api_seen, target, sid = [], None, start()
    for code, _ in _counting(slots[0], *pairs[0], outside):
        answer = client.post("/api/scan", headers=staff, json={
            "code": code, "mode": "stocktake", "stocktake": sid, "target": target})
        body = answer.json()
        if body["action"] == "target":
            target = body["location"]
        api_seen.append((body["action"], body["reason"]))

    # 2. a scanner on the wire that counts a stocktake (it asks for nothing)
    start("hh-7")
    with Session(db) as s:
        begin = news.latest(s)
    worker = Ingest(db, scheme=SCHEME, status_ttl_s=0)
    worker.start()
    try:
        for seq, (code, _) in enumerate(_counting(slots[1], *pairs[1], outside), start=1):
            payload = mqtt_json.encode_scan(Scan("hh-7", now(), seq, code, "wang"))
            worker.submit(mqtt_json.decode("archive/v1/scanners/hh-7/scans", payload))
        assert worker.drain()
    finally:
        worker.stop()
    with Session(db) as s:
        results = [c.data for c in news.after(s, begin, limit=1000)
                   if c.kind == "scan" and c.data["device"] == "hh-7"]
    wire_seen = [(r["action"], r["reason"]) for r in results]

    # 3. the handheld page in stocktake mode
    signed = client.post("/signin", data={"username": "staff-default", "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert signed.status_code == 303
    page_seen, target, sid = [], None, start()
    for code, _ in _counting(slots[2], *pairs[2], outside):
        body = client.post("/shelve/scan", headers=ORIGIN, json={
            "code": code, "target": target, "mode": "stocktake", "stocktake": sid}).json()
        if body["action"] == "target":
            target = body["location"]
        page_seen.append((body["action"], body["reason"]))

    expected = [outcome for _, outcome in _counting(slots[0], *pairs[0], outside)]
    assert api_seen == expected
    assert wire_seen == expected
    assert page_seen == expected
    assert {a for a, _ in expected} >= STOCKTAKE_WORDS
    with Session(db) as session:  # counting moved nothing
        for first, second in pairs:
            placed = boxes.present(session, [boxes.by_code(session, first),
                                             boxes.by_code(session, second)], scheme=SCHEME,
                                   clearance="top_secret")
            assert [p.location for p in placed] == [None, None]


def test_a_scan_in_a_mode_over_the_api_says_what_it_did(client, auth, archive):
    staff = auth("staff")
    slot, (box, _) = archive["slots"][0], archive["boxes"][0]
    targeted = client.post("/api/scan", headers=staff, json={"code": slot.lower()}).json()
    assert targeted["action"] == "target" and targeted["ok"] is True
    assert targeted["location"] == slot and "Slot 1" in targeted["location_path"]
    moved = client.post("/api/scan", headers=staff, json={"code": box, "target": slot}).json()
    assert (moved["action"], moved["box"], moved["location"]) == ("moved", box, slot)
    assert moved["at"] and "shelved in" in moved["message"]
    shown = client.get(f"/api/boxes/{box}", headers=staff).json()
    assert shown["location"] == slot
    # a stale or made-up target is said to be one, and nothing moves
    wrong = client.post("/api/scan", headers=staff,
                        json={"code": archive["boxes"][0][1], "target": "L09999999"}).json()
    assert (wrong["action"], wrong["reason"]) == ("refused", "no_target")
    assert "L09999999 is no location" in wrong["message"]
    # while a location scanned with that stale target simply becomes the target
    fresh = client.post("/api/scan", headers=staff, json={"code": slot, "target": "L09999999"})
    assert (fresh.json()["action"], fresh.json()["location"]) == ("target", slot)
    # a borrower may look codes up but not shelve; an unknown mode is the request's fault
    assert client.post("/api/scan", headers=auth("borrower"), json={"code": box}).status_code == 403
    assert client.post("/api/scan", headers=staff,
                       json={"code": box, "mode": "juggle"}).status_code == 422
