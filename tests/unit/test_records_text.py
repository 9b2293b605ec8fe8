"""Pure pieces of import, search and copies: encodings, query words, formats, file names."""

from __future__ import annotations

import pytest

from server.services.copies import clean_file_name, identify
from server.services.errors import Invalid
from server.services.imports import decode_register
from server.services.search import fts_query, in_the_models, terms


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
    assert not in_the_models("records_fts", "table", {})
    assert not in_the_models("records_fts_docsize", "table", {})
    assert not in_the_models("ix_records_search_trgm", "index", {})
    assert in_the_models("records", "table", {})
    assert in_the_models("ix_records_year", "index", {})


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
