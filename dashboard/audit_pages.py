"""The audit log page of the admin console: filter the log, and verify its hash chain.

Reading follows the API (archivists and admins, entries about records above one's clearance
left out and counted); verifying walks the whole chain, which the API leaves to admins.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from dashboard.pages import Page, page_for, render
from server.services import audit, people, security

router = APIRouter(include_in_schema=False)

ArchivistPage = Annotated[Page, Depends(page_for(*security.ARCHIVISTS))]
PAGE_SIZE = 50
FILTERS = ("actor", "action", "entity", "code", "since", "until")


def _day(text: str) -> date | None:
    """A date typed in a filter (YYYY-MM-DD), or None when blank; ValueError when not one."""
    return date.fromisoformat(text.strip()) if text.strip() else None


@router.get("/audit")
def audit_page(page: ArchivistPage, actor: str = "", action: str = "", entity: str = "",
               code: str = "", since: str = "", until: str = "", verify: str = "",
               offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """The audit log, newest first, filtered; with ?verify=1 (admins) the chain's check."""
    typed = {"actor": actor, "action": action, "entity": entity, "code": code,
             "since": since, "until": until}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        try:
            days[name] = _day(typed[name])
        except ValueError:
            errors[name] = page.t("audit.bad_day")
    if errors:
        return render(page, "audit.html", status=422, form=typed, errors=errors, entries=[],
                      total=0, hidden=0, offset=0, page_size=PAGE_SIZE, base="/audit?",
                      check=None, may_verify=page.person.role in security.ADMINS,
                      verify_url="/audit?verify=1")
    # Days are read as UTC days, the zone the page prints times in.
    start = datetime.combine(days["since"], time(), UTC) if days["since"] else None
    end = datetime.combine(days["until"], time(), UTC) + timedelta(days=1) \
        if days["until"] else None
    rows, total, hidden = audit.history(
        page.session, clearance_levels=people.clearance_levels(page.person.clearance),
        entity=entity.strip() or None, entity_id=code.strip() or None,
        actor=actor.strip() or None, action=action.strip() or None, since=start, before=end,
        limit=PAGE_SIZE, offset=offset)
    may_verify = page.person.role in security.ADMINS
    check = None
    if verify and may_verify:
        checked, broken = audit.verify(page.session)
        check = {"checked": checked, "broken": broken, "head": audit.newest(page.session)}
    kept = {k: v for k, v in typed.items() if v}
    # the hashed form of a change, Chinese kept as written (not \u escapes)
    return render(page, "audit.html", said=audit.canonical, form=typed, errors={},
                  entries=rows, total=total, hidden=hidden, offset=offset, page_size=PAGE_SIZE,
                  base="/audit?" + (urlencode(kept) + "&" if kept else ""), check=check,
                  may_verify=may_verify, verify_url="/audit?" + urlencode({**kept, "verify": 1}))
