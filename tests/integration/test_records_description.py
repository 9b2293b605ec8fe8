"""Records as Chinese archives keep them: registers as written (Chinese headers, every value
form, GB18030 and BOM), 档号 per DA/T 13/22, the fifth 密级, the DA/T 70 four-property
check, and DA/T 48 EEP packages between two archives."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient
from pypdf import PdfReader, PdfWriter
from sqlmodel import Session

from server import cli
from server.app import create_app
from server.db import make_engine, migrate
from server.models.description import CheckRequest
from server.services import checks, people
from server.services.copies import CopyStore
from server.settings import Settings
from tests.conftest import PASSWORD, SCHEME
from tests.integration.test_copies import make_pdf, make_png, upload

# As an office's 文书 archivist writes a register: Chinese headers, codes in the DA/T 22
# form, every way of writing 保管期限, 密级 and 开放标识.
ZH_REGISTER = (
    "全宗号,档号,题名,年度,日期,责任者,文号,保管期限,密级,开放标识,页数,备注,成文单位\n"
    "X013,WS·2024·Y·0001,关于2024年度档案工作的通知,2024,20240115,办公室,办发〔2024〕1号,永久,公开,开放,3,,办公室\n"
    "X013,WS·2024·Y·0002,关于印发安全生产制度的通知,2024,2024-02-03,安监科,,Y,GK,open,5,,安监科\n"
    "X013,WS·2024·D30·0001,2024年第一季度工作简报,2024,2024年4月2日,办公室,,定期30年,内部,控制,2,,办公室\n"
    "X013,WS·2024·D30·0002,会议纪要（第3期）,2024,20240410,办公室,,D30,XZ,controlled,4,,办公室\n"
    "X013,WS·2024·D30·0003,人事任免文件,2024,20240501,人事科,,30年,秘密,延期开放,1,,人事科\n"
    "X013,WS·2024·D30·0004,年度预算报告,2024,20240601,财务科,,30 years,MM,delayed,8,,财务科\n"
    "X013,WS·2024·D10·0001,办公用品采购请示,2024,20240702,办公室,,定期10年,机密★10年,未审核,1,,办公室\n"
    "X013,WS·2024·D10·0002,来访登记表,2024,20240801,保卫科,,D10,JM,unreviewed,6,,保卫科\n"
    "X013,WS·2024·D10·0003,值班记录,2024,20240901,保卫科,,10年,UM,控制,2,,保卫科\n"
    "X013,WS·2024·D10·0004,车辆使用登记,2024,20241001,办公室,,10 years,绝密,控制,2,,办公室\n"
    "X013,WS·2024·D5·0001,临时通知,2024,20241101,办公室,,定期5年,内部,开放,1,,办公室\n"
)
EN_REGISTER = (
    "reference_code,title,year,date,creator,retention,classification,access,pages,note\n"
    "KJ·2023·Y·0001,Site survey of building 2,2023,2023-05-06,Works office,permanent,public,open,12,\n"
    "KJ·2023·D30·0001,Maintenance log,2023,2023-06-07,Works office,30y,internal,controlled,30,\n"
    "KJ·2023·D10·0001,Visitor passes,2023,2023-07-08,Security,10y,confidential,delayed,2,\n"
)


def post(client, headers, data: bytes, name="目录.csv", **extra):
    return client.post("/api/imports", headers={**headers, **extra},
                       files={"file": (name, data)})


def record(client, headers, ref):
    answer = client.get(f"/api/records/{ref}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_chinese_register_in_gb18030_imports_with_every_value_form(client, auth):
    admin = auth("admin")
    answer = post(client, admin, ZH_REGISTER.encode("gb18030"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["created"] == 11 and report["problems"] == [] and report["import"]
    again = post(client, admin, ZH_REGISTER.encode("gb18030")).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 11)
    longer = ZH_REGISTER.replace("机密★10年", "机密★20年").encode("gb18030")
    assert post(client, admin, longer).json()["updated"] == 1
    assert record(client, admin, "WS·2024·D10·0001")["classification_term"] == "20年"
    assert post(client, admin, ZH_REGISTER.encode("gb18030")).json()["updated"] == 1

    first = record(client, admin, "WS·2024·Y·0001")
    assert (first["retention"], first["classification"], first["access"]) == (
        "permanent", "public", "open")
    assert first["date"] == "2024-01-15" and first["creator"] == "办公室"
    assert first["pages"] == 3 and first["document_number"] == "办发〔2024〕1号"
    assert first["fonds"] == "X013" and first["category"] == "WS" and first["item"] == 1
    assert first["metadata"] == {"成文单位": "办公室"}  # a column of its own stays metadata
    seen = {ref: record(client, admin, ref) for ref in (
        "WS·2024·Y·0002", "WS·2024·D30·0001", "WS·2024·D30·0002", "WS·2024·D30·0003",
        "WS·2024·D30·0004", "WS·2024·D10·0001", "WS·2024·D10·0002", "WS·2024·D10·0003",
        "WS·2024·D10·0004", "WS·2024·D5·0001")}
    assert {r["retention"] for ref, r in seen.items() if "D30" in ref} == {"30y"}
    assert {r["retention"] for ref, r in seen.items() if "D10" in ref} == {"10y"}
    assert (seen["WS·2024·D5·0001"]["retention"], seen["WS·2024·D5·0001"]["retention_years"]) == (
        "custom", 5)
    assert [seen[r]["classification"] for r in ("WS·2024·Y·0002", "WS·2024·D30·0001",
            "WS·2024·D30·0002", "WS·2024·D30·0003", "WS·2024·D30·0004", "WS·2024·D10·0001",
            "WS·2024·D10·0002", "WS·2024·D10·0003", "WS·2024·D10·0004")] == [
        "public", "internal", "internal", "confidential", "confidential", "secret", "secret",
        "top_secret", "top_secret"]
    assert seen["WS·2024·D10·0001"]["classification_term"] == "10年"
    assert [seen[r]["access"] for r in ("WS·2024·D30·0001", "WS·2024·D30·0003",
                                         "WS·2024·D10·0001")] == ["controlled", "delayed",
                                                                  "unreviewed"]
    # the titles are searchable afterwards, and 绝密 only for those cleared for it
    found = client.get("/api/records", headers=admin, params={"q": "值班"}).json()
    assert [r["reference_code"] for r in found["items"]] == ["WS·2024·D10·0003"]
    secret_only = auth("archivist", "secret")
    assert client.get("/api/records", headers=secret_only, params={"q": "值班"}).json()["total"] == 0
    assert client.get("/api/records/WS·2024·D10·0003", headers=secret_only).status_code == 404


def test_an_english_register_with_a_bom_and_an_xlsx_are_read_alike(client, auth):
    admin = auth("archivist")
    answer = post(client, admin, ("\ufeff" + EN_REGISTER).encode("utf-8"), name="register.csv")
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 3
    assert record(client, admin, "KJ·2023·D10·0001")["access"] == "delayed"


def test_a_register_with_a_duplicate_a_disagreeing_code_and_a_word_it_cannot_read(client, auth):
    admin = auth("admin")
    bad = (
        "档号,题名,年度,保管期限,密级,开放标识\n"
        "WS·2024·Y·0001,通知,2024,永久,公开,开放\n"
        "WS·2024·Y·0001,通知（重复）,2024,永久,公开,开放\n"       # row 3: the same 档号
        "WS·2024·Y·0002,请示,2024,定期30年,内部,开放\n"          # row 4: Y in the code, 30 years
        "WS·2023·Y·0003,报告,2024,永久,内部,开放\n"              # row 5: 2023 in the code
        "WS·2024·Y·0004,纪要,2024,长久,特密,公开\n"              # row 6: three unreadable words
    ).encode("utf-8-sig")
    answer = post(client, admin, bad, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert answer.status_code == 422
    problems = {(p["row"], p["column"]): p for p in answer.json()["problems"]}
    assert (3, "档号") in problems
    retention = problems[(4, "保管期限")]
    assert retention["message"] == "档号 WS·2024·Y·0002：档号中的保管期限为 Y（永久），而保管期限栏为 定期30年"
    assert problems[(5, "年度")]["message"] == "档号 WS·2023·Y·0003：档号中的年度为 2023，而年度栏为 2024"
    english = post(client, admin, bad).json()["problems"]
    assert any("says year 2023 but the year column says 2024" in p["message"] for p in english)
    assert "定期30年" in problems[(6, "保管期限")]["message"]  # the forms it takes, in Chinese
    assert problems[(6, "保管期限")]["message"].startswith("无法识别")
    assert "绝密" in problems[(6, "密级")]["message"] and (6, "开放标识") in problems
    assert client.get("/api/records", headers=admin).json()["total"] == 0


def test_a_gap_in_numbering_is_reported_and_codes_are_built_from_a_template(client, auth):
    admin = auth("admin")
    gap = ("档号,题名,年度,保管期限\n"
           "WS·2024·Y·0001,一,2024,永久\nWS·2024·Y·0002,二,2024,永久\nWS·2024·Y·0004,四,2024,永久\n")
    report = post(client, admin, gap.encode()).json()
    assert report["imported"] and report["gaps"] == [{"class": "WS·2024·Y", "missing": [3]}]

    assert client.post("/api/fonds", headers=admin, json={
        "code": "Z109", "name": "某市档案局", "archive_code": "433001"}).status_code == 201
    template = client.put("/api/fonds/Z109/templates/WS", headers=admin, json={
        "category": "WS", "pattern": "{fonds}-{category}·{year}·{retention}·{org}-{item}"})
    assert template.status_code == 200, template.text
    built = client.post("/api/records", headers=admin, json={
        "title": "办公室工作总结", "fonds": "Z109", "category": "WS", "year": 2011,
        "retention": "永久"})
    assert built.status_code == 201, built.text
    assert built.json()["reference_code"] == "Z109-WS·2011·Y-0001"
    again = client.post("/api/records", headers=admin, json={
        "title": "第二件", "fonds": "Z109", "category": "WS", "year": 2011, "retention": "Y"})
    assert again.json()["reference_code"] == "Z109-WS·2011·Y-0002"
    refused = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2011·Y·0009", "title": "x", "fonds": "Z109", "year": 2011})
    assert refused.status_code == 422 and refused.json()["field"] == "reference_code"
    fonds = client.get("/api/fonds/Z109", headers=admin).json()
    assert fonds["name"] == "某市档案局" and fonds["records"] == 2 and fonds["last_check"] is None
    ran = client.post("/api/checks", headers=admin, json={"scope": {"fonds": "Z109"}}).json()
    fonds = client.get("/api/fonds/Z109", headers=admin).json()
    assert fonds["last_check"]["id"] == ran["id"] and fonds["last_check"]["passed"] is False
    assert [c["id"] for c in client.get(fonds["checks_url"], headers=admin).json()["items"]] == [
        ran["id"]]


def test_the_api_reads_register_words_and_answers_canonical_values(client, auth):
    admin = auth("admin")
    made = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·D30·0001", "title": "通知", "year": 2024,
        "retention": "30年", "classification": "机密★10年", "access": "控制"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["retention"], body["classification"], body["classification_term"],
            body["access"]) == ("30y", "secret", "10年", "controlled")
    # retention left out: the code's D30 says it
    implied = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·D30·0002", "title": "简报"})
    assert implied.json()["retention"] == "30y" and implied.json()["year"] == 2024
    wrong = client.post("/api/records", headers={**admin, "Accept-Language": "zh-CN"}, json={
        "reference_code": "WS·2024·Y·0003", "title": "x", "retention": "很久"})
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "retention" and "定期30年" in wrong.json()["detail"]
    assert wrong.json()["detail"].startswith("无法识别")
    english = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0003", "title": "x", "access": "half-open"})
    assert english.json() == {"detail": english.json()["detail"], "field": "access"}
    assert "open/开放" in english.json()["detail"]
    disagree = client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0004", "title": "x", "retention": "D10"})
    assert disagree.status_code == 422 and disagree.json()["field"] == "retention"
    assert "says retention Y" in disagree.json()["detail"]
    zh = client.post("/api/records", headers={**admin, "Accept-Language": "zh"}, json={
        "reference_code": "WS·2024·Y·0004", "title": "x", "retention": "D10"})
    assert zh.json() == {"detail": "档号 WS·2024·Y·0004：档号中的保管期限为 Y（永久），而保管期限栏为 定期10年",
                         "field": "retention"}
    assert client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·D30·0001", "title": "again"}).status_code == 409


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("pw")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_four_property_check_finds_what_is_wrong_and_is_kept(client, auth, settings):
    admin = auth("admin")
    register = ("档号,题名,年度,日期,责任者,保管期限,密级,开放标识\n"
                "WS·2024·Y·0001,一,2024,20240101,办公室,永久,公开,开放\n"
                "WS·2024·Y·0002,二,2024,20240102,办公室,永久,内部,控制\n"
                "WS·2024·Y·0003,三,2024,20240103,办公室,永久,内部,控制\n"
                "WS·2024·Y·0005,五,2024,20240105,办公室,永久,秘密,开放\n"     # gap; 秘密 yet open
                "OLD-2024-17,旧档号,2024,20240106,,永久,内部,控制\n")        # bad 档号, no 责任者
    imported = post(client, admin, register.encode()).json()
    assert imported["imported"], imported
    altered = upload(client, admin, "WS·2024·Y·0001", make_pdf("one")).json()
    missing = upload(client, admin, "WS·2024·Y·0002", make_png()).json()
    locked = upload(client, admin, "WS·2024·Y·0003", _encrypted_pdf(), name="locked.pdf").json()
    assert locked["outcome"] == "passed"  # a sniff at upload does not see the encryption
    store = settings.copies_path
    path = store / altered["sha256"][:2] / altered["sha256"][2:4] / altered["sha256"]
    path.write_bytes(path.read_bytes().replace(b"one", b"two"))
    (store / missing["sha256"][:2] / missing["sha256"][2:4] / missing["sha256"]).unlink()

    answer = client.post("/api/checks", headers=admin, json={
        "stage": "transfer", "scope": {"import": imported["import"]}})
    assert answer.status_code == 201, answer.text
    check = answer.json()
    assert check["state"] == "done" and check["records"] == 5 and check["passed"] is False
    items = {i["item"]: i for i in check["items"]}

    def failed(fragment: str) -> list[dict]:
        item = next(i for name, i in items.items() if fragment in name)
        assert item["result"] == "fail", item
        return item["failures"]

    assert [(f["record"], f["copy"]) for f in failed("digests")] == [
        ("WS·2024·Y·0001", altered["id"])]
    assert [f["record"] for f in failed("every described copy")] == ["WS·2024·Y·0002"]
    assert failed("gaps")[0]["record"] == "WS·2024·Y" and "0004" in failed("gaps")[0]["reason"]
    assert any(f["record"] == "WS·2024·Y·0003" and "encrypted" in f["reason"]
               for f in failed("opens"))
    assert [f["record"] for f in failed("档号 format")] == ["OLD-2024-17"]
    assert any(f["record"] == "OLD-2024-17" and "责任者" in f["reason"]
               for f in failed("required description"))
    assert [f["record"] for f in failed("access control")] == ["WS·2024·Y·0005"]
    virus = next(i for name, i in items.items() if "virus" in name)
    assert virus["result"] == "not_checked" and "configured" in virus["why"]
    assert next(i for n, i in items.items() if "filing register" in n)["result"] == "pass"
    assert next(i for n, i in items.items() if "before transfer" in n)["result"] == "pass"

    kept = client.get(f"/api/checks/{check['id']}", headers=admin).json()
    assert kept["items"] == check["items"]
    listed = client.get("/api/checks", headers=admin, params={"import": imported["import"]}).json()
    assert [c["id"] for c in listed["items"]] == [check["id"]]
    register = client.get(f"/api/imports/{imported['import']}", headers=admin).json()
    assert register["rows"] == 5 and len(register["records"]) == 5
    assert [(c["id"], c["passed"], c["url"]) for c in register["checks"]] == [
        (check["id"], False, f"/api/checks/{check['id']}")]
    for lang, word in (("zh", "件号连续性检测"), ("en", "Four-property check")):
        pdf = client.get(check["report_url"], headers=admin, params={"lang": lang})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert word in text and "OLD-2024-17" in text


def _second_archive(tmp_path) -> tuple[TestClient, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as s:
        people.create_user(s, username="receiver", password=PASSWORD, role="admin")
        s.commit()
    engine.dispose()
    settings = Settings(database_url=url, data_dir=tmp_path / "second", secret_key="x" * 40,
                        base_url=SCHEME.base_url, devices_enabled=False)
    client = TestClient(create_app(settings))
    token = client.post("/api/auth/token", data={"username": "receiver", "password": PASSWORD})
    return client, {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_an_eep_package_carries_a_record_to_another_archive_unchanged(client, auth, tmp_path):
    admin = auth("admin")
    made = client.post("/api/records", headers=admin, json={
        "reference_code": "X013-WS·2024·D30·办公室-0007", "title": "关于印发《档案管理办法》的通知",
        "description": "全文共五章", "fonds": "X013", "date": "2024-03-15", "creator": "办公室",
        "document_number": "办发〔2024〕7号", "classification": "秘密★5年", "access": "控制",
        "pages": 9, "note": "原件存档", "metadata": {"主题词": "档案 管理", "份数": 3}})
    assert made.status_code == 201, made.text
    ref = made.json()["reference_code"]
    pdf, png = make_pdf("办法"), make_png()
    upload(client, admin, ref, pdf, name="档案管理办法.pdf")
    upload(client, admin, ref, png, name="签发页.png")

    package = client.get(f"/api/records/{ref}/package", headers=admin)
    assert package.status_code == 200, package.text
    assert b"http://www.saac.gov.cn/standards/ERM/encapsulation" in package.content
    assert "电子文件封装包".encode() in package.content

    other, receiver = _second_archive(tmp_path)
    with other:
        taken = other.post("/api/packages", headers=receiver,
                           files={"file": ("package.xml", package.content, "application/xml")})
        assert taken.status_code == 201, taken.text
        here = {k: v for k, v in record(client, admin, ref).items()
                if k not in ("created_at", "updated_at")}
        there = {k: v for k, v in record(other, receiver, ref).items()
                 if k not in ("created_at", "updated_at")}
        assert there == here
        copies = other.get(f"/api/records/{ref}/copies", headers=receiver).json()["items"]
        assert sorted(c["file_name"] for c in copies) == ["档案管理办法.pdf", "签发页.png"]
        got = {c["file_name"]: other.get(c["download_url"], headers=receiver).content
               for c in copies}
        assert got == {"档案管理办法.pdf": pdf, "签发页.png": png}

        # one base64 character of the first document changed on the way
        tampered = package.content
        start = tampered.index("编码数据>".encode()) + len("编码数据>".encode())
        flipped = b"A" if tampered[start + 10:start + 11] != b"A" else b"B"
        tampered = tampered[:start + 10] + flipped + tampered[start + 11:]
        refused = other.post("/api/packages", headers=receiver,
                             files={"file": ("package.xml", tampered, "application/xml")})
        assert refused.status_code == 422
        assert "文档1" in refused.json()["detail"] and "档案管理办法.pdf" in refused.json()["detail"]


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_printed_forms_list_the_box_and_its_records(client, auth):
    admin = auth("admin")
    box = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    register = ("全宗号,档号,题名,年度,日期,责任者,文号,保管期限,密级,页数,备注,盒号\n"
                f"X013,WS·2024·Y·0001,关于2024年度档案工作的通知,2024,20240115,办公室,办发〔2024〕1号,永久,公开,3,,{box}\n"
                f"X013,WS·2024·Y·0002,会议纪要,2024,20240203,办公室,,永久,机密★10年,5,原件,{box}\n"
                f"X013,WS·2024·Y·0004,年度总结,2024,20241203,办公室,,永久,内部,2,,{box}\n")
    assert post(client, admin, register.encode("gb18030")).json()["imported"]

    catalogue = client.get("/api/forms/catalogue.pdf", headers=admin, params={"fonds": "X013"})
    assert catalogue.status_code == 200 and catalogue.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(catalogue.content)).pages[0]
    assert page.mediabox.width > page.mediabox.height  # A4 landscape
    text = _pdf_text(catalogue.content)
    for expected in ("归档文件目录", "序号", "办发〔2024〕1号", "会议纪要", "机密★10年", "20240203"):
        assert expected in text, expected
    assert "会议纪要" not in _pdf_text(client.get(
        "/api/forms/catalogue.pdf", headers=auth("staff"), params={"fonds": "X013"}).content)

    sheet = client.get(f"/api/boxes/{box}/record-sheet.pdf", headers=admin,
                       params={"arranged_by": "王小明", "arranged_on": "2025-01-06"})
    text = _pdf_text(sheet.content)
    assert "备考表" in text and "共 3 件" in text and "10 页" in text and "王小明" in text
    assert "0003" in text  # the gap in its numbering is said

    stamps = client.get("/api/forms/filing-stamps.pdf", headers=admin,
                        params={"box": box, "layout": "a4-3x8"})
    text = _pdf_text(stamps.content)
    assert text.count("X013") == 3 and "0004" in text and "永久" in text
    tiny = client.get("/api/forms/filing-stamps.pdf", headers=admin, params={"layout": "30x20"})
    assert tiny.status_code == 422 and tiny.json()["field"] == "layout"


def _ofd(with_document: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as container:
        container.writestr("OFD.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">'
            "<ofd:DocBody><ofd:DocInfo><ofd:DocID>a1</ofd:DocID></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"))
        if with_document:
            container.writestr("Doc_0/Document.xml", (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData>'
                "<ofd:MaxUnitID>1</ofd:MaxUnitID></ofd:CommonData></ofd:Document>"))
    return out.getvalue()


def test_ofd_copies_are_opened_and_an_unreachable_clamd_is_said(client, auth, settings):
    admin = auth("admin")
    for ref, title in (("WS·2024·Y·0001", "一"), ("WS·2024·Y·0002", "二")):
        client.post("/api/records", headers=admin, json={
            "reference_code": ref, "title": title, "date": "2024-01-01", "creator": "办公室"})
    good = upload(client, admin, "WS·2024·Y·0001", _ofd(), name="公文.ofd").json()
    misnamed = upload(client, admin, "WS·2024·Y·0001", make_png(), name="扫描件.pdf").json()
    broken = upload(client, admin, "WS·2024·Y·0002", _ofd(with_document=False), name="缺.ofd").json()
    assert good["format_name"] == broken["format_name"] == "OFD"

    context = checks.CheckContext(store=CopyStore(settings.copies_path),
                                  allowed_formats=("PDF", "OFD"),
                                  clamd=str(settings.data_dir / "no-clamd.sock"))
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        check = checks.run_check(session, CheckRequest(stage="preservation"), context=context,
                                 actor="test", clearance="top_secret")
        session.commit()
    engine.dispose()
    items = {i["item"]: i for i in check.items}
    opened = next(i for n, i in items.items() if "opens" in n)
    assert [(f["record"], f["copy"]) for f in opened["failures"]] == [("WS·2024·Y·0002", broken["id"])]
    assert "Doc_0/Document.xml" in opened["failures"][0]["reason"]
    allowed = next(i for n, i in items.items() if "allowed" in n)
    assert allowed["result"] == "fail" and [f["copy"] for f in allowed["failures"]] == [misnamed["id"]]
    properties = next(i for n, i in items.items() if "file properties" in n)
    assert [(f["copy"], f["reason"]) for f in properties["failures"]] == [
        (misnamed["id"], "named 扫描件.pdf, but the bytes are PNG")]
    virus = next(i for n, i in items.items() if "virus" in n)
    assert virus["result"] == "not_checked" and "did not answer" in virus["why"]
    backup = next(i for n, i in items.items() if "backup" in n)
    assert backup["result"] == "not_checked" and backup["why"]


def test_a_package_whose_description_was_altered_is_refused(client, auth):
    admin = auth("admin")
    client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0001", "title": "关于2024年度档案工作的通知"})
    upload(client, admin, "WS·2024·Y·0001", make_pdf("x"), name="通知.pdf")
    package = client.get("/api/records/WS·2024·Y·0001/package", headers=admin).content
    client.post("/api/records", headers=admin, json={"reference_code": "WS·2024·Y·0002",
                                                    "title": "placeholder"})
    altered = package.replace("关于2024年度档案工作的通知".encode(), "关于2025年度档案工作的通知".encode())
    refused = client.post("/api/packages", headers=admin,
                          files={"file": ("p.xml", altered, "application/xml")})
    assert refused.status_code == 422 and "altered" in refused.json()["detail"]
    assert "WS·2024·Y·0001" in refused.json()["detail"]
    # pretty-printed on the way, it is still the same package (and here a duplicate 档号)
    import xml.dom.minidom

    pretty = xml.dom.minidom.parseString(package).toprettyxml(encoding="utf-8")
    again = client.post("/api/packages", headers=admin,
                        files={"file": ("p.xml", pretty, "application/xml")})
    assert again.status_code == 409 and again.json()["field"] == "reference_code"


def test_the_cli_imports_a_chinese_register_and_checks_it(db, settings, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("ARCHIVE_TWIN_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("ARCHIVE_TWIN_DATA_DIR", str(settings.data_dir))
    register = tmp_path / "归档目录.csv"
    register.write_bytes(("档号,题名,年度,保管期限,密级\n"
                          "WS·2024·Y·0001,通知,2024,永久,公开\n"
                          "WS·2024·Y·0003,报告,2024,永久,内部\n"
                          "WS·2024·D30·0001,纪要,2024,永久,内部\n").encode("gb18030"))
    assert cli.main(["import", "records", str(register), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "row 4, column 保管期限" in out and "D30" in out
    register.write_bytes(register.read_bytes().replace("D30·0001,纪要,2024,永久".encode("gb18030"),
                                                       "D30·0001,纪要,2024,定期30年".encode("gb18030")))
    assert cli.main(["import", "records", str(register)]) == 0
    out = capsys.readouterr().out
    assert "gap in WS·2024·Y: item(s) 0002 missing" in out
    assert cli.main(["check", "--year", "2024"]) == 1
    out = capsys.readouterr().out
    assert "fail" in out and "件号 missing: 0002" in out and "not_checked" in out


def test_the_record_page_shows_the_description_in_chinese(client, auth):
    admin = auth("admin")
    client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·D30·0001", "title": "会议纪要", "classification": "机密★10年",
        "access": "控制", "creator": "办公室", "date": "2024-04-10", "pages": 4})
    client.post("/signin", data={"username": "admin-default", "password": PASSWORD},
                headers={"Origin": "http://testserver"}, follow_redirects=False)
    page = client.get("/records/WS·2024·D30·0001", params={"lang": "zh"})
    assert page.status_code == 200
    for shown in ("机密★10年", "开放标识", "控制", "责任者", "办公室", "2024-04-10", "页数"):
        assert shown in page.text, shown


def test_an_xlsx_register_with_date_cells_and_chinese_headers(client, auth):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["档号", "题名", "年度", "日期", "责任者", "保管期限", "密级", "开放标识", "页数"])
    sheet.append(["KU·2023·D30·0001", "2023年度会计凭证 第1册", 2023, datetime(2023, 12, 31),
                  "财务科", "D30", "内部", "控制", "120页"])
    sheet.append(["KU·2023·D30·0002", "2023年度会计凭证 第2册", 2023.0, datetime(2023, 12, 31),
                  "财务科", "定期30年", "XZ", "控制", 98])
    out = io.BytesIO()
    book.save(out)
    admin = auth("admin")
    answer = post(client, admin, out.getvalue(), name="会计凭证.xlsx")
    assert answer.status_code == 200, answer.text
    first = record(client, admin, "KU·2023·D30·0001")
    assert (first["date"], first["pages"], first["retention"]) == ("2023-12-31", 120, "30y")
    assert record(client, admin, "KU·2023·D30·0002")["pages"] == 98


def test_a_volume_travels_with_its_files_in_one_package(client, auth, tmp_path):
    admin = auth("admin")
    volume = client.post("/api/records", headers=admin, json={
        "reference_code": "X013-KJ·2020·Y-001", "title": "二号楼竣工图", "level": "案卷",
        "fonds": "X013", "year": 2020})
    assert volume.status_code == 201 and volume.json()["level"] == "volume"
    for n, title in ((1, "总平面图"), (2, "一层平面图")):
        made = client.post("/api/records", headers=admin, json={
            "reference_code": f"X013-KJ·2020·Y-001-{n:03d}", "title": title,
            "volume": "X013-KJ·2020·Y-001", "year": 2020, "classification": "内部"})
        assert made.status_code == 201, made.text
        assert made.json()["volume"] == "X013-KJ·2020·Y-001"
        upload(client, admin, made.json()["reference_code"], make_pdf(title), name=f"{title}.pdf")
    nested = client.post("/api/records", headers=admin, json={
        "reference_code": "X", "title": "x", "volume": "X013-KJ·2020·Y-001-001"})
    assert nested.status_code == 422 and nested.json()["field"] == "volume"

    package = client.get("/api/records/X013-KJ·2020·Y-001/package", headers=admin)
    assert package.content.count("<文件实体>".encode()) == 3
    other, receiver = _second_archive(tmp_path)
    with other:
        taken = other.post("/api/packages", headers=receiver,
                           files={"file": ("volume.xml", package.content, "application/xml")})
        assert taken.status_code == 201, taken.text
        assert taken.json()["reference_code"] == "X013-KJ·2020·Y-001"
        for n, title in ((1, "总平面图"), (2, "一层平面图")):
            there = record(other, receiver, f"X013-KJ·2020·Y-001-{n:03d}")
            assert there["volume"] == "X013-KJ·2020·Y-001" and there["title"] == title
            copies = other.get(f"/api/records/{there['reference_code']}/copies",
                               headers=receiver).json()["items"]
            assert [c["file_name"] for c in copies] == [f"{title}.pdf"]


def test_at_preservation_the_newest_backup_is_tried_as_a_restore(client, auth, settings, db):
    from server.services import backups

    admin = auth("admin")
    client.post("/api/records", headers=admin, json={
        "reference_code": "WS·2024·Y·0001", "title": "保管期限表", "date": "2024-03-01",
        "creator": "档案室"})

    def backup_item() -> dict:
        ran = client.post("/api/checks", headers=admin, json={
            "stage": "preservation", "scope": {"records": ["WS·2024·Y·0001"]}})
        assert ran.status_code == 201, ran.text
        return next(i for i in ran.json()["items"] if "backup" in i["item"])

    none_yet = backup_item()
    assert none_yet["result"] == "fail" and "archive-twin backup" in none_yet["failures"][0]["reason"]
    taken = backups.take(db, settings.database_url, settings.copies_path, settings.backups_path)
    assert backup_item()["result"] == "pass"
    # a damaged archive (one byte of the database changed) does not restore
    import tarfile

    with tarfile.open(taken) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database"))
    raw = bytearray(taken.read_bytes())
    raw[member.offset_data + member.size // 2] ^= 0xFF
    taken.write_bytes(bytes(raw))
    damaged = backup_item()
    assert damaged["result"] == "fail" and taken.name in damaged["failures"][0]["reason"]
