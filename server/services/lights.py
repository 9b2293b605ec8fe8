"""Shelf lights: the command that lights a place, or the place a box is in.

The service writes the command as news; the publisher sends it on `lights/{location}/set`
once the request commits (server/publisher.py).
"""

from __future__ import annotations

from sqlmodel import Session

from server.models.places import LightRequest, LightSent, Location
from server.services import boxes, locations, news
from server.services.errors import Conflict


def for_location(session: Session, code: str, request: LightRequest) -> LightSent:
    """The command for the light at this location (NotFound when there is none)."""
    return _command(session, locations.by_code(session, code), request)


def for_box(session: Session, code: str, request: LightRequest) -> LightSent:
    """The command for the light where this box is; Conflict when it is on no shelf now."""
    box = boxes.by_code(session, code)
    place = session.get(Location, box.location_id) if box.location_id else None
    if place is None:
        raise Conflict("box {code} is {status} and on no shelf: there is no light to switch",
                       code=box.code, status=box.status.replace('_', ' '))
    return _command(session, place, request)


def _command(session: Session, place: Location, request: LightRequest) -> LightSent:
    sent = LightSent(location=place.code, path=place.path, on=request.on, color=request.color,
                     seconds=request.seconds if request.on else 0)
    news.tell(session, news.LightSet(location=sent.location, on=sent.on, color=sent.color,
                                     seconds=sent.seconds))
    return sent
