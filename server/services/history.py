"""Movement history as people read it: codes instead of ids."""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.models.holdings import Box, Movement, MovementPublic
from server.models.places import Location
from server.services import security


def present_movements(session: Session, moves: list[Movement], *,
                      role: str) -> list[MovementPublic]:
    """Movements with box and location codes (one query each for all); who moved a box as
    this role may see it (borrowers see "staff", not a name)."""
    box_ids = {m.box_id for m in moves}
    loc_ids = {i for m in moves for i in (m.from_id, m.to_id) if i}
    box_codes = dict(session.exec(select(Box.id, Box.code).where(col(Box.id).in_(box_ids))).all()) if box_ids else {}
    loc_codes = dict(
        session.exec(select(Location.id, Location.code).where(col(Location.id).in_(loc_ids))).all()
    ) if loc_ids else {}
    return [
        MovementPublic(
            box=box_codes[m.box_id], from_location=loc_codes.get(m.from_id),
            to_location=loc_codes.get(m.to_id), at=m.at, by_user=security.actor_shown(m.by_user, role),
            by_device=m.by_device, reason=m.reason,
        )
        for m in moves
    ]
