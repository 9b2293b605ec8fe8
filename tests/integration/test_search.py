"""Record search: trigram full text (Chinese without a word list, Latin in any case),
short words, ranking, metadata, filters (on loan, location subtree), clearance, and the
index kept in step with changes and with the bulk seeding path."""

from __future__ import annotations

import random

from sqlmodel import col, select

from server.models.holdings import Box, Record
from server.services import records, sample_archive, search
from tests.conftest import SCHEME
from tests.integration.tree import build_tree


def add(client, headers, ref, title, **fields):
    answer = client.post("/api/records", headers=headers,
                         json={"reference_code": ref, "title": title, **fields})
    assert answer.status_code == 201, answer.text


def found(client, headers, **params) -> list[str]:
    answer = client.get("/api/records", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] >= len(body["items"])
    return [r["reference_code"] for r in body["items"]]


def test_chinese_latin_short_words_metadata_and_ranking(client, auth):
    admin = auth("admin")
    add(client, admin, "WS·2024·Y·0001", "关于2024年度档案工作的通知", description="办公室发文")
    add(client, admin, "KJ·2023·D30·0001", "General Ledger 2023",
        metadata={"scanner": "Fujitsu fi-7160", "经办人": "王小明"})
    add(client, admin, "KJ·2023·D30·0002", "Annual accounts 2023",
        description="Summarises the general ledger and the cash book for the year")
    add(client, admin, "RS·2020·Y·0001", "职工花名册 2020")

    assert found(client, admin, q="档案") == ["WS·2024·Y·0001"]  # two characters: LIKE
    assert found(client, admin, q="档案工作") == ["WS·2024·Y·0001"]  # trigram index
    assert found(client, admin, q="花名册") == ["RS·2020·Y·0001"]
    assert found(client, admin, q="办公室") == ["WS·2024·Y·0001"]  # in the description
    # the title hit ranks above the description hit
    assert found(client, admin, q="LEDGER") == ["KJ·2023·D30·0001", "KJ·2023·D30·0002"]
    assert found(client, admin, q="general ledger") == ["KJ·2023·D30·0001", "KJ·2023·D30·0002"]
    assert found(client, admin, q="fujitsu") == ["KJ·2023·D30·0001"]  # metadata values
    assert found(client, admin, q="王小明") == ["KJ·2023·D30·0001"]
    assert found(client, admin, q="KJ·2023") == ["KJ·2023·D30·0001", "KJ·2023·D30·0002"]
    assert found(client, admin, q="ledger 档案") == []  # every word must match
    assert found(client, admin, q="2023 cash") == ["KJ·2023·D30·0002"]
    assert found(client, admin, q='"quoted" OR x*') == []  # query syntax is just text
    assert found(client, admin, q="   ") == found(client, admin)


def test_the_index_follows_changes(client, auth):
    admin = auth("admin")
    add(client, admin, "WS·2024·Y·0001", "Minutes of the board")
    assert found(client, admin, q="minutes") == ["WS·2024·Y·0001"]
    client.patch("/api/records/WS·2024·Y·0001", headers=admin,
                 json={"title": "董事会会议纪要", "metadata": {"note": "renamed"}})
    assert found(client, admin, q="minutes") == []
    assert found(client, admin, q="会议纪要") == ["WS·2024·Y·0001"]
    assert found(client, admin, q="renamed") == ["WS·2024·Y·0001"]


def test_filters_and_clearance_apply_to_text_search(client, auth, session):
    admin = auth("admin")
    codes = build_tree(client, admin)
    shelved = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    lent = client.post("/api/boxes", headers=admin, json={}).json()["code"]
    client.post(f"/api/boxes/{shelved}/move", headers=admin, json={"to": codes["Slot 1"]})
    client.post(f"/api/boxes/{lent}/move", headers=admin, json={"to": codes["Slot 2"]})
    add(client, admin, "KJ·2001·Y·0001", "会计凭证 第1册", box=shelved, year=2001,
        fonds="X001", classification="public")
    add(client, admin, "KJ·2002·Y·0001", "会计凭证 第2册", box=lent, year=2002, fonds="X002")
    add(client, admin, "KJ·2003·Y·0001", "会计凭证 第3册", year=2003, fonds="X001",
        classification="secret")

    assert found(client, admin, q="会计凭证", fonds="X001") == ["KJ·2001·Y·0001", "KJ·2003·Y·0001"]
    assert found(client, admin, q="会计凭证", year_from=2002, year_to=2002) == ["KJ·2002·Y·0001"]
    assert found(client, admin, q="会计凭证", location=codes["Slot 1"]) == ["KJ·2001·Y·0001"]
    assert found(client, admin, q="会计凭证", location=codes["shelf"]) == [
        "KJ·2001·Y·0001", "KJ·2002·Y·0001"]
    assert found(client, admin, q="会计凭证", box=lent) == ["KJ·2002·Y·0001"]
    assert found(client, auth("borrower"), q="会计凭证") == ["KJ·2001·Y·0001"]
    assert found(client, auth("staff"), q="会计") == ["KJ·2001·Y·0001", "KJ·2002·Y·0001"]

    box = session.exec(select(Box).where(Box.code == lent)).one()
    box.status = "on_loan"
    session.commit()
    on_loan = records.search_records(session, clearance="secret", q="会计凭证", on_loan=True)
    assert [r.reference_code for r in on_loan.rows] == ["KJ·2002·Y·0001"] and on_loan.total == 1
    here = records.search_records(session, clearance="secret", q="会计凭证", on_loan=False)
    assert [r.reference_code for r in here.rows] == ["KJ·2001·Y·0001", "KJ·2003·Y·0001"]
    assert found(client, admin, q="凭证", on_loan="true") == ["KJ·2002·Y·0001"]
    assert found(client, admin, q="凭证", classification="secret") == ["KJ·2003·Y·0001"]


def test_bulk_seeded_records_are_searchable_and_follow_changes(client, auth, session):
    size = sample_archive.SampleSize(units_per_room=1, sections=1, shelves=2, boxes=50,
                                     records=800)
    sample_archive.seed(session, scheme=SCHEME, size=size, rng=random.Random(7))
    session.commit()
    titles = session.exec(select(Record.title)).all()
    for word in ("会计凭证", "通知", "档"):
        expected = sum(word in t for t in titles)
        assert expected > 0
        hits = records.search_records(session, clearance="top_secret", q=word, limit=500)
        assert hits.total == expected and all(word in r.title for r in hits.rows)
    ledgers = sum("ledger" in t.lower() for t in titles)
    assert records.search_records(session, clearance="top_secret", q="LEDGER").total == ledgers

    # a bulk-indexed record is taken out of both indexes when it changes
    first = session.exec(select(Record).where(col(Record.title).contains("通知"))).first()
    admin = auth("admin")
    answer = client.patch(f"/api/records/{first.reference_code}", headers=admin,
                          json={"title": "Renamed volume"})
    assert answer.status_code == 200
    assert first.reference_code not in found(client, admin, q="通知", limit=500)
    assert found(client, admin, q="renamed volume") == [first.reference_code]


def test_two_chinese_characters_match_only_side_by_side(client, auth):
    admin = auth("admin")
    add(client, admin, "WS·2024·Y·0001", "关于档案工作的通知")
    add(client, admin, "WS·2024·Y·0002", "档期安排与案件登记")  # both characters, apart
    add(client, admin, "WS·2024·Y·0003", "案档目录")  # the other way round
    add(client, admin, "WS·2024·Y·0004", "Register", description="移交档案清单")
    add(client, admin, "WS·2024·Y·0005", "Register", metadata={"备注": "含档案袋"})
    add(client, admin, "WS·2024·Y·0006", "工作档")  # at the end of a run

    title_hit, *others = found(client, admin, q="档案")
    assert title_hit == "WS·2024·Y·0001" and sorted(others) == ["WS·2024·Y·0004", "WS·2024·Y·0005"]
    assert found(client, admin, q="案档") == ["WS·2024·Y·0003"]
    assert sorted(found(client, admin, q="档")) == [f"WS·2024·Y·000{n}" for n in range(1, 7)]
    assert found(client, admin, q="档案 通知") == ["WS·2024·Y·0001"]  # a pair and a word
    assert found(client, admin, q="档案工作 通知") == ["WS·2024·Y·0001"]  # trigram and pair
    assert sorted(found(client, admin, q="档案 register")) == ["WS·2024·Y·0004", "WS·2024·Y·0005"]


def test_a_title_hit_ranks_first(client, auth):
    admin = auth("admin")
    add(client, admin, "AA·0001", "Register of deeds", description="通知 ledger archive")
    add(client, admin, "ZZ·0001", "财务处通知")
    add(client, admin, "ZZ·0002", "General ledger")
    assert found(client, admin, q="通知") == ["ZZ·0001", "AA·0001"]
    assert found(client, admin, q="ledger") == ["ZZ·0002", "AA·0001"]


def test_the_total_stops_at_the_cap(client, auth, monkeypatch):
    admin = auth("admin")
    for n in range(1, 8):
        add(client, admin, f"WS·2024·Y·{n:04d}", f"会议纪要 第{n}次")
    monkeypatch.setattr(search, "TOTAL_CAP", 5)
    for params in ({"q": "会议纪要"}, {"q": "纪要"}, {}):
        body = client.get("/api/records", headers=admin, params={**params, "limit": 3}).json()
        assert (body["total"], body["total_is_estimate"], len(body["items"])) == (5, True, 3)
    last = client.get("/api/records", headers=admin, params={"q": "纪要", "offset": 6}).json()
    assert [r["reference_code"] for r in last["items"]] == ["WS·2024·Y·0007"]
    monkeypatch.setattr(search, "TOTAL_CAP", 10)
    body = client.get("/api/records", headers=admin, params={"q": "纪要"}).json()
    assert (body["total"], body["total_is_estimate"]) == (7, False)


def test_clearance_is_applied_inside_the_index(client, auth):
    admin = auth("admin")
    add(client, admin, "WS·2024·Y·0001", "年度预算报告", classification="public")
    add(client, admin, "WS·2024·Y·0002", "年度预算报告", classification="internal")
    add(client, admin, "WS·2024·Y·0003", "年度预算报告", classification="secret")
    borrower, staff = auth("borrower"), auth("staff")
    for q in ("预算", "预算报告", "预", "报告 预算"):
        assert found(client, borrower, q=q) == ["WS·2024·Y·0001"]
    assert found(client, staff, q="预算") == ["WS·2024·Y·0001", "WS·2024·Y·0002"]
    assert found(client, admin, q="预算报告", classification="internal") == ["WS·2024·Y·0002"]
    # a change of classification reaches the index
    client.patch("/api/records/WS·2024·Y·0001", headers=admin, json={"classification": "secret"})
    assert found(client, borrower, q="预算") == []
    assert client.get("/api/records", headers=borrower, params={"q": "预算"}).json()["total"] == 0
    assert found(client, admin, q="预算", limit=2) == ["WS·2024·Y·0001", "WS·2024·Y·0002"]


def test_short_latin_words_are_scanned_in_any_case(client, auth):
    admin = auth("admin")
    add(client, admin, "WS·2024·Y·0001", "IT Centre budget")
    add(client, admin, "WS·2024·Y·0002", "Annual report")
    assert found(client, admin, q="it") == ["WS·2024·Y·0001"]
    assert found(client, admin, q="it budget") == ["WS·2024·Y·0001"]
