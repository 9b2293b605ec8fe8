"""What device events do to the twin: each ingest rule, on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from devices.events import ClimateReading, DeviceStatus, Reject, Scan, TagRead, TagReads
from server.clock import now
from server.db import writing
from server.ingest import Ingest
from server.models.alarms import Alarm
from server.models.climate import ClimateSample
from server.models.devices import Device, DeviceCreate, DeviceReject, DeviceUpdate
from server.models.holdings import Box, BoxCreate, Movement
from server.models.places import Location, LocationCreate
from server.services import boxes, devices, locations, news, twin
from tests.conftest import SCHEME


@pytest.fixture
def room(session: Session) -> dict:
    """Room › Unit › A › Section › two shelves with a slot each (capacity 1), boxes, devices."""
    made: dict = {}
    parent = None
    for name, kind in (("Room 1", "room"), ("Unit 01", "unit"), ("A", "side"), ("Section 1", "section")):
        parent = locations.create_location(
            session, LocationCreate(name=name, kind=kind, parent=parent and parent.code),
            scheme=SCHEME, actor="t")
        made[kind] = parent
    for n in (1, 2):
        shelf = locations.create_location(
            session, LocationCreate(name=f"Shelf {n}", kind="shelf", parent=made["section"].code),
            scheme=SCHEME, actor="t")
        made[f"slot{n}"] = locations.create_location(
            session, LocationCreate(name="Slot 1", kind="slot", parent=shelf.code, capacity=1),
            scheme=SCHEME, actor="t")
    made["boxes"] = [boxes.create_box(session, BoxCreate(), scheme=SCHEME, actor="t") for _ in range(3)]
    for spec in (
        DeviceCreate(id="shelf-1", type="reader", role="shelf",
                     antennas={"1": made["slot1"].code, "2": made["slot2"].code}),
        DeviceCreate(id="gate-1", type="reader", role="gate", room=made["room"].code),
        DeviceCreate(id="hh-1", type="scanner"),
        DeviceCreate(id="th-1", type="sensor", room=made["room"].code, report_interval_s=60),
    ):
        devices.register(session, spec, actor="t")
    session.commit()
    return made


@pytest.fixture
def told(db):
    """told(kind) -> the news committed to the outbox since the test began, of that kind."""
    with Session(db) as s:
        start = news.latest(s)

    def since(kind: str | None = None) -> list[dict]:
        with Session(db) as s:
            return [c.data for c in news.after(s, start, limit=100_000)
                    if kind is None or c.kind == kind]

    return since


@pytest.fixture
def ingest(db):
    worker = Ingest(db, scheme=SCHEME, status_ttl_s=0)
    worker.start()
    yield worker
    worker.stop()


def reads(device: str, *pairs, seq: int | None = None, ts=None) -> TagReads:
    """pairs of (epc, antenna, rssi, count)."""
    return TagReads(device, ts or now(), seq, tuple(TagRead(e, a, r, c) for e, a, r, c in pairs))


def see_what_ingest_committed(session: Session) -> None:
    """End the session's read transaction (a snapshot on SQLite) and forget what it loaded."""
    session.rollback()
    session.expire_all()


def box_row(session: Session, box: Box) -> Box:
    see_what_ingest_committed(session)
    return session.get(Box, box.id)


def test_a_shelf_read_places_the_box_and_records_the_move(session, room, ingest, told):
    box = room["boxes"][0]
    ingest.submit(reads("shelf-1", (box.epc, 1, -48.0, 3), seq=1))
    assert ingest.drain()
    row = box_row(session, box)
    assert row.location_id == room["slot1"].id and row.status == "on_shelf"
    move = session.exec(select(Movement).where(Movement.box_id == box.id)).one()
    assert (move.reason, move.by_device, move.to_id) == ("rfid", "shelf-1", room["slot1"].id)
    [moved] = told("box")
    assert (moved["code"], moved["location"], moved["status"]) == (
        box.code, room["slot1"].code, "on_shelf")


def test_a_weak_one_off_cross_read_does_not_move_a_box(session, room, ingest):
    box = room["boxes"][0]
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 4), seq=1))
    ingest.submit(reads("shelf-1", (box.epc, 1, -46.0, 4), (box.epc, 2, -71.0, 1), seq=2))
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 4), seq=3))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot1"].id
    assert session.exec(select(Movement).where(Movement.box_id == box.id)).all().__len__() == 1


def test_heard_by_two_antennas_the_stronger_repeated_read_wins(session, room, ingest):
    box = room["boxes"][0]
    ingest.submit(reads("shelf-1", (box.epc, 1, -70.0, 1), (box.epc, 2, -44.0, 5), seq=1))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot2"].id


def test_a_box_moved_to_the_next_shelf_follows_once_the_old_one_goes_quiet(session, room, ingest):
    box = room["boxes"][0]
    start = now() - timedelta(seconds=30)
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 5), seq=1, ts=start))
    # someone moved it: the next round hears it on shelf 2 only
    ingest.submit(reads("shelf-1", (box.epc, 2, -46.0, 3), seq=2, ts=start + timedelta(seconds=10)))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot1"].id  # one quiet round is not enough
    ingest.submit(reads("shelf-1", (box.epc, 2, -45.0, 4), seq=3, ts=start + timedelta(seconds=20)))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot2"].id


def test_redelivered_messages_are_counted_once(session, room, ingest):
    box = room["boxes"][0]
    message = reads("shelf-1", (box.epc, 1, -45.0, 2), seq=7)
    for _ in range(3):
        ingest.submit(message)
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").reads_total == 1
    assert ingest.counters.duplicates == 2
    restarted = reads("shelf-1", (box.epc, 1, -45.0, 2), seq=7, ts=now() + timedelta(seconds=1))
    ingest.submit(restarted)  # same seq after a device restart, later ts: not a duplicate
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").reads_total == 2


def test_the_gate_raises_unauthorized_removal_without_a_loan(session, room, ingest, told):
    box = room["boxes"][1]
    ingest.submit(reads("gate-1", (box.epc, 1, -50.0, 2), seq=1))
    ingest.submit(reads("gate-1", (box.epc, 1, -50.0, 2), seq=2))
    assert ingest.drain()
    alarm = session.exec(select(Alarm).where(Alarm.kind == "unauthorized_removal")).one()
    assert alarm.subject == box.code and alarm.state == "active" and "Room 1" in alarm.message
    assert [a["id"] for a in told("alarm")] == [alarm.id]  # told once
    on_loan = box_row(session, room["boxes"][2])
    on_loan.status = "on_loan"
    session.add(on_loan)
    session.commit()
    ingest.submit(reads("gate-1", (on_loan.epc, 1, -50.0, 2), seq=3))
    assert ingest.drain()
    assert session.exec(select(Alarm).where(Alarm.kind == "unauthorized_removal")).all().__len__() == 1


def test_scan_a_location_then_boxes_and_a_full_slot_is_refused(session, room, ingest, told):
    b1, b2, _ = room["boxes"]
    for n, code in enumerate((room["slot1"].code, b1.code, b2.code), start=1):
        ingest.submit(Scan("hh-1", now(), n, code, "wang"))
    assert ingest.drain()
    results = [r for r in told("scan") if r["device"] == "hh-1"]
    assert [r["action"] for r in results[:2]] == ["target", "moved"]
    assert len(results) == 3
    assert results[2]["ok"] is False and "is full" in results[2]["message"]
    assert b1.code in results[2]["message"]
    assert box_row(session, b1).location_id == room["slot1"].id
    assert box_row(session, b2).location_id is None
    move = session.exec(select(Movement).where(Movement.box_id == b1.id)).one()
    assert (move.reason, move.by_user, move.by_device) == ("scan", "wang", "hh-1")


def test_a_box_before_any_location_is_refused_with_what_to_do(session, room, ingest, told):
    ingest.submit(Scan("hh-1", now(), 1, room["boxes"][0].code, None))
    assert ingest.drain()
    [answer] = told("scan")
    assert "scan a location first" in answer["message"]


def test_climate_is_stored_and_impossible_values_are_kept_as_rejects(session, room, ingest):
    ingest.submit(ClimateReading("th-1", now(), 1, 19.5, 52.0))
    ingest.submit(ClimateReading("th-1", now(), 2, 120.0, 52.0))
    ingest.submit(ClimateReading("th-1", now(), 3, 20.0, 104.0))
    assert ingest.drain()
    samples = session.exec(select(ClimateSample)).all()
    assert [(s.temperature_c, s.humidity_pct, s.room_id) for s in samples] == [
        (19.5, 52.0, room["room"].id)]
    reasons = sorted(r.reason for r in session.exec(select(DeviceReject)))
    assert len(reasons) == 2 and all("physically impossible" in r for r in reasons)
    assert any("120" in r for r in reasons) and any("104" in r for r in reasons)


def test_unusable_input_is_kept_and_good_input_around_it_lands(session, room, ingest):
    box = room["boxes"][0]
    ingest.submit(Reject("archive/v1/readers/shelf-1/reads", "shelf-1", b"{not json", "not JSON", now()))
    ingest.submit(reads("ghost-9", (box.epc, 1, -45.0, 3), seq=1))
    ingest.submit(reads("shelf-1", ("3034257BF7194E4000001A85", 1, -45.0, 3), seq=1))
    ingest.submit(reads("shelf-1", (box.epc, 7, -45.0, 3), seq=2))
    ingest.submit(ClimateReading("shelf-1", now(), 3, 20.0, 50.0))
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 3), seq=4))
    assert ingest.drain()
    reasons = [r.reason for r in session.exec(select(DeviceReject).order_by(DeviceReject.id))]
    assert reasons[0] == "not JSON"
    assert "unknown device 'ghost-9'" in reasons[1]
    assert "unknown EPC" in reasons[2] and "3034257BF7194E4000001A85" in reasons[2]
    assert "antenna(s) [7]" in reasons[3]
    assert "not a sensor" in reasons[4]
    assert box_row(session, box).location_id == room["slot1"].id
    listed, total = devices.list_rejects(session, device="ghost-9")
    assert total == 1 and listed[0].first_bytes.startswith("{")


def test_silent_and_missing_are_found_by_the_jobs_and_cleared_when_heard(session, room, ingest):
    box = room["boxes"][0]
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 3), seq=1))
    ingest.submit(ClimateReading("th-1", now(), 1, 20.0, 50.0))
    assert ingest.drain()
    ingest.stop()  # writes the last-seen times
    later = now() + timedelta(minutes=30)
    twin.mark_silent_devices(session, at=later)
    twin.mark_missing_boxes(session, older_than=timedelta(minutes=10), at=later)
    session.commit()
    assert session.get(Device, "th-1").state == "offline"
    assert box_row(session, box).status == "missing"
    kinds = {a.kind for a in session.exec(select(Alarm).where(Alarm.state == "active"))}
    assert kinds == {"sensor_offline", "box_missing"}  # th-1 is a climate sensor
    ingest.start()
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 3), seq=2))
    ingest.submit(ClimateReading("th-1", now(), 2, 20.0, 50.0))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert box_row(session, box).status == "on_shelf"
    assert session.get(Device, "th-1").state == "online"
    assert session.exec(select(Alarm).where(Alarm.state == "active")).all() == []


def test_status_messages_and_last_will_set_the_device_state(session, room, ingest):
    ingest.submit(DeviceStatus("shelf-1", "offline", now()))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").state == "offline"
    assert session.exec(select(Alarm).where(Alarm.kind == "device_offline")).one().subject == "shelf-1"
    ingest.submit(DeviceStatus("shelf-1", "online", now()))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").state == "online"
    assert session.exec(select(Alarm).where(Alarm.state == "active")).all() == []


def test_a_box_in_a_slot_stays_there_when_its_shelf_antenna_hears_it(session, ingest, room):
    shelf_slot = room["slot1"]
    shelf = session.get(Location, shelf_slot.parent_id)
    devices.register(session, DeviceCreate(id="shelf-2", type="reader", role="shelf",
                                           antennas={"1": shelf.code}), actor="t")
    box = room["boxes"][0]
    boxes.move_box(session, box.code, to=shelf_slot.code, user="t")
    session.commit()
    ingest._registry_at = -1e9  # registered a moment ago
    ingest.submit(reads("shelf-2", (box.epc, 1, -45.0, 5), seq=1))
    assert ingest.drain()
    assert box_row(session, box).location_id == shelf_slot.id


def test_two_workers_counting_for_one_reader_lose_nothing(session, room, db):
    """Two ingest workers (a shared subscription splits one stream) count into one device."""
    box = room["boxes"][0]
    workers = [Ingest(writing(db), scheme=SCHEME, batch_max=5, linger_s=0) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        for seq in range(200):
            workers[seq % 2].submit(reads("shelf-1", (box.epc, 1, -45.0, 2), (box.epc, 1, -46.0, 1),
                                          seq=seq))
        assert all(worker.drain(30) for worker in workers)
    finally:
        for worker in workers:
            worker.stop()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").reads_total == 400


def test_a_corrected_antenna_map_places_boxes_by_the_new_map(session, room, ingest, told, monkeypatch):
    import server.ingest

    monkeypatch.setattr(server.ingest, "REGISTRY_TTL_S", 0.0)  # reread the registry each batch
    first, box = room["boxes"][0], room["boxes"][1]
    ingest.submit(reads("shelf-1", (first.epc, 1, -45.0, 4), seq=1))
    assert ingest.drain()
    assert box_row(session, first).location_id == room["slot1"].id
    # the installer finds the cables swapped: antenna 1 covers slot 2, antenna 2 slot 1
    see_what_ingest_committed(session)
    devices.correct(session, "shelf-1", DeviceUpdate(
        antennas={"1": room["slot2"].code, "2": room["slot1"].code}), actor="installer")
    session.commit()
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 4), seq=2))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot2"].id


def test_a_retired_device_is_announced_offline_and_what_it_sends_later_is_a_reject(
        session, room, ingest, told):
    box = room["boxes"][0]
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 4), seq=1))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1").state == "online"
    devices.retire(session, "shelf-1", actor="installer")
    session.commit()
    assert [d["state"] for d in told("device") if d["id"] == "shelf-1"][-1] == "offline"
    ingest.submit(reads("shelf-1", (box.epc, 2, -45.0, 4), seq=2))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.get(Device, "shelf-1") is None
    [reject] = session.exec(select(DeviceReject).where(DeviceReject.device == "shelf-1")).all()
    assert "not registered" in reject.reason or "unknown" in reject.reason
    assert box_row(session, box).location_id == room["slot1"].id  # it moved nothing
    assert not session.exec(select(Alarm).where(Alarm.subject == "shelf-1",
                                                Alarm.state == "active")).all()


def test_a_lent_box_a_shelf_reader_settles_on_a_shelf_is_returned_no_ghost_loan(
        session, room, ingest, told):
    """The ghost loan through RFID: a box out on a request comes back onto a shelf unscanned."""
    from server.models.audit import AuditEntry
    from server.models.lending import HoldCreate, LendingRequest, RequestCreate
    from server.models.loans import Loan
    from server.services import holds, loans, people, requests

    box = room["boxes"][0]
    boxes.move_box(session, box.code, to=room["slot1"].code, user="t")
    borrower = people.create_user(session, username="li.wei", password="secret-pw-1",
                                  role="borrower", clearance="internal")
    waiting = people.create_user(session, username="wang.fang", password="secret-pw-2",
                                 role="borrower", clearance="internal")
    request = requests.submit(session, RequestCreate(boxes=[box.code], purpose="audit",
                                                     mode="take_away"), borrower=borrower)
    requests.approve(session, request.id, due_on=None, actor="archivist",
                     policy=requests.DEFAULT_POLICY)
    _, loan = loans.check_out(session, box.code, request_id=request.id, actor="desk",
                              policy=requests.DEFAULT_POLICY)
    hold = holds.place(session, HoldCreate(box=box.code), borrower=waiting)
    session.commit()
    loan_id, request_id, hold_id = loan.id, request.id, hold.id

    # At the door on its way out: expected, no alarm.
    ingest.submit(reads("gate-1", (box.epc, 1, -50.0, 2), seq=1))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.exec(select(Alarm).where(Alarm.kind == "unauthorized_removal")).all() == []
    assert box_row(session, box).status == "on_loan"

    # Back, put on shelf 2 by someone who did not scan it: the reader hears it there.
    ingest.submit(reads("shelf-1", (box.epc, 2, -45.0, 4), seq=2))
    assert ingest.drain()
    row = box_row(session, box)
    assert (row.status, row.location_id) == ("on_shelf", room["slot2"].id)
    ended = session.get(Loan, loan_id)
    assert ended.returned_at is not None and ended.returned_by == "shelf-1"
    assert session.get(LendingRequest, request_id).state == "returned"
    assert loans.open_loan(session, row) is None
    returned = session.exec(select(AuditEntry).where(AuditEntry.action == "return",
                                                     AuditEntry.entity_id == box.code)).one()
    assert returned.actor == "shelf-1"
    assert [h["id"] for h in told("hold")] == [hold_id]
    assert told("box")[-1]["status"] == "on_shelf"
    assert told("box")[-1]["location"] == room["slot2"].code

    # Heard again at the door, now not on loan: that is an unauthorized removal.
    ingest.submit(reads("gate-1", (box.epc, 1, -50.0, 2), seq=3))
    assert ingest.drain()
    see_what_ingest_committed(session)
    assert session.exec(select(Alarm).where(Alarm.kind == "unauthorized_removal",
                                            Alarm.subject == box.code)).one()


def test_a_box_marked_on_loan_without_an_open_loan_is_still_placed(session, room, ingest):
    """No loan to end (a status set by hand): the reader's batch still lands."""
    box = box_row(session, room["boxes"][1])
    box.status = "on_loan"
    session.add(box)
    session.commit()
    ingest.submit(reads("shelf-1", (box.epc, 1, -45.0, 4), seq=1))
    assert ingest.drain()
    assert box_row(session, box).location_id == room["slot1"].id
