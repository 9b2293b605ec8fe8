"""Pure pieces of import, search and copies: encodings, query words, formats, file names."""

from __future__ import annotations

import sqlite3

import pytest

from server.db import include_in_autogenerate
from server.services.copies import clean_file_name, identify
from server.services.errors import Invalid
from server.services.imports import decode_register
from server.services.search import fts_query, gram_query, is_cjk, sqlite_grams, terms


@pytest.mark.parametrize("data", [
    "档号,题名\nWS·1,通知\n".encode(),
    "\ufeff档号,题名\nWS·1,通知\n".encode(),
    "档号,题名\nWS·1,关于2024年度档案工作的通知\n".encode("gb18030"),
])
def test_utf8_with_or_without_bom_and_gb18030_are_read(data):
    assert decode_register(data).splitlines()[1].startswith("WS·1,")


@pytest.mark.parametrize(("data", "says"), [
    ("Café crème, été à Zürich\n".encode("latin-1"), "neither UTF-8 nor GB18030"),
    ("檔號,題名\n".encode("big5"), "neither UTF-8 nor GB18030"),
    ("档号,题名\n".encode("utf-16"), "UTF-16"),
])
def test_other_encodings_are_refused_with_a_reason(data, says):
    with pytest.raises(Invalid, match=says):
        decode_register(data)


def test_query_words_become_quoted_substrings():
    assert terms("  ledger  2003 ledger ") == ["ledger", "2003"]
    assert fts_query(["ledger", 'say "hi"']) == '"ledger" AND "say ""hi"""'


def test_autogenerate_leaves_the_search_index_alone():
    def kept(name, type_):
        return include_in_autogenerate(None, name, type_, True, None)

    assert not kept("records_fts", "table")
    assert not kept("records_fts_grams", "table")
    assert not kept("records_fts_grams_docsize", "table")
    assert not kept("ix_records_search_trgm", "index")
    assert not kept("ix_records_cjk_grams", "index")
    assert kept("records", "table")
    assert kept("ix_records_year", "index")


def test_short_chinese_words_become_bigram_tokens():
    assert is_cjk("档案") and is_cjk("档") and not is_cjk("IT") and not is_cjk("第1")
    assert gram_query(["档案", "档"]) == '"档案" AND "档"*'


@pytest.mark.parametrize(("title", "tokens"), [
    ("关于2024年度档案工作", "关于 于 年度 度档 档案 案工 工作 作"),
    ("Minutes 会议", "会议 议"),
    ("档", "档"),
    ("General ledger", None),
    ("", None),
])
def test_sqlite_splits_cjk_into_pairs_and_run_ends(title, tokens):
    db = sqlite3.connect(":memory:")
    assert db.execute(f"SELECT {sqlite_grams('?1')}", (title,)).fetchone()[0] == tokens


@pytest.mark.parametrize(("head", "name", "executable"), [
    (b"%PDF-1.7\n", "PDF", False),
    (b"\x89PNG\r\n\x1a\n....", "PNG", False),
    (b"\xff\xd8\xff\xe0", "JPEG", False),
    (b"\x7fELF\x02\x01", "ELF executable", True),
    (b"MZ\x90\x00", "Windows executable", True),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable", True),
    (b"#!/usr/bin/env python\n", "script", True),
    ("纯文本说明".encode(), "plain text", False),
    (b"\x00\x01\x02\x03binary", "unknown", False),
])
def test_formats_come_from_the_bytes(head, name, executable):
    found = identify(head)
    assert (found.name, found.executable) == (name, executable)


def test_file_names_lose_folders_and_control_characters():
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("C:\\scans\\会议纪要.pdf") == "会议纪要.pdf"
    assert clean_file_name("bad\x00\nname.pdf") == "badname.pdf"
    assert clean_file_name("") == "copy"


def test_bulk_reindex_writes_what_the_triggers_write():
    # A contentless FTS5 row is deleted by giving back exactly the values it was indexed
    # with: the triggers (migration 0004) and the bulk path (search.py) must agree.
    import importlib.util
    from pathlib import Path

    from server.services import search

    path = Path(search.__file__).parents[1] / "migrations/versions/0004_search_bigrams_and_access.py"
    spec = importlib.util.spec_from_file_location("revision_0004", path)
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE records (id, reference_code, title, description, extra, "
               "classification)")
    db.execute("INSERT INTO records VALUES (1, 'WS·1', '档案工作 Ledger', '办公室', "
               "'{\"经办人\": \"王小明\", \"p\": 3}', 'secret'), (2, 'KJ·2', 'x', NULL, '{}', "
               "'public')")
    for ours, theirs in zip(search.sqlite_index_values("r"), revision._values("r"), strict=True):
        assert db.execute(f"SELECT {ours} FROM records r").fetchall() == db.execute(
            f"SELECT {theirs} FROM records r").fetchall()
