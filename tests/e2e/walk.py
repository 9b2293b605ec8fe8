"""Every GET page of the dashboard, with its path parameters filled: for tests that walk them all.

tests/e2e/test_small_screens.py (in the browser) and tests/e2e/test_chinese_pages.py (over
HTTP) walk the same pages; a new page with a path parameter needs a value in pages()'s fill.
"""

from __future__ import annotations

import re

from starlette.routing import Route

# Pages that are not pages: the live stream, files, forms' targets.
NOT_PAGES = re.compile(r"^/(events|fonts/|static/|signout|s/)")


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
              f"/whereis?code={archive.boxes[0]}", f"/requests/new?box={archive.boxes[1]}"]
    return sorted(set(paths))


def one_of_each(live_server) -> dict[str, str]:
    """A box lent to someone with a long name, a stocktake and a request, so pages have rows;
    returns what fills the pages' path parameters: path pattern -> value."""
    from datetime import timedelta

    from sqlmodel import Session

    from server.clock import now
    from server.models.lending import RequestCreate
    from server.models.loans import LoanCreate
    from server.models.stocktakes import StocktakeCreate
    from server.services import loans, people, requests, stocktake

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
        session.commit()
        return {"/stocktakes/{stocktake_id}": str(counting.id),
                "/requests/{request_id}": str(asked.id)}
