"""Batch import of registers: all-or-nothing with every problem reported, --skip-invalid,
idempotent re-import, audited updates, encodings, XLSX, creating boxes and places."""

from __future__ import annotations

import io

from openpyxl import Workbook

from server import cli
from tests.integration.tree import build_tree

HEADER = "reference_code,title,fonds,year,retention,classification,box,location,页数\n"
GOOD = (
    "WS·2024·Y·0001,关于2024年度档案工作的通知,X001,2024,permanent,internal,,,12\n"
    "WS·2024·Y·0002,Minutes of the board 2024,X001,2024,permanent,public,,,3\n"
)


def post(client, headers, data: bytes, name="register.csv", **flags):
    form = {key: "true" for key, on in flags.items() if on}
    return client.post("/api/imports", headers=headers, files={"file": (name, data)}, data=form)


def refs(client, headers) -> list[str]:
    items = client.get("/api/records", headers=headers, params={"limit": 500}).json()["items"]
    return sorted(r["reference_code"] for r in items)


def test_a_good_register_imports_and_reimporting_changes_nothing(client, auth):
    admin = auth("archivist")
    data = ("\ufeff" + HEADER + GOOD).encode("utf-8")  # Excel's "CSV UTF-8" has a BOM
    answer = post(client, admin, data)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] and report["created"] == 2 and report["problems"] == []
    record = client.get("/api/records/WS·2024·Y·0001", headers=admin).json()
    assert record["title"] == "关于2024年度档案工作的通知" and record["pages"] == 12

    audit_before = client.get("/api/audit", headers=auth("admin")).json()["total"]
    again = post(client, admin, data).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert client.get("/api/audit", headers=auth("admin")).json()["total"] == audit_before

    changed = (HEADER + GOOD.replace("Minutes of the board 2024", "Board minutes 2024 (revised)")).encode()
    third = post(client, admin, changed).json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 1)
    log = client.get("/api/audit", headers=auth("admin"),
                     params={"entity": "record", "entity_id": "WS·2024·Y·0002"}).json()
    change = log["items"][0]
    assert change["action"] == "update" and change["actor"] == "archivist-default"
    assert change["before"]["title"] == "Minutes of the board 2024"
    assert change["after"]["title"] == "Board minutes 2024 (revised)"


def test_any_bad_row_imports_nothing_and_every_problem_is_named(client, auth):
    admin = auth("admin")
    bad = (HEADER + GOOD
           + "WS·2024·Y·0003,,X001,2024,permanent,internal,,,\n"           # row 4: no title
           + "WS·2024·Y·0004,Ledger,X001,twenty,permanent,internal,,,\n"   # row 5: year
           + "WS·2024·Y·0005,Ledger,X001,2024,forever,very-secret,,,\n"    # row 6: two cells
           + "WS·2024·Y·0001,Duplicate,X001,2024,permanent,internal,,,\n"  # row 7: repeated
           + "WS·2024·Y·0006,Boxed,X001,2024,permanent,internal,B00000999,,\n")  # row 8
    answer = post(client, admin, bad.encode())
    assert answer.status_code == 422
    report = answer.json()
    assert report["imported"] is False and "nothing was imported" in report["detail"]
    found = {(p["row"], p["column"]) for p in report["problems"]}
    assert {(4, "title"), (5, "year"), (6, "retention"), (6, "classification"),
            (7, "reference_code"), (8, "box")} <= found
    year = next(p for p in report["problems"] if p["row"] == 5)
    assert year["value"] == "twenty"
    box = next(p for p in report["problems"] if p["row"] == 8)
    assert "B00000999" in box["message"] and "create-missing" in box["message"]
    assert refs(client, admin) == []

    partial = post(client, admin, bad.encode(), skip_invalid=True).json()
    assert partial["imported"] and partial["created"] == 2 and partial["skipped"] == 5
    assert refs(client, admin) == ["WS·2024·Y·0001", "WS·2024·Y·0002"]


def test_boxes_and_places_are_created_only_when_asked(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    register = (
        "档号,题名,年度,保管期限,密级,盒号,位置\n"
        "WS·2023·Y·0001,年度工作总结,2023,永久,公开,B00000500,一号库房 › Unit 01 › A\n"
        f"WS·2023·D10·0001,财务报告,2023,10年,秘密,B00000501,{codes['Slot 1']}\n"
    ).encode()
    refused = post(client, admin, register)
    assert refused.status_code == 422
    assert {p["column"] for p in refused.json()["problems"]} == {"盒号", "位置"}

    made = post(client, admin, register, create_missing=True).json()
    assert made["imported"], made
    assert made["boxes_created"] == 2 and made["locations_created"] == 3
    first = client.get("/api/records/WS·2023·Y·0001", headers=admin).json()
    assert first["box"] == "B00000500" and first["location_path"] == "一号库房 › Unit 01 › A"
    assert first["retention"] == "permanent" and first["classification"] == "public"
    second = client.get("/api/records/WS·2023·D10·0001", headers=admin).json()
    assert second["location"] == codes["Slot 1"] and second["classification"] == "confidential"
    box = client.get("/api/boxes/B00000500", headers=admin).json()
    assert box["epc"] and box["location_path"] == "一号库房 › Unit 01 › A"
    # a box registered afterwards still gets a fresh code
    assert client.post("/api/boxes", headers=admin, json={}).status_code == 201
    again = post(client, admin, register, create_missing=True).json()
    assert (again["unchanged"], again["boxes_created"], again["locations_created"]) == (2, 0, 0)


def test_a_row_that_fails_while_writing_leaves_nothing_of_the_import(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin, slot_capacity=1)
    first, second = (client.post("/api/boxes", headers=admin, json={}).json()["code"]
                     for _ in range(2))
    # every row is valid on its own; only writing finds that both boxes cannot fit Slot 1
    register = (
        "reference_code,title,box,location\n"
        f"WS·2022·Y·0001,Fits,{first},{codes['Slot 1']}\n"
        f"WS·2022·Y·0002,Does not fit,{second},{codes['Slot 1']}\n"
    ).encode()
    refused = post(client, admin, register)
    assert refused.status_code == 422, refused.text
    assert [p["row"] for p in refused.json()["problems"]] == [3]
    assert refs(client, admin) == []
    assert client.get(f"/api/boxes/{first}", headers=admin).json()["location"] is None


def test_gb18030_is_read_and_other_encodings_are_refused(client, auth):
    admin = auth("admin")
    text = HEADER + GOOD
    answer = post(client, admin, text.encode("gb18030"))
    assert answer.status_code == 200, answer.text
    assert client.get("/api/records/WS·2024·Y·0001",
                      headers=admin).json()["title"] == "关于2024年度档案工作的通知"

    latin = ("reference_code,title\nKJ·1999·Y·0001,Café crème à la Müller été\n").encode("latin-1")
    refused = post(client, admin, latin)
    assert refused.status_code == 422
    assert "neither UTF-8 nor GB18030" in refused.json()["detail"]
    utf16 = (HEADER + GOOD).encode("utf-16")
    assert "UTF-16" in post(client, admin, utf16).json()["detail"]
    assert client.get("/api/records/KJ·1999·Y·0001", headers=admin).status_code == 404


def test_xlsx_registers_import(client, auth):
    admin = auth("admin")
    book = Workbook()
    sheet = book.active
    sheet.append(["Reference code", "Title", "Year", "Classification", "Scanner"])
    sheet.append(["JJ·2010·Y·0001", "办公楼改造工程竣工图 1", 2010, "internal", "Fujitsu"])
    sheet.append(["JJ·2010·Y·0002", "Site survey, building 2", 2010.0, "public", None])
    buffer = io.BytesIO()
    book.save(buffer)
    answer = post(client, admin, buffer.getvalue(), name="register.xlsx")
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 2
    got = client.get("/api/records/JJ·2010·Y·0001", headers=admin).json()
    assert got["year"] == 2010 and got["metadata"] == {"Scanner": "Fujitsu"}


def test_only_archivists_import(client, auth):
    assert post(client, auth("staff"), (HEADER + GOOD).encode()).status_code == 403


def test_the_cli_imports_with_the_same_rules(db, settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHIVE_TWIN_DATABASE_URL", settings.db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD + "WS·2024·Y·0003,,X001,2024,permanent,internal,,,\n",
                   encoding="utf-8")
    assert cli.main(["import", "records", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "row 4, column title" in out and "nothing imported" in out
    assert cli.main(["import", "records", str(bad), "--skip-invalid"]) == 0
    captured = capsys.readouterr()
    assert "2 created" in captured.out and "1 skipped" in captured.out
    assert "imported [" in captured.err  # progress
    latin = tmp_path / "latin.csv"
    latin.write_bytes("reference_code,title\nX·1,Crème brûlée été\n".encode("latin-1"))
    assert cli.main(["import", "records", str(latin)]) == 2
    assert "neither UTF-8 nor GB18030" in capsys.readouterr().err
