"""Every timestamp the API answers carries an offset, in UTC, on both databases (CONTRACT.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import Session, select

from server.clock import now
from server.models.climate import ClimateSample
from server.models.holdings import Box
from server.services import devices
from tests.integration.tree import build_tree

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
# The one form the API speaks: pydantic writes a UTC time with `Z`.
_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
BEIJING = timezone(timedelta(hours=8))


def _timestamps(value, where: str = "$"):
    """(json path, text) of every string in a JSON document that looks like a date and time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _timestamps(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _timestamps(item, f"{where}[{i}]")
    elif isinstance(value, str) and _DATE_TIME.match(value):
        yield where, value


def _archive_with_something_everywhere(client, auth, db) -> dict[str, str]:
    """Boxes, records, a loan, a device with a reject and an alarm, climate: all with times."""
    admin, staff = auth("admin"), auth("staff")
    codes = build_tree(client, admin)
    shelved = client.post("/api/boxes", headers=admin, json={"home": codes["Slot 1"]}).json()["code"]
    assert client.post(f"/api/boxes/{shelved}/move", headers=staff,
                       json={"to": codes["Slot 1"]}).status_code == 200
    lent = client.post("/api/boxes", headers=admin, json={"home": codes["Slot 2"]}).json()["code"]
    assert client.post(f"/api/boxes/{lent}/move", headers=staff,
                       json={"to": codes["Slot 2"]}).status_code == 200
    made = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0001", "title": "ledger", "box": shelved})
    assert made.status_code == 201, made.text
    auth("borrower", "internal")
    loan = client.post(f"/api/boxes/{lent}/loan", headers=staff, json={
        "borrower": "borrower-internal", "due_on": (now().date() + timedelta(days=7)).isoformat()})
    assert loan.status_code == 201, loan.text
    taken = client.post(f"/api/boxes/{lent}/return", headers=staff, json={})
    assert taken.status_code == 200, taken.text
    assert client.post("/api/devices", headers=admin, json={
        "id": "shelf-r1", "type": "reader", "role": "shelf", "antennas": {"1": codes["Slot 1"]},
        "room": codes["room"], "report_interval_s": 60}).status_code == 201

    # What devices report arrives with the device's own offset (here +08:00).
    heard = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=BEIJING)
    with Session(db) as s:
        box = s.exec(select(Box).where(Box.code == shelved)).one()
        box.last_seen_at, box.last_seen_by = heard, "shelf-r1"
        device = devices.get(s, "shelf-r1")
        device.last_seen_at = heard
        devices.mark_state(s, device, "offline", at=heard)  # raises an alarm
        devices.keep_reject(s, topic="archive/v1/readers/shelf-r1/reads", reason="not JSON",
                            raw=b"{", device="shelf-r1", ts=heard)
        s.add(ClimateSample(sensor="th-1", room_id=int(codes["room"][1:]), ts=heard,
                            temperature_c=18.5, humidity_pct=45.0))
        s.commit()
    alarms = client.get("/api/alarms", headers=admin).json()["items"]
    assert client.post(f"/api/alarms/{alarms[0]['id']}/clear", headers=admin).status_code == 200
    return {"shelved": shelved, "lent": lent, "loan": str(loan.json()["id"]), **codes}


def test_every_timestamp_the_api_answers_has_an_offset(client, auth, db):
    codes = _archive_with_something_everywhere(client, auth, db)
    admin = auth("admin")
    box, room = codes["shelved"], codes["room"]
    # endpoint → does its answer carry at least one time?
    walk = {
        "/api/boxes": True,
        f"/api/boxes/{box}": True,
        f"/api/boxes/{box}/movements": True,
        f"/api/boxes/{codes['lent']}/movements": True,
        "/api/locations": False,
        f"/api/locations/{room}": False,
        "/api/records": True,
        "/api/records/WS·2024·Y·0001": True,
        "/api/devices": True,
        "/api/devices/shelf-r1": True,
        "/api/devices/rejects": True,
        "/api/alarms": True,
        "/api/loans": True,
        f"/api/loans/{codes['loan']}": True,
        "/api/audit": True,
        "/api/climate": True,
        "/api/climate/latest": True,
        f"/api/scan/{box}": True,
    }
    wrong = []
    for url, has_times in walk.items():
        answer = client.get(url, headers=admin)
        assert answer.status_code == 200, f"{url}: {answer.text}"
        found = list(_timestamps(answer.json()))
        if has_times:
            assert found, f"{url} answered no timestamp: {answer.text[:300]}"
        wrong += [f"{url} {path} = {text}" for path, text in found
                  if not _WITH_OFFSET.fullmatch(text)]
    assert wrong == [], "timestamps without offset, or not in the API's one form:\n" + "\n".join(wrong)


def test_a_device_time_with_another_offset_comes_back_as_the_same_instant_in_utc(client, auth, db):
    codes = _archive_with_something_everywhere(client, auth, db)
    admin = auth("admin")
    # 10:00 in Beijing is 02:00 UTC; SQLite used to keep 10:00 and call it UTC
    expected = "2026-03-01T02:00:00.123456Z"
    assert client.get(f"/api/boxes/{codes['shelved']}", headers=admin).json()["last_seen_at"] == expected
    assert client.get("/api/devices/shelf-r1", headers=admin).json()["last_seen_at"] == expected
    assert client.get("/api/devices/rejects", headers=admin).json()["items"][0]["ts"] == expected
    assert client.get("/api/climate", headers=admin).json()["items"][0]["ts"] == expected
    # and a filter given in another offset finds it on both databases
    since = datetime(2026, 3, 1, 9, 59, tzinfo=BEIJING).isoformat()
    until = datetime(2026, 3, 1, 2, 1, tzinfo=UTC).isoformat()
    found = client.get("/api/climate", headers=admin, params={"since": since, "until": until})
    assert found.status_code == 200 and found.json()["total"] == 1, found.text
