"""In a real browser: an archivist describes a record, corrects it, attaches a PDF and sees
its four-property check; imports a Chinese register with one bad row after reading the
row-by-row report; a borrower finds none of these pages; reloads never post twice."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from sqlmodel import Session, func, select

from server.models.description import RegisterImport
from server.models.holdings import Record, RecordCreate
from server.services import people, records
from tests.e2e.conftest import CHROMIUM, PASSWORD

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)
expect = pytest.importorskip("playwright.sync_api").expect

REGISTER = (
    "档号,题名,年度,保管期限,密级,责任者,日期,页数,全宗号,备注\n"
    "WS·2023·Y·0001,关于2023年度档案工作的报告,2023,永久,内部,办公室,20230105,3,X001,\n"
    "WS·2023·D30·0001,第一次办公会议纪要,2023,定期30年,公开,办公室,2023-02-01,2页,X001,\n"
    "WS·2023·D30·0002,关于调整作息时间的通知,2023,30年,内部,人事处,2023年3月1日,1,X001,\n"
    "WS·2023·D10·0001,一份期限写错的文件,2023,长久,内部,办公室,20230401,1,X001,期限待查\n"
)


@pytest.fixture
def people_here(live_server):
    """An archivist cleared to 机密, an archivist cleared to 内部, and a borrower."""
    with Session(live_server.app.state.writer) as session:
        people.create_user(session, username="ada", password=PASSWORD, role="archivist",
                           clearance="secret", full_name="王档案")
        people.create_user(session, username="low", password=PASSWORD, role="archivist",
                           clearance="internal")
        people.create_user(session, username="bo", password=PASSWORD, role="borrower",
                           clearance="internal")
        records.create_record(session, RecordCreate(
            reference_code="WS·2024·Y·0900", title="机密文件", year=2024, classification="secret"),
            actor="test")
        session.commit()


def _count(live_server, **where) -> int:
    with Session(live_server.engine) as session:
        query = select(func.count()).select_from(Record)
        for name, value in where.items():
            query = query.where(getattr(Record, name) == value)
        return session.exec(query).one()


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    sheet = canvas.Canvas(out)
    sheet.drawString(72, 720, "Minutes of the archive committee, 2024")
    sheet.save()
    return out.getvalue()


def test_an_archivist_creates_edits_uploads_and_checks(open_page, live_server, people_here,
                                                        tmp_path):
    box = live_server.archive.boxes[1]
    page = open_page("ada")
    page.goto("/")
    expect(page.locator("#console-nav")).to_contain_text("New record")
    page.locator("#console-nav").get_by_text("New record").click()

    # Written as a register writes it; a retention nobody uses is refused beside its field.
    page.locator("#f-title").fill("2024年档案工作会议纪要")
    page.locator("#f-fonds").fill("X001")
    page.locator("#f-category").fill("WS")
    page.locator("#f-year").fill("2024")
    page.locator("#f-retention").fill("for ever")
    page.locator("#f-date").fill("20240315")
    page.locator("#f-pages").fill("12页")
    page.locator("#f-creator").fill("办公室")
    page.locator("#f-box").fill(box)
    page.locator("#save-record").click()
    expect(page.locator("#retention-error")).to_contain_text("cannot read retention")
    expect(page.locator("#f-title")).to_have_value("2024年档案工作会议纪要")
    expect(page.locator("#f-pages")).to_have_value("12页")
    color = page.locator("#retention-error").evaluate("e => getComputedStyle(e).color")
    assert color != page.locator("#f-title").evaluate("e => getComputedStyle(e).color")

    page.locator("#f-retention").fill("定期30年")
    page.locator("#save-record").click()
    expect(page).to_have_url(re.compile(r"/records/WS%C2%B72024%C2%B7D30%C2%B70001$"))
    expect(page.locator("h1")).to_have_text("2024年档案工作会议纪要")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("30 years")
    expect(facts).to_contain_text("2024-03-15")
    expect(facts).to_contain_text(box)
    page.reload()  # the redirect was a GET: reloading creates nothing more
    assert _count(live_server, title="2024年档案工作会议纪要") == 1

    # Correcting: a retention that disagrees with the 档号 is refused next to it, values kept.
    page.locator("#edit-record").click()
    expect(page.locator("#f-retention")).to_have_value("30 years")
    page.locator("#f-title").fill("2024年档案工作会议纪要（修订）")
    page.locator("#f-retention").fill("永久")
    page.locator("#save-record").click()
    expect(page.locator("#retention-error")).to_contain_text("D30")
    expect(page.locator("#f-title")).to_have_value("2024年档案工作会议纪要（修订）")
    page.locator("#f-retention").fill("30年")
    page.locator("#f-classification").select_option("confidential")
    page.locator("#save-record").click()
    expect(page.locator("h1")).to_have_text("2024年档案工作会议纪要（修订）")
    expect(page.locator("dl.facts")).to_contain_text("Confidential")
    page.reload()
    assert _count(live_server, title="2024年档案工作会议纪要（修订）") == 1

    # An electronic copy, checked as it arrives; then a DA/T 70 check over the record.
    pdf = tmp_path / "会议纪要.pdf"
    pdf.write_bytes(_pdf())
    page.locator("#record-copies").click()
    expect(page.locator("#no-copies")).to_be_visible()
    expect(page.locator("#no-check")).to_be_visible()
    page.locator("#f-file").set_input_files(str(pdf))
    page.locator("#upload-copy").click()
    expect(page).to_have_url(re.compile(r"/copies$"))
    row = page.locator("#copy-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("会议纪要.pdf")
    expect(row).to_contain_text("Passed")
    expect(row).to_contain_text("Authenticity: pass")
    page.reload()
    expect(page.locator("#copy-list tbody tr")).to_have_count(1)

    page.locator("#run-check").click()
    expect(page.locator("#check-summary")).to_contain_text("by ada")
    expect(page.locator("#check-items")).to_contain_text("档号 unique")
    report = page.request.get(page.locator("#check-summary a").get_attribute("href"))
    assert report.status == 200 and report.body().startswith(b"%PDF")
    page.goto(page.url.split("#")[0] + "?lang=zh")
    expect(page.locator("#check-items")).to_contain_text("档号重复性检测")
    expect(page.locator("#check-items")).to_contain_text("真实性")


def test_an_archivist_imports_a_chinese_register(open_page, live_server, people_here, tmp_path):
    register = tmp_path / "2023年文书档案归档目录.csv"
    register.write_text(REGISTER, encoding="utf-8-sig")
    page = open_page("ada", locale="zh-CN")
    page.goto("/import")
    expect(page.locator("h1")).to_have_text("导入登记表")
    page.locator("#f-file").set_input_files(str(register))
    page.locator("#check-register").click()

    # The report, row by row, before anything is written.
    expect(page).to_have_url(re.compile(r"/import/[A-Za-z0-9_-]+$"))
    expect(page.locator("#import-summary")).to_have_text(
        "共 4 行：新建 3，更新 0，无变化 0，拒绝 1。")
    for number in (2, 3, 4):
        expect(page.locator(f"#row-{number}")).to_contain_text("新建")
    bad = page.locator("#row-5")
    expect(bad).to_contain_text("拒绝")
    expect(bad.locator(".field-error")).to_contain_text("保管期限“长久”")
    expect(bad.locator(".field-error")).to_contain_text("无法识别保管期限")
    assert _count(live_server, year=2023) == 0
    page.reload()
    expect(page.locator("#import-summary")).to_contain_text("新建 3")
    held = page.url

    page.locator("#commit-import").click()
    expect(page).to_have_url(re.compile(r"/import\?done=\d+$"))
    written = page.locator("#import-done ul.written")
    expect(written).to_contain_text("WS·2023·D30·0002")
    expect(written.locator("li")).to_have_count(3)
    page.reload()
    with Session(live_server.engine) as session:
        assert session.exec(select(func.count()).select_from(RegisterImport)).one() == 1
    assert _count(live_server, year=2023) == 3
    assert _count(live_server, reference_code="WS·2023·D30·0002", retention="30y") == 1

    page.goto("/find?q=" + quote("WS-2023-D30-0002"))  # typed as a keyboard wedge types it
    expect(page.locator("h1")).to_have_text("关于调整作息时间的通知")
    expect(page.locator("dl.facts")).to_contain_text("30年")
    expect(page.locator("dl.facts")).to_contain_text("人事处")

    # The held register went with its commit: posting it again imports nothing twice.
    again = page.request.post(held + "/commit", headers={"Origin": live_server.url})
    assert again.status == 404
    with Session(live_server.engine) as session:
        assert session.exec(select(func.count()).select_from(RegisterImport)).one() == 1


def test_a_cancelled_import_writes_nothing(open_page, live_server, people_here, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    page = open_page("ada")
    page.goto("/import")
    page.locator("#f-file").set_input_files(str(register))
    page.locator("#check-register").click()
    held = page.url
    page.locator("#cancel-import").click()
    expect(page).to_have_url(re.compile(r"/import$"))
    assert page.goto(held).status == 404
    assert _count(live_server, year=2023) == 0


def test_these_pages_do_not_exist_for_borrowers_nor_above_clearance(open_page, live_server,
                                                                      people_here):
    secret = "/records/" + quote("WS·2024·Y·0900", safe="")
    mine = "/records/" + quote(live_server.archive.records[0], safe="")
    borrower = open_page("bo")
    for path in ("/records/new", "/import", mine + "/edit", mine + "/copies"):
        assert borrower.goto(path).status == 403, path
    expect(borrower.locator("header")).not_to_contain_text("Import")
    answer = borrower.request.post(live_server.url + mine + "/edit",
                                   form={"title": "changed"}, headers={"Origin": live_server.url})
    assert answer.status == 403

    low = open_page("low")
    for path in (secret + "/edit", secret + "/copies"):
        assert low.goto(path).status == 404, path
    answer = low.request.post(live_server.url + secret + "/checks", form={"stage": "filing"},
                              headers={"Origin": live_server.url})
    assert answer.status == 404
    # An archivist may not give a record a classification above their own clearance.
    low.goto(mine + "/edit")
    options = low.locator("#f-classification option").all_inner_texts()
    assert "Secret" not in options and "Internal" in options


def test_an_import_reaches_no_higher_than_the_importer(open_page, live_server, people_here,
                                                       tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("档号,题名,年度,保管期限,密级\n"
                        "WS·2024·Y·0900,覆盖机密文件,2024,永久,内部\n"
                        "WS·2024·Y·0901,新的机密文件,2024,永久,机密\n"
                        "WS·2024·Y·0902,普通文件,2024,永久,内部\n", encoding="utf-8")
    page = open_page("low")
    page.goto("/import")
    page.locator("#f-file").set_input_files(str(register))
    page.locator("#check-register").click()
    expect(page.locator("#row-2")).to_contain_text("already exists")
    expect(page.locator("#row-3")).to_contain_text("above your clearance")
    expect(page.locator("#row-4")).to_contain_text("create")
    page.locator("#commit-import").click()
    expect(page).to_have_url(re.compile(r"/import\?done=\d+$"))
    assert _count(live_server, title="机密文件") == 1  # the secret record is as it was
    assert _count(live_server, reference_code="WS·2024·Y·0901") == 0
    assert _count(live_server, reference_code="WS·2024·Y·0902") == 1
