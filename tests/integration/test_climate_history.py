"""Profiles over HTTP, metrics, a box's exposure, roll-ups run twice, the monthly report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from server.clock import now
from server.models.audit import AuditEntry
from server.models.climate import ClimateRollup
from server.models.devices import DeviceCreate
from server.models.holdings import BoxCreate, Movement
from server.models.places import LocationCreate
from server.services import alarms, boxes, climate, climate_history, devices, locations
from server.services import preservation as p
from tests.conftest import SCHEME


@pytest.fixture
def rooms(session: Session):
    made = {}
    for name, sensor in (("Room 1", "th-a"), ("Room 2", "th-b")):
        room = locations.create_location(session, LocationCreate(name=name, kind="room"),
                                         scheme=SCHEME, actor="t")
        devices.register(session, DeviceCreate(id=sensor, type="sensor", room=room.code),
                         actor="t")
        made[name] = room
    session.commit()
    return made


def store_every_5_min(session, room, sensor, start, hours, t, rh):
    climate.store(session, [(sensor, room.id, start + timedelta(minutes=5 * i), t, rh)
                            for i in range(int(hours * 12))])


def test_profiles_are_listed_chosen_and_edited_with_an_audit(client, auth, db, rooms):
    keeper = auth("facilities")
    listed = client.get("/api/climate/profiles", headers=keeper).json()
    paper = next(x for x in listed if x["name"] == "paper")
    assert {x["name"] for x in listed} >= {"paper", "film", "magnetic", "photo"}
    assert paper["temperature_c"] == {"min": 14, "max": 24}
    assert paper["humidity_pct"] == {"min": 45, "max": 60}
    assert paper["daily_swing"] == {"temperature_c": 2, "humidity_pct": 5}
    code = rooms["Room 1"].code
    answer = client.put(f"/api/rooms/{code}/climate", headers=keeper, json={"profile": "film"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["profile"]["humidity_pct"] == {"min": 35, "max": 45}
    assert answer.json()["state"] == "no_data" and answer.json()["now"] is None
    bad = client.put(f"/api/rooms/{code}/climate", headers=keeper, json={"profile": "vellum"})
    assert bad.status_code == 422 and "paper" in bad.json()["detail"]
    custom = dict(paper, name="vault", hold_s=300, humidity_pct={"min": 40, "max": 50})
    answer = client.put(f"/api/rooms/{code}/climate", headers=keeper, json=custom)
    assert answer.status_code == 200 and answer.json()["profile"]["name"] == "vault"
    assert answer.json()["profile"]["hold_s"] == 300
    assert client.put(f"/api/rooms/{code}/climate", headers=auth("staff"),
                      json={"profile": "paper"}).status_code == 403
    with Session(db) as s:
        kinds = {(e.entity, e.action) for e in s.exec(select(AuditEntry))}
    assert ("room_climate", "update") in kinds and ("climate_profile", "create") in kinds


def test_metrics_of_a_room(client, auth, db, rooms):
    room = rooms["Room 1"]
    until = now().replace(minute=0, second=0, microsecond=0)
    start = until - timedelta(hours=24)
    with Session(db) as s:
        store_every_5_min(s, room, "th-a", start, 12, 20.0, 50.0)
        store_every_5_min(s, room, "th-a", start + timedelta(hours=12), 12, 30.0, 70.0)
        s.commit()
    answer = client.get("/api/climate/metrics", headers=auth("facilities"), params={
        "room": room.code, "since": start.isoformat(), "until": until.isoformat()})
    assert answer.status_code == 200, answer.text
    m = answer.json()
    assert m["twpi_years"] == pytest.approx(13.8, abs=0.2)
    assert m["pi_years"] == pytest.approx(p.pi_years(25, 60), abs=0.5)
    assert m["hours_out_of_band"] == pytest.approx(12, abs=0.1)
    assert m["mould_risk_hours"] == pytest.approx(12, abs=0.1)
    assert m["ratings"] == {"natural_aging": "risk", "mechanical": "good", "mould": "ok"}


def test_rollups_are_safe_to_run_again_and_agree_with_raw(db, rooms):
    room = rooms["Room 1"]
    until = now().replace(minute=0, second=0, microsecond=0)
    start = until - timedelta(hours=30)
    with Session(db) as s:
        store_every_5_min(s, room, "th-a", start, 30, 21.0, 55.0)
        s.commit()
        raw = climate_history.summarise(climate_history.spans(s, room, start, until))
        climate_history.roll_up(s, until=until)
        s.commit()
        first = s.exec(select(func.count()).select_from(ClimateRollup)).one()
        climate_history.roll_up(s, until=until)
        climate_history.roll_up(s, until=until)
        s.commit()
        again = s.exec(select(func.count()).select_from(ClimateRollup)).one()
        hours = s.exec(select(ClimateRollup).where(ClimateRollup.period == "hour")).all()
        rolled = climate_history.summarise(climate_history.spans(s, room, start, until))
        # raw readings past keeping are forgotten once rolled up; the roll-ups stay
        gone = climate_history.forget_raw(s, before=until - timedelta(hours=2))
        s.commit()
        kept = climate_history.summarise(climate_history.spans(s, room, start, until))
    touched = {(start + timedelta(hours=h)).date() for h in range(30)}
    assert first == again == 30 + len(touched)  # 30 hours and the days they touch
    assert all(h.seconds_in_band == h.seconds_known for h in hours)
    assert rolled.hours_out_of_band == raw.hours_out_of_band == 0
    assert rolled.seconds == pytest.approx(raw.seconds, rel=0.01)
    assert gone > 0 and kept.seconds == pytest.approx(raw.seconds, rel=0.01)


def test_a_boxs_exposure_follows_its_moves_and_its_loan(client, auth, db, rooms):
    one, two = rooms["Room 1"], rooms["Room 2"]
    t0 = now().replace(second=0, microsecond=0) - timedelta(hours=10)
    with Session(db) as s:
        box = boxes.create_box(s, BoxCreate(), scheme=SCHEME, actor="t")
        box.created_at = t0
        for at, frm, to in ((t0 + timedelta(hours=4), one.id, two.id),
                            (t0 + timedelta(hours=6), two.id, None),  # on loan
                            (t0 + timedelta(hours=8), None, one.id)):
            s.add(Movement(box_id=box.id, from_id=frm, to_id=to, at=at, reason="manual"))
        box.location_id = one.id
        s.add(Movement(box_id=box.id, from_id=None, to_id=one.id, at=t0, reason="manual"))
        store_every_5_min(s, one, "th-a", t0 - timedelta(hours=1), 12, 20.0, 50.0)
        store_every_5_min(s, two, "th-b", t0 - timedelta(hours=1), 12, 30.0, 70.0)
        s.commit()
        code = box.code
    until = t0 + timedelta(hours=10)
    answer = client.get(f"/api/boxes/{code}/exposure", headers=auth("facilities"),
                        params={"until": until.isoformat()})
    assert answer.status_code == 200, answer.text
    e = answer.json()
    assert [r["room"] for r in e["rooms"]] == [one.code, two.code, one.code]
    assert e["hours_unknown"] == pytest.approx(2, abs=0.1)
    assert e["hours_out_of_band"] == pytest.approx(2, abs=0.1)
    assert e["mould_risk_hours"] == pytest.approx(2, abs=0.1)
    want = p.twpi_years([(6 * 3600, 20, 50), (2 * 3600, 30, 70)])
    assert e["twpi_years"] == pytest.approx(want, abs=0.3)
    # an incident in Room 2 between hours 4 and 6 reaches this box; one in Room 1 then does not
    with Session(db) as s:
        alarm, _ = alarms.raise_alarm(s, kind="humidity_high", subject=two.code, message="x",
                                      at=t0 + timedelta(hours=5))
        alarms.clear_condition(s, kind="humidity_high", subject=two.code,
                               at=t0 + timedelta(hours=5, minutes=30))
        s.commit()
        other, _ = alarms.raise_alarm(s, kind="humidity_high", subject=one.code, message="y",
                                      at=t0 + timedelta(hours=7))
        alarms.clear_condition(s, kind="humidity_high", subject=one.code,
                               at=t0 + timedelta(hours=7, minutes=30))
        s.commit()
        ids = alarm.id, other.id
    reach = client.get(f"/api/alarms/{ids[0]}/boxes", headers=auth("facilities")).json()
    assert reach["boxes"] == [code]
    assert client.get(f"/api/alarms/{ids[1]}/boxes", headers=auth("facilities")).json()[
        "boxes"] == []


def test_the_monthly_report_as_csv_and_pdf(client, auth, db, rooms):
    room = rooms["Room 1"]
    with Session(db) as s:
        from datetime import UTC, datetime

        start = datetime(2026, 3, 1, tzinfo=UTC)
        store_every_5_min(s, room, "th-a", start, 48, 20.0, 50.0)
        store_every_5_min(s, room, "th-a", start + timedelta(days=2), 24, 22.0, 66.0)
        alarms.raise_alarm(s, kind="humidity_high", subject=room.code, message="66 %RH",
                           at=start + timedelta(days=2, hours=1))
        s.commit()
    keeper = auth("facilities")
    answer = client.get(f"/api/rooms/{room.code}/climate/report.csv", headers=keeper,
                        params={"month": "2026-03"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    days = [r for r in rows if r and r[0].startswith("2026-03-")]
    assert len(days) == 31
    assert days[0][3] == "20.0" and days[0][8] == "100.0"
    assert days[2][6] == "66.0" and days[2][8] == "0.0" and float(days[2][9]) == pytest.approx(24, abs=0.1)
    month = next(r for r in rows if r and r[0] == "month")
    assert float(month[8]) == pytest.approx(66.7, abs=0.2)
    assert any(r and r[1] == "humidity_high" for r in rows)
    pdf = client.get(f"/api/rooms/{room.code}/climate/report.pdf", headers=keeper,
                     params={"month": "2026-03"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import pypdfium2

    text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "温湿度月报" in text and "humidity_high" in text
    assert client.get(f"/api/rooms/{room.code}/climate/report.csv", headers=keeper,
                      params={"month": "March"}).status_code == 422


def test_the_reports_job_files_last_month_once(db, settings, rooms):
    from server.jobs import file_climate_reports
    from server.services import climate_reports

    month = climate_reports.previous_month(now())
    start, _ = climate_reports.month_span(month)
    with Session(db) as s:
        store_every_5_min(s, rooms["Room 1"], "th-a", start, 24, 20.0, 50.0)
        s.commit()
    file_climate_reports(settings, db)
    folder = settings.data_dir / "reports" / "climate"
    made = sorted(p.name for p in folder.iterdir())
    assert made == sorted(f"climate-{r.code}-{month}.{ext}" for r in rooms.values()
                          for ext in ("csv", "pdf"))
    first = (folder / f"climate-{rooms['Room 1'].code}-{month}.csv").stat().st_mtime_ns
    file_climate_reports(settings, db)  # run again: nothing rewritten
    assert (folder / f"climate-{rooms['Room 1'].code}-{month}.csv").stat().st_mtime_ns == first
