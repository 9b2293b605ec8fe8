"""Nothing lost, nothing doubled: the outbox, duplicates in the database, failed batches, acks."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from devices.events import Scan, TagRead, TagReads
from server.clock import as_utc, now
from server.ingest import Ingest
from server.leader import Duty, Leadership
from server.models.devices import Device, DeviceCreate, DeviceReject
from server.models.holdings import Box, BoxCreate
from server.models.places import LocationCreate
from server.services import boxes, devices, locations, news
from tests.conftest import SCHEME


@pytest.fixture
def shelf(session: Session) -> dict:
    """A room with one shelf of two slots, a shelf reader over them, a scanner, ten boxes."""
    made: dict = {}
    parent = None
    for name, kind in (("Room 1", "room"), ("Unit 01", "unit"), ("A", "side"),
                       ("Section 1", "section"), ("Shelf 1", "shelf")):
        parent = locations.create_location(
            session, LocationCreate(name=name, kind=kind, parent=parent and parent.code),
            scheme=SCHEME, actor="t")
        made[kind] = parent
    for n in (1, 2):
        made[f"slot{n}"] = locations.create_location(
            session, LocationCreate(name=f"Slot {n}", kind="slot", parent=made["shelf"].code),
            scheme=SCHEME, actor="t")
    made["boxes"] = [boxes.create_box(session, BoxCreate(), scheme=SCHEME, actor="t")
                     for _ in range(10)]
    devices.register(session, DeviceCreate(
        id="shelf-1", type="reader", role="shelf",
        antennas={"1": made["slot1"].code, "2": made["slot2"].code}), actor="t")
    devices.register(session, DeviceCreate(id="hh-1", type="scanner"), actor="t")
    session.commit()
    return made


def reads(box: Box, seq: int | None, *, antenna: int = 1, ts=None) -> TagReads:
    return TagReads("shelf-1", ts or now(), seq, (TagRead(box.epc, antenna, -45.0, 3),))


def reads_total(db) -> int:
    with Session(db) as s:
        return s.get(Device, "shelf-1").reads_total


@pytest.fixture
def ingest(db):
    worker = Ingest(db, scheme=SCHEME, status_ttl_s=0)
    worker.start()
    yield worker
    worker.stop()


# -- the outbox --------------------------------------------------------------------------


def test_news_commits_and_rolls_back_with_its_change(db, shelf):
    box = shelf["boxes"][0]
    with Session(db) as s:
        start = news.latest(s)
        boxes.move_box(s, box.code, to=shelf["slot1"].code, user="wang")
        s.rollback()  # the move is undone: so is its news
        boxes.move_box(s, box.code, to=shelf["slot2"].code, user="wang")
        with s.begin_nested() as inner:  # a refused step inside a savepoint takes its news along
            boxes.move_box(s, shelf["boxes"][1].code, to=shelf["slot1"].code, user="wang")
            inner.rollback()
        s.commit()
        told = news.after(s, start)
    assert [(c.kind, c.data["code"], c.data["location"]) for c in told] == [
        ("box", box.code, shelf["slot2"].code)]
    assert told[0].id == start + 1


def test_news_from_concurrent_writers_is_numbered_without_gaps_in_commit_order(db, shelf):
    """A reader following the outbox while four writers commit never meets a gap."""
    with Session(db) as s:
        start = news.latest(s)
    per_writer, writers = 40, 4
    done = threading.Event()
    seen: list[int] = []
    gaps: list[tuple[int, int]] = []

    def write(n: int) -> None:
        for i in range(per_writer):
            with Session(db) as s:
                news.tell(s, news.DeviceRejected(device=f"w{n}", reason=f"{i}"),
                          news.DeviceRejected(device=f"w{n}", reason=f"{i}b"))
                s.commit()

    def follow() -> None:
        position = start
        while True:
            finished = done.is_set()
            with Session(db) as s:
                fresh = news.after(s, position)
            for c in fresh:
                if c.id != position + 1:
                    gaps.append((position, c.id))
                position = c.id
                seen.append(c.id)
            if finished and not fresh:
                return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    follower = threading.Thread(target=follow)
    follower.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    follower.join(30)
    assert gaps == []
    assert seen == list(range(start + 1, start + 1 + 2 * per_writer * writers))
    with Session(db) as s:
        told = news.after(s, start, limit=10_000)
    # the two pieces of one transaction stay together, in the order they were told
    pairs = [(told[i].data, told[i + 1].data) for i in range(0, len(told), 2)]
    assert all(a["device"] == b["device"] and b["reason"] == a["reason"] + "b" for a, b in pairs)


def test_delivered_news_is_forgotten_but_not_what_a_reader_still_needs(db, shelf):
    with Session(db) as s:
        before = news.latest(s)  # the boxes' own news
        for i in range(5):
            news.tell(s, news.DeviceRejected(device="x", reason=str(i)))
            s.commit()
        newest = news.latest(s)
        news.advance(s, "mqtt", newest - 2)
        s.commit()
        gone = news.prune(s, before=now() + timedelta(seconds=1))
        s.commit()
        left = [c.data.get("reason") for c in news.after(s, 0)]
    assert gone == before + 3
    assert left == ["3", "4"]  # not yet published: kept


# -- ingest --------------------------------------------------------------------------------


def test_a_redelivery_after_a_restart_is_counted_once(db, shelf):
    box = shelf["boxes"][0]
    message = reads(box, 7)
    first = Ingest(db, scheme=SCHEME)
    first.start()
    first.submit(message)
    first.stop()
    again = Ingest(db, scheme=SCHEME)  # the restarted server: nothing in memory
    again.start()
    again.submit(message)
    again.submit(reads(box, 1, ts=message.ts + timedelta(seconds=5)))  # the device restarted
    again.stop()
    assert reads_total(db) == 2  # one read in each message
    assert again.counters.duplicates == 1


def test_two_workers_given_the_same_messages_count_each_once(db, shelf):
    batch = [reads(b, i) for i, b in enumerate(shelf["boxes"], 1)]
    workers = [Ingest(db, scheme=SCHEME, batch_max=3, linger_s=0) for _ in range(2)]
    for w in workers:
        w.start()
    for message in batch:
        for w in workers:
            w.submit(message)
    for w in workers:
        w.stop()
    assert reads_total(db) == len(batch)
    assert sum(w.counters.duplicates for w in workers) == len(batch)


def test_a_failed_batch_loses_no_good_message_and_keeps_the_bad_one(db, shelf, ingest):
    """A message the database cannot take fails its batch; every other one still lands."""
    good = [reads(b, i) for i, b in enumerate(shelf["boxes"], 1)]
    # A seq past 64 bits (the codec refuses it; ingest must survive it all the same).
    poisoned = reads(shelf["boxes"][0], 2**64 + 5)
    ingest.linger_s = 0.5  # one batch for all of them
    for message in good[:5]:
        ingest.submit(message)
    ingest.submit(poisoned)
    for message in good[5:]:
        ingest.submit(message)
    assert ingest.drain()
    assert ingest.counters.failed_batches == 1
    assert reads_total(db) == len(good)
    with Session(db) as s:
        [reject] = s.exec(select(DeviceReject)).all()  # kept with its reason and its bytes
    assert reject.device == "shelf-1" and "could not be applied" in reject.reason
    assert str(2**64 + 5).encode() in reject.raw
    assert ingest.counters.duplicates == 0


def test_a_scan_with_text_no_database_stores_is_answered_or_kept(db, shelf, ingest):
    ingest.submit(Scan("hh-1", now(), 1, "B0000\ud8000001", "wang\x00"))
    ingest.submit(reads(shelf["boxes"][0], 1))
    assert ingest.drain()
    assert reads_total(db) == 1
    with Session(db) as s:
        answered = [c for c in news.after(s, 0) if c.kind == "scan"]
        kept = s.exec(select(DeviceReject).where(DeviceReject.device == "hh-1")).all()
    assert len(answered) + len(kept) == 1
    assert answered == [] or answered[0].data["ok"] is False


def test_seq_up_to_two_to_the_63_is_stored_on_both_databases(db, shelf, ingest):
    box = shelf["boxes"][0]
    ingest.submit(reads(box, 2**63 - 1))
    ingest.submit(reads(box, 2**31))
    assert ingest.drain()
    assert reads_total(db) == 2
    with Session(db) as s:
        assert s.get(Device, "shelf-1").last_seq in (2**63 - 1, 2**31)


def test_a_device_clock_far_ahead_is_refused_and_old_times_are_kept(db, shelf, ingest):
    box = shelf["boxes"][0]
    ingest.submit(reads(box, 1, ts=now() + timedelta(days=365 * 73)))
    ingest.submit(reads(box, 2, ts=now() - timedelta(hours=6)))  # catching up after an outage
    assert ingest.drain()
    assert reads_total(db) == 1
    with Session(db) as s:
        [reject] = s.exec(select(DeviceReject).where(DeviceReject.device == "shelf-1")).all()
        device = s.get(Device, "shelf-1")
    assert "ahead of the server clock" in reject.reason
    assert as_utc(device.last_seen_at) < now()


def test_a_message_is_acknowledged_only_once_its_effect_is_committed(db, shelf, ingest):
    box = shelf["boxes"][0]
    at_ack: list[int | None] = []

    def ack() -> None:  # what another process would see at the moment of the PUBACK
        with Session(db) as s:
            at_ack.append(s.get(Device, "shelf-1").reads_total)

    ingest.submit(reads(box, 1), ack)
    assert ingest.drain()
    assert at_ack == [1]


# -- the leader ----------------------------------------------------------------------------


def test_one_leader_at_a_time_and_another_takes_over_when_it_stops(db):
    ran: list[str] = []
    first = Leadership(db, [Duty("a", lambda: ran.append("a+"), lambda: ran.append("a-"))],
                       retry_s=0.1)
    second = Leadership(db, [Duty("b", lambda: ran.append("b+"), lambda: ran.append("b-"))],
                        retry_s=0.1)
    first.start()
    second.start()
    try:
        assert first.leading.is_set() and not second.leading.is_set()
        first.stop()
        assert second.leading.wait(5)
    finally:
        second.stop()
    assert ran == ["a+", "a-", "b+", "b-"]
