"""Every GET page of the dashboard, with its path parameters filled: for tests that walk them all.

tests/e2e/test_small_screens.py (in the browser) and tests/e2e/test_chinese_pages.py (over
HTTP) walk the same pages; a new page with a path parameter needs a value in pages()'s fill.
"""

from __future__ import annotations

import re

from starlette.routing import Route

# Pages that are not pages: the live stream, files, forms' targets.
# (/labels/print and the reports' record-sheet and package forms answer files, not pages;
# /people/ is the borrower picker's JSON.)
NOT_PAGES = re.compile(r"^/(events|fonts/|static/|signout|s/|labels/print|reports/record-sheet"
                       r"|reports/package|people/)")


def routes(found_in) -> list[Route]:
    """The routes of the app, those of its included routers too."""
    found: list[Route] = []
    for route in found_in:
        if isinstance(route, Route):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included router
            found.extend(routes(route.original_router.routes))
    return found


def pages(live_server, seeded: dict[str, str]) -> list[str]:
    """Every GET page the dashboard serves, its path parameters filled from the seeded archive."""
    archive = live_server.archive
    fill = {
        "/boxes/{code}": archive.boxes[0],
        "/locations/{code}": archive.places["Slot 1"],
        "/records/{reference_code}": archive.records[1],
        "/climate/{code}": archive.places["Room 1"],
        "/rooms/{code}": archive.places["Room 1"],
        **seeded,
    }
    paths = []
    for route in routes(live_server.app.routes):
        if "GET" not in (route.methods or ()):
            continue
        if route.include_in_schema or NOT_PAGES.match(route.path) or route.path.endswith((".pdf", ".csv", ".xlsx")):
            continue
        path = re.sub(r":path\}", "}", route.path)
        if "{" not in path:
            paths.append(path)
            continue
        key = next((k for k in fill if path.startswith(k)), None)
        assert key is not None, f"teach this test a value for the page {route.path}"
        paths.append(path.replace(key, key.split("{")[0] + fill[key]))
    assert "/" in paths and "/find" in paths  # the walk found the pages
    # and the pages with something in them: results, a loan
    paths += [f"/find?q={archive.records[1]}", "/find?q=ledger", "/loans?show=all",
              f"/whereis?code={archive.boxes[0]}", f"/requests/new?box={archive.boxes[1]}",
              # labels (issue 13): a preview of a box's and of a shelf's labels
              f"/labels?what=box&box={archive.boxes[0]}&show=1",
              f"/labels?what=locations&location={archive.places['Shelf 1']}&show=1",
              f"/rooms/{archive.places['Room 1']}/plan?unit={archive.places['Unit 01']}"]
    return sorted(set(paths))


def one_of_each(live_server) -> dict[str, str]:
    """A box lent to someone with a long name, a stocktake and a request, so pages have rows;
    returns what fills the pages' path parameters: path pattern -> value."""
    from datetime import timedelta

    from sqlmodel import Session

    from server.clock import now
    from server.models.devices import DeviceCreate
    from server.models.lending import RequestCreate
    from server.models.loans import LoanCreate
    from server.models.stocktakes import StocktakeCreate
    from server.services import devices, loans, people, requests, stocktake

    with Session(live_server.engine) as session:
        borrower = people.create_user(session, username="ouyang.xiaoling.records-office", password="x" * 12,
                           role="borrower", clearance="internal", full_name="欧阳晓玲 (Records Office, Finance Dept.)")
        loans.lend(session, live_server.archive.boxes[0], LoanCreate(
            borrower="ouyang.xiaoling.records-office", due_on=now().date() + timedelta(days=7),
            purpose="audit of the 2001 general ledger and its supporting vouchers"), actor="ann")
        counting = stocktake.start(session, StocktakeCreate(
            scope=live_server.archive.places["Shelf 1"]), actor="ann")
        asked = requests.submit(session, RequestCreate(
            boxes=[live_server.archive.boxes[2]], purpose="核对2001年总账及其记账凭证 / ledger check"),
            borrower=borrower)
        # admin console (issue 13): a shelf reader with a map, and a person's page
        devices.register(session, DeviceCreate(
            id="shelf-reader-room1-unit01-side-a", type="reader", role="shelf",
            room=live_server.archive.places["Room 1"],
            antennas={"1": live_server.archive.places["Slot 1"],
                      "2": live_server.archive.places["Slot 2"]}), actor="ann")
        session.commit()
        ids = {"/stocktakes/{stocktake_id}": str(counting.id),
               "/requests/{request_id}": str(asked.id),
               "/devices/{device_id}": "shelf-reader-room1-unit01-side-a",
               "/users/{username}": "ouyang.xiaoling.records-office"}
    # records console (issue 13): a register held between its report and its commit
    from dashboard.import_pages import held_registers

    register = ("档号,题名,年度,保管期限,密级,责任者\n"
                "WS·2023·D30·0001,关于调整作息时间和值班安排的通知（全体职工）,2023,定期30年,内部,"
                "办公室人事处\nWS·2023·D30·0002,坏行,2023,长久,内部,办公室\n").encode()
    token = held_registers(live_server.app.state.settings).hold(
        register, owner="ann", file_name="2023年文书档案归档目录（第一批）.csv", create_missing=False)
    return {**ids, "/import/{token}": token}
