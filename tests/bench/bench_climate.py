"""Benchmark: a year of 5-minute readings from 50 sensors, then roll-ups, reports, exposure and
alarm latency.

Run: python -m tests.bench.bench_climate [--days 365] [--sensors 50]
(SQLite in a temporary file; ARCHIVE_TWIN_BENCH_CLIMATE_DAYS scales it down for `make bench`.)
Targets: a room's monthly report <= 2 s, a box's exposure over the whole span <= 200 ms, an
alarm committed <= 1 s (p99) after the reading that ends its hold was handed to ingest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from devices.events import ClimateReading
from server.clock import now
from server.db import make_engine, migrate, writing
from server.ingest import Ingest
from server.models.alarms import Alarm
from server.models.climate import ClimateSample
from server.models.devices import DeviceCreate
from server.models.holdings import BoxCreate, Movement
from server.models.places import LocationCreate
from server.services import (
    boxes,
    climate_history,
    climate_profiles,
    climate_reports,
    devices,
    exposure,
    locations,
)
from server.services.codes import CodeScheme

SCHEME = CodeScheme(company_prefix="0614141", site_number=1, base_url="http://bench.test")
TARGETS = {"report_s": 2.0, "exposure_ms": 200.0, "alarm_p99_s": 1.0}
SENSORS_PER_ROOM = 5
STEP = timedelta(minutes=5)
ALARM_TRIALS = 40


def _seed(session: Session, *, days: int, sensors: int, end: datetime) -> dict[str, Any]:
    rooms = []
    for r in range(max(1, sensors // SENSORS_PER_ROOM)):
        room = locations.create_location(session, LocationCreate(name=f"Store {r + 1}", kind="room"),
                                         scheme=SCHEME, actor="bench")
        rooms.append(room)
    names = []
    for s in range(sensors):
        room = rooms[s % len(rooms)]
        name = f"th-{s + 1:03d}"
        devices.register(session, DeviceCreate(id=name, type="sensor", room=room.code,
                                               report_interval_s=300), actor="bench")
        names.append((name, room.id))
    session.commit()
    rng = random.Random(11)
    start = end - timedelta(days=days)
    steps = int((end - start) / STEP)
    rows, total = [], 0
    began = time.perf_counter()
    statement = insert(ClimateSample)
    for i in range(steps):
        ts = start + STEP * i
        day = (ts.hour * 60 + ts.minute) / 1440
        for name, room_id in names:
            t = 20 + 1.5 * (day - 0.5) + rng.gauss(0, 0.2)
            h = 50 - 4 * (day - 0.5) + rng.gauss(0, 0.8) + (15 if ts.month in (7, 8) else 0)
            rows.append({"sensor": name, "room_id": room_id, "ts": ts, "temperature_c": t,
                         "humidity_pct": h})
        if len(rows) >= 50_000:
            session.execute(statement, rows)
            session.commit()
            total += len(rows)
            rows = []
    if rows:
        session.execute(statement, rows)
        session.commit()
        total += len(rows)
    seed_s = time.perf_counter() - began
    # a box that lived in three rooms and went out on loan once
    box = boxes.create_box(session, BoxCreate(), scheme=SCHEME, actor="bench")
    box.created_at = start
    third = (end - start) / 3
    a, b, c = rooms[0], rooms[1 % len(rooms)], rooms[2 % len(rooms)]
    for at, frm, to in ((start, None, a.id), (start + third, a.id, b.id),
                        (start + third * 1.5, b.id, None), (start + third * 1.6, None, c.id)):
        session.add(Movement(box_id=box.id, from_id=frm, to_id=to, at=at, reason="manual"))
    box.location_id = c.id
    session.commit()
    return {"rooms": rooms, "box": box.code, "rows": total, "seed_s": round(seed_s, 1),
            "start": start}


def _alarm_latency(engine, *, trials: int) -> dict[str, Any]:
    """Time from handing ingest the reading that ends a hold to the committed alarm."""
    with Session(engine) as session:
        paper = climate_profiles.present(climate_profiles.by_name(session, "paper"))
        climate_profiles.save(session, paper.model_copy(update={"name": "bench", "hold_s": 60}),
                              actor="bench")
        trial_rooms = []
        for n in range(trials):
            room = locations.create_location(session, LocationCreate(name=f"Trial {n}", kind="room"),
                                             scheme=SCHEME, actor="bench")
            climate_profiles.assign(session, room, "bench", actor="bench")
            devices.register(session, DeviceCreate(id=f"trial-{n}", type="sensor", room=room.code),
                             actor="bench")
            trial_rooms.append(room.code)
        session.commit()
    ingest = Ingest(engine, scheme=SCHEME, status_ttl_s=0)
    ingest.start()
    latencies = []
    try:
        for n, code in enumerate(trial_rooms):
            base = now() - timedelta(seconds=90)
            for k in range(6):  # 50 s of damp readings: not held yet
                ingest.submit(ClimateReading(f"trial-{n}", base + timedelta(seconds=10 * k), k,
                                             20.0, 70.0))
            ingest.drain(30)
            began = time.perf_counter()
            ingest.submit(ClimateReading(f"trial-{n}", base + timedelta(seconds=61), 99, 20.0, 70.0))
            while True:
                with Session(engine) as session:
                    if session.exec(select(Alarm.id).where(Alarm.subject == code,
                                                           Alarm.kind == "humidity_high")).first():
                        break
                if time.perf_counter() - began > 10:
                    break
                time.sleep(0.002)
            latencies.append(time.perf_counter() - began)
    finally:
        ingest.stop()
    latencies.sort()
    return {"trials": len(latencies), "p50_s": round(statistics.median(latencies), 3),
            "p99_s": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 3),
            "max_s": round(latencies[-1], 3)}


def run(days: int | None = None, sensors: int = 50) -> dict[str, Any]:
    """Seed, then measure; returns the figures."""
    days = days or int(os.environ.get("ARCHIVE_TWIN_BENCH_CLIMATE_DAYS", "30"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'climate.sqlite3'}"
        migrate(url)
        engine = writing(make_engine(url))
        end = now().replace(minute=0, second=0, microsecond=0)
        with Session(engine, expire_on_commit=False) as session:
            seeded = _seed(session, days=days, sensors=sensors, end=end)
        rooms = seeded["rooms"]
        began = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            hours = climate_history.roll_up(session, until=end)
            session.commit()
        rollup_s = time.perf_counter() - began
        began = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            climate_history.roll_up(session, until=end)
            session.commit()
        rerun_s = time.perf_counter() - began
        month = (end - timedelta(days=min(days, 28) // 2)).strftime("%Y-%m")
        report_times = []
        for room in rooms[:3]:
            began = time.perf_counter()
            with Session(engine, expire_on_commit=False) as session:
                report = climate_reports.month_report(session, room, month)
                climate_reports.as_csv(report)
                from labels.typefaces import pdf_fonts

                climate_reports.as_pdf(report, fonts=pdf_fonts())
            report_times.append(time.perf_counter() - began)
        exposure_times = []
        for _ in range(5):
            began = time.perf_counter()
            with Session(engine, expire_on_commit=False) as session:
                found = exposure.of_box(session, seeded["box"], since=seeded["start"], until=end)
            exposure_times.append(time.perf_counter() - began)
        alarm = _alarm_latency(engine, trials=ALARM_TRIALS)
        engine.dispose()
    figures: dict[str, Any] = {
        "database": "sqlite", "days": days, "sensors": sensors, "rooms": len(rooms),
        "rows": seeded["rows"], "seed_s": seeded["seed_s"],
        "rollup_s": round(rollup_s, 1), "rollup_hours": hours, "rollup_rerun_s": round(rerun_s, 2),
        "report_s": round(max(report_times), 3), "report_month": month,
        "exposure_ms": round(1000 * statistics.median(exposure_times), 1),
        "exposure_hours_unknown": found.hours_unknown, "exposure_twpi": found.twpi_years
        and round(found.twpi_years, 1),
        "alarm": alarm, "targets": TARGETS,
    }
    figures["met"] = {"report": figures["report_s"] <= TARGETS["report_s"],
                      "exposure": figures["exposure_ms"] <= TARGETS["exposure_ms"],
                      "alarm": alarm["p99_s"] <= TARGETS["alarm_p99_s"]}
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--sensors", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(run(args.days, args.sensors), indent=2, ensure_ascii=False, default=str))
