"""The reports page: every report the archive makes, one line each, linked where it is made.

Nothing is rendered here: each link goes to the page or API route that makes the report. API
routes are reached with the sign-in cookie (server/api/deps.py accepts it for same-origin
reads), so a signed-in person follows them like any page link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response

from dashboard.pages import MOVERS, Page, PageRefused, page_for, render
from server.services import boxes, checks, locations, records, security
from server.services.errors import NotFound
from server.services.statistics import HOLDINGS_BY

router = APIRouter(include_in_schema=False)
# Whoever may see statistics (the statistics page's MOVERS): archivists, admins and staff.
ReportPage = Annotated[Page, Depends(page_for(*MOVERS))]
RECENT_CHECKS = 5


@dataclass(frozen=True)
class Link:
    """One way to get a report: where, and what the link says."""

    href: str
    said: str


@dataclass(frozen=True)
class Report:
    """One report the archive makes: its name, one line on what it is, and its links."""

    ident: str
    name: str
    about: str
    links: list[Link]
    form: str | None = None  # a report of one box or record: asks for its code


def _reports(page: Page) -> list[Report]:
    t, session = page.t, page.session
    by = HOLDINGS_BY[0]
    shown = [
        Report("statistics", t("reports.statistics"), t("reports.statistics_about"), [
            Link("/statistics", t("reports.open_page")),
            Link(f"/statistics/holdings.csv?by={by}", t("reports.csv")),
            Link(f"/statistics/holdings.xlsx?by={by}", t("reports.xlsx")),
        ]),
        Report("annual", t("reports.annual"), t("reports.annual_about"), [
            Link("/statistics/report.pdf", t("reports.pdf")),
        ]),
    ]
    rooms, _ = locations.list_locations(session, kind="room", limit=50)
    room_links = [Link(f"/climate/{room.code}/report.pdf",
                       t("reports.climate_room", room=room.name)) for room in rooms]
    shown.append(Report("climate", t("reports.climate"), t("reports.climate_about"),
                        [Link("/climate", t("reports.open_page")), *room_links]))
    stored = checks.of_scope(session, limit=RECENT_CHECKS)
    shown.append(Report("checks", t("reports.checks"), t("reports.checks_about"), [
        Link(f"/api/checks/{check.id}/report.pdf?lang={page.lang}",
             t("reports.check_of", id=check.id)) for check in stored
    ]))
    shown.append(Report("forms", t("reports.forms"), t("reports.forms_about"), [
        Link("/api/forms/catalogue.pdf", t("reports.catalogue")),
        Link("/api/forms/filing-stamps.pdf", t("reports.filing_stamps")),
    ], form="box"))
    shown.append(Report("picklist", t("reports.picklist"), t("reports.picklist_about"), [
        Link("/picklist.pdf", t("reports.pdf")), Link("/desk", t("reports.open_page")),
    ]))
    shown.append(Report("labels", t("reports.labels"), t("reports.labels_about"), [
        Link("/labels", t("reports.open_page")),
    ]))
    if page.person.role in security.ARCHIVISTS:  # the API lets only them export packages
        shown.append(Report("packages", t("reports.packages"), t("reports.packages_about"), [],
                            form="record"))
    return shown


@router.get("/reports")
def reports_page(page: ReportPage) -> Response:
    """Every report the archive makes, each with its links and what it is for."""
    return render(page, "reports.html", reports=_reports(page), errors={}, form={})


CodeText = Annotated[str, Query(max_length=200)]


@router.get("/reports/record-sheet")
def record_sheet(page: ReportPage, box: CodeText = "") -> Response:
    """A box's 备考表: from its code on the reports page to the API's PDF of it."""
    try:
        found = boxes.by_code(page.session, box.strip())
    except NotFound as exc:
        return render(page, "reports.html", status=404 if box.strip() else 422,
                      reports=_reports(page), form={"box": box},
                      errors={"box": page.say(exc) if box.strip() else page.t("labels.need_box")})
    return RedirectResponse(f"/api/boxes/{found.code}/record-sheet.pdf", status_code=303)


@router.get("/reports/package")
def package(page: ReportPage, record: CodeText = "") -> Response:
    """A record's EEP package: from its reference code to the API's XML of it."""
    if page.person.role not in security.ARCHIVISTS:
        raise PageRefused("forbidden")
    try:
        found = records.by_reference(page.session, record.strip(),
                                     clearance=page.person.clearance)
    except NotFound as exc:
        return render(page, "reports.html", status=404 if record.strip() else 422,
                      reports=_reports(page), form={"record": record},
                      errors={"record": page.say(exc) if record.strip()
                              else page.t("reports.need_record")})
    return RedirectResponse(f"/api/records/{quote(found.reference_code, safe='')}/package",
                            status_code=303)
