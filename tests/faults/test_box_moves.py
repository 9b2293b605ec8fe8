"""10,000 boxes placed by one burst of shelf reads: every one reaches its retained twin state."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import (
    ROOT,
    Device,
    TopicWatcher,
    base_time,
    reads_message,
    stamp,
    wait_until,
)

BOXES = 10_000
SHELVES = 10
PER_MESSAGE = 500


def _register_boxes(database_url: str, count: int) -> dict[str, str]:
    """count new boxes with no place yet, as POST /api/boxes makes them: code → EPC.

    Setup only, written straight into the database in one statement: 10,000 POSTs (or an
    import of 10,000 rows) take one to two minutes here, which would dwarf what is measured.
    """
    from datetime import UTC, datetime

    from sqlalchemy import insert, text

    from server.db import make_engine
    from server.models.holdings import Box
    from server.services.codes import CodeScheme

    scheme = CodeScheme(company_prefix="0614141", site_number=1, base_url="http://archive.test")
    made = datetime.now(UTC)
    rows = [{"id": n, "code": scheme.box_code(n), "epc": scheme.box_epc(n),
             "status": "in_transit", "created_at": made} for n in range(1, count + 1)]
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Box.__table__), rows)
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT setval(pg_get_serial_sequence('boxes', 'id'), :n)"),
                             {"n": count})
    finally:
        engine.dispose()
    return {row["code"]: row["epc"] for row in rows}


# Today one move costs a transaction's worth of work per box: 35 to 75 s for the burst here.
@pytest.mark.timeout(240)
def test_ten_thousand_moves_in_one_burst_leave_ten_thousand_retained_states(
        broker, make_server, counter, figures):
    server = make_server(broker.url)
    room = server.location("Room M", "room")
    shelves = [server.location(f"Shelf M{n}", "shelf", room) for n in range(1, SHELVES + 1)]
    reader = "shelf-burst"
    server.device(reader, "reader", role="shelf",
                  antennas={str(n): code for n, code in enumerate(shelves, start=1)})
    epc = _register_boxes(server.database_url, BOXES)
    codes = sorted(epc)
    # box i stands on shelf i % 10; none had a place, so one round hearing it twice places it
    expected = {code: shelves[i % SHELVES] for i, code in enumerate(codes)}
    antenna = {code: i % SHELVES + 1 for i, code in enumerate(codes)}

    device = Device(broker.url)
    began = time.monotonic()
    ts = stamp(base_time(), 0)  # one inventory round, reported in pieces
    try:
        for seq, first in enumerate(range(0, BOXES, PER_MESSAGE), start=1):
            chunk = codes[first:first + PER_MESSAGE]
            device.send(f"{ROOT}/readers/{reader}/reads",
                        reads_message(seq, ts, [(epc[c], antenna[c], 2) for c in chunk]))
        assert device.wait_acked(30)
    finally:
        device.close()

    def placed() -> int:
        return server.api("GET", "/api/boxes", params={"location": room, "limit": 1}).json()["total"]

    wait_until(lambda: placed() >= BOXES, 150, 0.5)
    moved = placed()
    took = time.monotonic() - began
    time.sleep(1)  # publication may trail the commit a little

    # A newcomer subscribing now must read the whole twin from the retained messages.
    watcher = TopicWatcher(broker.url, f"{ROOT}/twin/boxes/+")
    try:
        last, since = -1, time.monotonic()
        while time.monotonic() - since < 2 and watcher.count() < BOXES:
            if watcher.count() != last:
                last, since = watcher.count(), time.monotonic()
            time.sleep(0.1)
        retained = watcher.latest()
    finally:
        watcher.close()
    right = sum(1 for code, where in expected.items()
                if retained.get(f"{ROOT}/twin/boxes/{code}", {}).get("location") == where)
    wrong = sum(1 for code in expected if f"{ROOT}/twin/boxes/{code}" in retained) - right
    rejects = counter.rejects()
    figures("10,000 box moves", f"moved in the twin {moved} in {took:.1f} s "
            f"({len(rejects)} rejects{': ' + rejects[0][2][:80] if rejects else ''}), retained states {len(retained)}, "
            f"at the final location {right}, wrong {wrong}, missing {BOXES - len(retained)}")
    assert moved == BOXES
    assert (len(retained), right) == (BOXES, BOXES)
