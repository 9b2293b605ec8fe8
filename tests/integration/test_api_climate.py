"""Climate over HTTP: readings per room and sensor, and each sensor's newest."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from server.clock import now
from server.services import climate
from tests.integration.tree import build_tree


def test_readings_and_latest_per_sensor(client, auth, db):
    admin = auth("facilities")
    codes = build_tree(client, auth("admin"))
    for sensor in ("th-1", "th-2"):
        assert client.post("/api/devices", headers=admin, json={
            "id": sensor, "type": "sensor", "room": codes["room"], "report_interval_s": 60,
        }).status_code == 201
    start = now() - timedelta(hours=1)
    with Session(db) as session:
        rows = [("th-1", None, start + timedelta(minutes=m), 20.0 + m / 10, 50.0) for m in range(5)]
        rows.append(("th-2", None, start, 18.5, 61.0))
        climate.store(session, rows)
        session.commit()
    answer = client.get("/api/climate", headers=admin, params={"sensor": "th-1"}).json()
    assert answer["total"] == 5
    assert answer["items"][0]["temperature_c"] == 20.4  # newest first
    since = client.get("/api/climate", headers=admin, params={
        "sensor": "th-1", "since": (start + timedelta(minutes=3)).isoformat()}).json()
    assert since["total"] == 2
    latest = client.get("/api/climate/latest", headers=admin).json()
    assert [(r["sensor"], r["temperature_c"]) for r in latest] == [("th-1", 20.4), ("th-2", 18.5)]
    assert client.get("/api/climate", headers=admin, params={"room": "L09999999"}).status_code == 422
    assert client.get("/api/climate/latest", headers=auth("borrower")).status_code == 403
