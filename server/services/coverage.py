"""Antenna coverage: which shelf antenna's place covers a location, and so when a box is home.

A shelf reader's antenna is usually mapped to a shelf while boxes sit in its slots: a box the
antenna hears is placed at the shelf (`placement`), and it is at home all the same. The
deepest covering antenna wins, as in `Placement.cover`.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.models.devices import Device
from server.models.places import Location


def at_home(session: Session, *, location: str | None, home: str | None) -> bool:
    """Whether a box at `location` (a code) is at its `home`: at the home itself, or at the
    place of the shelf antenna covering the home, where a reader that heard it put it."""
    if home is None or location == home:
        return True
    if location is None:
        return False
    mapped = {code for (antennas,) in session.execute(
        select(Device.antennas).where(Device.role == "shelf")) for code in (antennas or {}).values()}
    if location not in mapped:
        return False
    places = {code: lineage for code, lineage in session.execute(
        select(Location.code, Location.lineage).where(col(Location.code).in_(mapped | {home})))}
    home_lineage = places.get(home)
    if home_lineage is None:
        return False
    covering = [code for code, lineage in places.items()
                if code in mapped and home_lineage.startswith(lineage)]
    return bool(covering) and max(covering, key=lambda code: len(places[code])) == location
