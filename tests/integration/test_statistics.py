"""Statistics (统计) of a small known archive: counts, clearance, exports, pages, roles."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from server.clock import now
from server.services import statistics
from tests.conftest import PASSWORD
from tests.integration.tree import build_tree

RECORDS = (
    # reference, category, year, retention, classification, fonds, box index (None: no box)
    ("WS·2023·Y·0001", "WS", 2023, "permanent", "public", "X001", 0),
    ("WS·2023·D30·0001", "WS", 2023, "30y", "internal", "X001", 0),
    ("WS·2024·D10·0001", "WS", 2024, "10y", "confidential", "X001", 1),
    ("KJ·2024·Y·0001", "KJ", 2024, "permanent", "secret", "X002", 2),
    ("KJ·2024·D30·0001", "KJ", 2024, "30y", "internal", "X002", None),
)


@pytest.fixture
def archive(client, auth):
    """Two rooms (capacity 4 and 3), four boxes, five records, two loans (one returned)."""
    admin, staff = auth("admin"), auth("staff")
    codes = build_tree(client, admin)
    room2 = client.post("/api/locations", headers=admin,
                        json={"name": "二号库房", "kind": "room", "parent": None}).json()["code"]
    client.post("/api/locations", headers=admin,
                json={"name": "Slot 9", "kind": "slot", "parent": room2, "capacity": 3})
    boxes = []
    for slot in (codes["Slot 1"], codes["Slot 1"], codes["Slot 2"], None):
        box = client.post("/api/boxes", headers=admin, json={"home": slot}).json()["code"]
        if slot:
            assert client.post(f"/api/boxes/{box}/move", headers=staff,
                               json={"to": slot}).status_code == 200
        boxes.append(box)
    for ref, series, year, retention, classification, fonds, box in RECORDS:
        made = client.post("/api/records", headers=admin, json={
            "reference_code": ref, "title": f"题名 {ref}", "series": series, "year": year,
            "retention": retention, "classification": classification, "fonds": fonds,
            "box": boxes[box] if box is not None else None})
        assert made.status_code == 201, made.text
    auth("borrower", "internal")
    auth("archivist")
    due = (now().date() + timedelta(days=14)).isoformat()
    lent = client.post(f"/api/boxes/{boxes[0]}/loan", headers=staff,
                       json={"borrower": "borrower-internal", "due_on": due})
    assert lent.status_code == 201, lent.text
    assert client.post(f"/api/boxes/{boxes[0]}/return", headers=staff,
                       json={"to": codes["Slot 1"]}).status_code == 200
    lent = client.post(f"/api/boxes/{boxes[1]}/loan", headers=staff,
                       json={"borrower": "archivist-default", "due_on": due})
    assert lent.status_code == 201, lent.text
    return {"boxes": boxes, "room1": codes["room"], "room2": room2}


def _counts(body: dict) -> dict:
    return {row["key"]: row["count"] for row in body["rows"]}


def test_holdings_by_each_dimension_for_an_admin(client, auth, archive):
    admin = auth("admin")

    def by(dimension: str) -> dict:
        answer = client.get("/api/statistics/holdings", headers=admin, params={"by": dimension})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["name"] == "holdings" and body["total"] == 5
        return _counts(body)

    assert by("fonds") == {"X001": 3, "X002": 2}
    assert by("category") == {"WS": 3, "KJ": 2}
    assert by("year") == {2023: 2, 2024: 3}
    assert list(by("classification").items()) == [
        ("public", 1), ("internal", 2), ("confidential", 1), ("secret", 1)]
    assert list(by("retention").items()) == [("permanent", 2), ("30y", 2), ("10y", 1)]
    # the returned box is back on its shelf, the other is out, one record has no box
    assert by("status") == {"on_shelf": 3, "on_loan": 1, "unboxed": 1}
    year = client.get("/api/statistics/holdings", headers=admin,
                      params={"by": "category", "year": 2024}).json()
    assert _counts(year) == {"WS": 1, "KJ": 2}


def test_counts_leave_out_what_the_clearance_may_not_see(client, auth, archive, session):
    staff = auth("staff")  # internal
    body = client.get("/api/statistics/holdings", headers=staff,
                      params={"by": "classification"}).json()
    assert _counts(body) == {"public": 1, "internal": 2} and body["total"] == 3
    archivist = auth("archivist")  # confidential: no secret row, not even a zero
    body = client.get("/api/statistics/holdings", headers=archivist,
                      params={"by": "fonds"}).json()
    assert _counts(body) == {"X001": 3, "X002": 1} and body["total"] == 4
    body = client.get("/api/statistics/holdings", headers=archivist,
                      params={"by": "classification"}).json()
    assert "secret" not in _counts(body)
    # a borrower's clearance (public) counts one record, whatever the dimension
    for dimension in statistics.HOLDINGS_BY:
        figure = statistics.holdings(session, by=dimension, clearance="public")
        assert figure.total == 1, dimension
    assert statistics.holdings(session, by="status", clearance="public").rows == [
        {"key": "on_shelf", "count": 1}]


def test_loans_per_month_and_per_borrower_group(client, auth, archive):
    staff = auth("staff")
    month = now().strftime("%Y-%m")
    body = client.get("/api/statistics/loans", headers=staff).json()
    assert body["rows"] == [{"key": month, "count": 2, "open": 1}] and body["total"] == 2
    body = client.get("/api/statistics/loans", headers=staff, params={"by": "group"}).json()
    assert body["rows"] == [{"key": "archivist", "count": 1, "open": 1},
                            {"key": "borrower", "count": 1, "open": 0}]
    year = client.get("/api/statistics/loans", headers=staff,
                      params={"year": now().year}).json()
    assert len(year["rows"]) == 12 and _counts(year)[month] == 2 and year["total"] == 2
    assert client.get("/api/statistics/loans", headers=staff,
                      params={"year": now().year - 5}).json()["total"] == 0


def test_occupancy_and_free_capacity_per_room(client, auth, archive):
    body = client.get("/api/statistics/occupancy", headers=auth("staff")).json()
    rows = {row["key"]: row for row in body["rows"]}
    assert rows[archive["room1"]] | {"name": "Room 1"} == {
        "key": archive["room1"], "name": "Room 1", "count": 2, "capacity": 4, "free": 2,
        "percent": 50.0}
    assert rows[archive["room2"]]["name"] == "二号库房"
    assert (rows[archive["room2"]]["count"], rows[archive["room2"]]["free"]) == (0, 3)
    assert body["total"] == 2 and body["totals"] == {"capacity": 7, "free": 5}


def test_unknown_figures_and_breakdowns_are_refused(client, auth, archive):
    staff = auth("staff")
    answer = client.get("/api/statistics/budget", headers=staff)
    assert answer.status_code == 404 and "holdings" in answer.json()["detail"]
    answer = client.get("/api/statistics/holdings", headers=staff, params={"by": "colour"})
    assert answer.status_code == 422 and answer.json()["field"] == "by"


def test_csv_and_xlsx_exports_open_and_match(client, auth, archive):
    admin = auth("admin")
    params = {"by": "classification"}
    body = client.get("/api/statistics/holdings", headers=admin, params=params).json()
    answer = client.get("/api/statistics/holdings.csv", headers=admin, params=params)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert lines[0] == ["key", "count"]
    assert lines[1:-1] == [[row["key"], str(row["count"])] for row in body["rows"]]
    assert lines[-1] == ["total", "5"]

    answer = client.get("/api/statistics/holdings.xlsx", headers=admin, params=params)
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert [[str(c) for c in row] for row in cells] == lines

    answer = client.get("/api/statistics/occupancy.xlsx", headers=admin)
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    names = [row[1] for row in sheet.iter_rows(values_only=True)]
    assert "二号库房" in names


def test_roles_staff_and_above_borrowers_refused(client, auth, archive):
    for role in ("admin", "archivist", "staff"):
        assert client.get("/api/statistics/holdings", headers=auth(role)).status_code == 200
    for role in ("borrower", "facilities"):
        for path in ("/api/statistics/holdings", "/api/statistics/loans.csv",
                     "/api/statistics/occupancy.xlsx"):
            assert client.get(path, headers=auth(role)).status_code == 403, (role, path)
    assert client.get("/api/statistics/holdings").status_code == 401


def _sign_in(client, username: str) -> None:
    answer = client.post("/signin", data={"username": username, "password": PASSWORD},
                         headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert answer.status_code == 303


def test_the_statistics_page_draws_each_figure_in_english_and_chinese(client, auth, archive):
    auth("staff")
    _sign_in(client, "staff-default")
    page = client.get("/statistics?lang=en")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/statistics" aria-current="page">Statistics</a>' in html
    assert html.count('<svg class="chart"') == len(statistics.HOLDINGS_BY) + 3
    assert '<title id="chart-holdings-classification-title">Holdings by classification</title>' in html
    assert "<title>Internal: 2</title>" in html and "Confidential" not in html.split(
        'id="chart-holdings-classification-section"')[1].split("</section>")[0]
    assert 'href="/statistics/holdings.csv?by=fonds"' in html
    assert "Annual report" in html

    html = client.get("/statistics?lang=zh").text
    assert "统计分析" in html and "按密级统计馆藏" in html and "<title>内部: 2</title>" in html
    assert "WS · 文书" in html and "二号库房" in html and "<title>借阅人: 1</title>" in html


def test_page_exports_say_the_keys_in_the_pages_language(client, auth, archive):
    auth("archivist")
    _sign_in(client, "archivist-default")
    answer = client.get("/statistics/holdings.csv?by=retention&lang=zh")
    assert answer.status_code == 200
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert lines[0] == ["代码", "保管期限", "件数"]
    # confidential clearance: the secret permanent record is not counted
    assert lines[1:] == [["permanent", "永久", "1"], ["30y", "30年", "2"], ["10y", "10年", "1"],
                         ["合计", "", "4"]]
    answer = client.get("/statistics/holdings.xlsx?by=retention&lang=zh")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    assert [["" if c is None else str(c) for c in row]
            for row in sheet.iter_rows(values_only=True)] == lines
    assert client.get("/statistics/budget.csv").status_code == 404


def test_the_annual_report_is_a_pdf_with_chinese_text(client, auth, archive):
    import pypdfium2

    auth("admin")
    _sign_in(client, "admin-default")
    year = now().year
    answer = client.get(f"/statistics/report.pdf?year={year}&lang=zh")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(answer.content)
    assert len(pdf) >= 1
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert f"{year}年度档案工作年报" in text
    assert "按门类统计" in text and "二号库房" in text and "机密" in text
    english = client.get(f"/statistics/report.pdf?year={year}&lang=en").content
    text = "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(english))
    assert f"Annual report {year}" in text and "Loans per month" in text


def test_the_page_is_for_staff_and_above(client, auth, archive):
    auth("borrower", "internal")
    _sign_in(client, "borrower-internal")
    assert client.get("/statistics").status_code == 403
    assert client.get("/statistics/report.pdf").status_code == 403
    assert "/statistics" not in client.get("/find").text


def test_values_nobody_listed_yet_are_counted_after_the_known_ones(client, auth, archive, session):
    from sqlmodel import select

    from server.models.holdings import Record

    # as a register imported by a newer version might leave them: a retention and a level
    # this version has no words for
    first, second = session.exec(select(Record).order_by(Record.id).limit(2)).all()
    first.retention, second.classification = "5y", "cosmic"
    session.commit()
    body = client.get("/api/statistics/holdings", headers=auth("admin"),
                      params={"by": "retention"}).json()
    assert [row["key"] for row in body["rows"]] == ["permanent", "30y", "10y", "5y"]
    # an admin's clearance (top_secret) does not cover the unknown level: it is left out
    assert body["total"] == 4
    _sign_in(client, "admin-default")
    html = client.get("/statistics?lang=zh").text
    assert "<title>5y: 1</title>" in html
