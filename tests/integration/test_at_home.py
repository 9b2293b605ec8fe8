"""'At home': at the home slot, or at the shelf whose antenna covers it, as a reader put it."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from server.models.devices import DeviceCreate
from server.models.holdings import BoxCreate
from server.models.places import LocationCreate
from server.services import boxes, devices, locations
from tests.conftest import SCHEME
from tests.integration.test_ingest_rules import box_row, ingest, reads  # noqa: F401 (fixture)


@pytest.fixture
def shelves(session: Session) -> dict:
    """Two shelves of two slots; shelf 1's reader antenna covers the whole shelf, shelf 2 has
    none. A box whose home is slot 1 of shelf 1 stands on shelf 2."""
    made: dict = {}
    parent = None
    for name, kind in (("Room 1", "room"), ("Unit 01", "unit"), ("A", "side"),
                       ("Section 1", "section")):
        parent = locations.create_location(
            session, LocationCreate(name=name, kind=kind, parent=parent and parent.code),
            scheme=SCHEME, actor="t")
    for n in (1, 2):
        shelf = locations.create_location(
            session, LocationCreate(name=f"Shelf {n}", kind="shelf", parent=parent.code),
            scheme=SCHEME, actor="t")
        made[f"shelf{n}"] = shelf
        for m in (1, 2):
            made[f"shelf{n}-slot{m}"] = locations.create_location(
                session, LocationCreate(name=f"Slot {m}", kind="slot", parent=shelf.code,
                                        capacity=4), scheme=SCHEME, actor="t")
    box = boxes.create_box(session, BoxCreate(home=made["shelf1-slot1"].code), scheme=SCHEME,
                           actor="t")
    boxes.move_box(session, box.code, to=made["shelf2-slot1"].code, user="t")
    made["box"] = box
    devices.register(session, DeviceCreate(id="shelf-r1", type="reader", role="shelf",
                                           antennas={"1": made["shelf1"].code}), actor="t")
    session.commit()
    return made


def shown(session: Session, box):
    [public] = boxes.present(session, [box_row(session, box)], scheme=SCHEME, clearance="public")
    return public


def test_a_box_the_home_shelfs_antenna_heard_is_at_home(session, shelves, ingest):  # noqa: F811
    box = shelves["box"]
    assert not shown(session, box).at_home  # on another shelf
    ingest.submit(reads("shelf-r1", (box.epc, 1, -47.0, 4), seq=1))
    assert ingest.drain()
    now_shown = shown(session, box)
    assert now_shown.location == shelves["shelf1"].code  # the reader put it at its shelf
    assert now_shown.home == shelves["shelf1-slot1"].code
    assert now_shown.at_home


def test_the_home_slot_is_home_and_a_neighbour_slot_or_an_uncovered_shelf_is_not(session, shelves):
    box = shelves["box"]
    for place, home in (("shelf1-slot1", True), ("shelf1-slot2", False), ("shelf2", False)):
        boxes.move_box(session, box.code, to=shelves[place].code, user="t")
        session.commit()
        assert shown(session, box).at_home is home, place


def test_a_box_without_a_home_is_never_away(session, shelves):
    other = boxes.create_box(session, BoxCreate(), scheme=SCHEME, actor="t")
    boxes.move_box(session, other.code, to=shelves["shelf2"].code, user="t")
    session.commit()
    assert shown(session, other).at_home
