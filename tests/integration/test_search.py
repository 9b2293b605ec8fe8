"""Record search: trigram full text (Chinese without a word list, Latin in any case),
short words, ranking, metadata, filters (on loan, location subtree), clearance, and the
index kept in step with changes and with the bulk seeding path."""

from __future__ import annotations

import random

from sqlmodel import select

from server.models.holdings import Box, Record
from server.services import records, sample_archive
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
    on_loan, total = records.search_records(session, clearance="secret", q="会计凭证", on_loan=True)
    assert [r.reference_code for r in on_loan] == ["KJ·2002·Y·0001"] and total == 1
    here, total = records.search_records(session, clearance="secret", q="会计凭证", on_loan=False)
    assert [r.reference_code for r in here] == ["KJ·2001·Y·0001", "KJ·2003·Y·0001"]


def test_bulk_seeded_records_are_searchable(session):
    size = sample_archive.SampleSize(units_per_room=1, sections=1, shelves=2, boxes=50,
                                     records=800)
    sample_archive.seed(session, scheme=SCHEME, size=size, rng=random.Random(7))
    session.commit()
    titles = session.exec(select(Record.title)).all()
    expected = sum("会计凭证" in t for t in titles)
    assert expected > 0
    rows, total = records.search_records(session, clearance="secret", q="会计凭证", limit=500)
    assert total == expected and all("会计凭证" in r.title for r in rows)
    ledgers = sum("ledger" in t.lower() for t in titles)
    assert records.search_records(session, clearance="secret", q="LEDGER")[1] == ledgers
