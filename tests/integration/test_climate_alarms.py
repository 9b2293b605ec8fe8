"""Climate alarm rules on the real database, judged on the readings' own timestamps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from devices.events import ClimateReading, SensorEvent
from server.clock import now
from server.ingest import Ingest
from server.models.alarms import Alarm
from server.models.devices import DeviceCreate
from server.models.places import LocationCreate
from server.services import alarms, climate_profiles, devices, locations, news
from server.services.climate_rules import Rules
from server.services.errors import Invalid
from tests.conftest import SCHEME


@pytest.fixture
def room(session: Session):
    """Room 1 with three climate sensors and a leak sensor."""
    made = locations.create_location(session, LocationCreate(name="Room 1", kind="room"),
                                     scheme=SCHEME, actor="t")
    for sensor in ("th-1", "th-2", "th-3", "leak-1"):
        devices.register(session, DeviceCreate(id=sensor, type="sensor", room=made.code,
                                               report_interval_s=60), actor="t")
    session.commit()
    return made


@pytest.fixture
def ingest(db):
    worker = Ingest(db, scheme=SCHEME, status_ttl_s=0, climate_rules=Rules(stale_s=900))
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def told(db):
    with Session(db) as s:
        start = news.latest(s)

    def since() -> list[dict]:
        with Session(db) as s:
            return [c.data for c in news.after(s, start, limit=100_000) if c.kind == "alarm"]

    return since


def feed(ingest, start, minutes, values, *, sensors=("th-1", "th-2", "th-3"), spike=None,
         seq0=0, step_s=60):
    """One reading a minute from each sensor; values(minute) -> (t, rh); spike(sensor, minute)
    may override one sensor's reading."""
    for m in range(minutes):
        for i, sensor in enumerate(sensors):
            t, rh = values(m)
            if spike:
                t, rh = spike(sensor, m) or (t, rh)
            ingest.submit(ClimateReading(sensor, start + timedelta(seconds=m * step_s),
                                         seq0 + m * 10 + i, t, rh))
    assert ingest.drain(30)


def room_alarms(db, kind=None):
    with Session(db) as s:
        query = select(Alarm).order_by(Alarm.id)
        if kind:
            query = query.where(Alarm.kind == kind)
        return list(s.exec(query).all())


def test_out_of_band_raises_only_after_the_hold_on_the_readings_own_time(db, room, ingest, told):
    start = now() - timedelta(hours=2)
    # 48 %RH, then 68 %RH from minute 5 on (the simulator's hvac failure)
    feed(ingest, start, 9, lambda m: (20.5, 48.0 if m < 5 else 68.0))
    assert room_alarms(db, "humidity_high") == []  # 4 minutes out: not held yet
    feed(ingest, start + timedelta(minutes=9), 3, lambda m: (20.5, 68.0), seq0=1000)
    [alarm] = room_alarms(db, "humidity_high")
    assert alarm.subject == room.code and alarm.state == "active" and alarm.severity == "warning"
    # raised at the first reading 5 minutes (the hold) into the run, by the reading's own clock
    assert alarm.raised_at == start + timedelta(minutes=10)
    assert "68.0 %RH" in alarm.message
    [mould] = room_alarms(db, "mould_risk")
    assert mould.state == "active"
    said = [(a["kind"], a["state"]) for a in told()]
    assert ("humidity_high", "active") in said


def test_hysteresis_keeps_it_raised_until_well_inside(db, room, ingest):
    start = now() - timedelta(hours=2)
    feed(ingest, start, 12, lambda m: (20.0, 62.0))
    [alarm] = room_alarms(db, "humidity_high")
    # back to 59.0: inside the band (60) but not by the 2 %RH margin
    feed(ingest, start + timedelta(minutes=12), 3, lambda m: (20.0, 59.0), seq0=1000)
    assert room_alarms(db, "humidity_high")[0].state == "active"
    feed(ingest, start + timedelta(minutes=15), 2, lambda m: (20.0, 57.5), seq0=2000)
    [alarm] = room_alarms(db, "humidity_high")
    assert alarm.state == "cleared" and alarm.cleared_by == "system"
    assert alarm.cleared_at == start + timedelta(minutes=15)


def test_a_sensor_catching_up_after_an_outage_is_judged_at_its_own_time(db, room, ingest):
    start = now() - timedelta(hours=3)
    # an hour of buffered readings arrives at once: 30 minutes too hot, then back in band
    readings = [ClimateReading("th-1", start + timedelta(minutes=m), m,
                               27.0 if m < 30 else 20.0, 50.0) for m in range(60)]
    for r in readings:
        ingest.submit(r)
    assert ingest.drain(30)
    [alarm] = room_alarms(db, "temperature_high")
    assert alarm.raised_at == start + timedelta(minutes=5)
    assert alarm.cleared_at == start + timedelta(minutes=30)
    assert alarm.state == "cleared"


def test_one_sensors_spike_raises_a_disagreement_not_a_room_alarm(db, room, ingest):
    start = now() - timedelta(hours=2)
    feed(ingest, start, 15, lambda m: (20.0, 50.0),
         spike=lambda s, m: (20.0, 75.0) if s == "th-2" else None)
    assert room_alarms(db, "humidity_high") == [] and room_alarms(db, "mould_risk") == []
    [warning] = room_alarms(db, "sensor_disagreement")
    assert warning.subject == room.code and "th-2" in warning.message


def test_the_room_value_is_the_median_of_its_sensors(client, auth, db, room):
    from server.services import climate

    with Session(db) as s:
        at = now() - timedelta(minutes=1)
        climate.store(s, [("th-1", room.id, at, 20.0, 47.0), ("th-2", room.id, at, 21.0, 68.0),
                          ("th-3", room.id, at, 20.4, 49.0)])
        s.commit()
    answer = client.get(f"/api/rooms/{room.code}/climate", headers=auth("facilities")).json()
    assert answer["now"]["humidity_pct"] == 49.0 and answer["now"]["temperature_c"] == 20.4
    assert answer["now"]["sensors"] == 3 and answer["state"] == "ok"
    assert answer["profile"]["name"] == "paper"


def test_severity_escalates_with_duration(db, room, ingest, session):
    profile = climate_profiles.by_name(session, "paper")
    data = climate_profiles.present(profile).model_copy(update={"name": "quick", "escalate_s": 1200})
    climate_profiles.save(session, data, actor="t")
    climate_profiles.assign(session, room, "quick", actor="t")
    session.commit()
    start = now() - timedelta(hours=2)
    feed(ingest, start, 15, lambda m: (26.0, 50.0))
    assert room_alarms(db, "temperature_high")[0].severity == "warning"
    feed(ingest, start + timedelta(minutes=15), 10, lambda m: (26.0, 50.0), seq0=1000)
    assert room_alarms(db, "temperature_high")[0].severity == "critical"


def test_acknowledge_clear_and_rearm(db, room, ingest, session, told):
    profile = climate_profiles.present(climate_profiles.by_name(session, "paper"))
    climate_profiles.save(session, profile.model_copy(update={"name": "short", "hold_s": 120}),
                          actor="t")
    climate_profiles.assign(session, room, "short", actor="t")
    session.commit()
    start = now() - timedelta(minutes=40)
    feed(ingest, start, 4, lambda m: (20.0, 63.0))
    [alarm] = room_alarms(db, "humidity_high")
    with pytest.raises(Invalid):
        alarms.acknowledge(session, alarm.id, actor="fac", note=" ")
    alarms.acknowledge(session, alarm.id, actor="fac", note="dehumidifier switched on")
    session.commit()
    feed(ingest, start + timedelta(minutes=4), 2, lambda m: (20.0, 63.0), seq0=1000)
    [alarm] = room_alarms(db, "humidity_high")  # still the one, acknowledged
    assert alarm.state == "acknowledged" and alarm.acknowledged_by == "fac"
    alarms.clear(session, alarm.id, actor="fac", role="facilities")
    session.commit()
    # re-armed: still out of band, but it must hold again after the clear
    later = now() + timedelta(seconds=2)
    feed(ingest, later, 2, lambda m: (20.0, 63.0), seq0=2000)
    assert [a.state for a in room_alarms(db, "humidity_high")] == ["cleared"]
    feed(ingest, later + timedelta(minutes=2), 1, lambda m: (20.0, 63.0), seq0=3000)
    assert [a.state for a in room_alarms(db, "humidity_high")] == ["cleared", "active"]
    states = [a["state"] for a in told() if a["kind"] == "humidity_high"]
    assert states == ["active", "acknowledged", "cleared", "active"]


def test_critical_alarms_are_cleared_only_by_archivist_or_admin_with_a_note(
        client, auth, db, room, ingest):
    ingest.submit(SensorEvent("leak-1", now() - timedelta(seconds=5), 1, "leak", True))
    assert ingest.drain()
    [alarm] = room_alarms(db, "leak")
    assert alarm.severity == "critical" and alarm.subject == room.code
    facilities = auth("facilities")
    answer = client.post(f"/api/alarms/{alarm.id}/acknowledge", headers=facilities,
                         json={"note": "on my way with a mop"})
    assert answer.status_code == 200 and answer.json()["state"] == "acknowledged"
    answer = client.post(f"/api/alarms/{alarm.id}/clear", headers=facilities, json={"note": "dry"})
    assert answer.status_code == 403 and "archivist" in answer.json()["detail"]
    archivist = auth("archivist")
    answer = client.post(f"/api/alarms/{alarm.id}/clear", headers=archivist, json={})
    assert answer.status_code == 422 and answer.json()["field"] == "note"
    answer = client.post(f"/api/alarms/{alarm.id}/clear", headers=archivist,
                         json={"note": "pipe fixed, floor dry"})
    assert answer.status_code == 200 and answer.json()["state"] == "cleared"
    assert answer.json()["clear_note"] == "pipe fixed, floor dry"
    listed = client.get("/api/audit", headers=auth("admin"), params={"entity": "alarm"})
    if listed.status_code == 200:
        assert any(e["action"] == "clear" for e in listed.json()["items"])


def test_an_inactive_binary_event_clears_its_alarm(db, room, ingest):
    ingest.submit(SensorEvent("leak-1", now() - timedelta(seconds=9), 1, "door", True))
    ingest.submit(SensorEvent("leak-1", now() - timedelta(seconds=5), 2, "door", False))
    assert ingest.drain()
    [alarm] = room_alarms(db, "door")
    assert alarm.state == "cleared" and alarm.severity == "warning"


def test_a_daily_swing_beyond_the_profile_raises_even_inside_the_band(db, room, ingest):
    start = now() - timedelta(hours=13)
    for h in range(13):  # 47 ↔ 55 %RH, every value inside 45–60, an 8 %RH swing
        ingest.submit(ClimateReading("th-1", start + timedelta(hours=h), h, 20.0,
                                     47.0 if h % 2 else 55.0))
        assert ingest.drain()
    assert room_alarms(db, "humidity_high") == [] and room_alarms(db, "humidity_low") == []
    [swing] = room_alarms(db, "daily_swing")
    assert swing.state == "active" and "8.0 %RH" in swing.message
