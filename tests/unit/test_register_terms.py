"""How registers write 保管期限, 密级, 开放标识 and 档号, read into the archive's values."""

from __future__ import annotations

import pytest

from server.services import reference_codes, register_terms


@pytest.mark.parametrize("written, expected", [
    ("permanent", ("permanent", None)), ("永久", ("permanent", None)), ("Y", ("permanent", None)),
    ("30 years", ("30y", None)), ("30年", ("30y", None)), ("定期30年", ("30y", None)),
    ("D30", ("30y", None)), ("30y", ("30y", None)), ("Ｄ３０", ("30y", None)),
    ("10 years", ("10y", None)), ("10年", ("10y", None)), ("定期10年", ("10y", None)),
    ("D10", ("10y", None)), ("10y", ("10y", None)), ("定期5年", ("custom", 5)), ("D5", ("custom", 5)),
])
def test_every_way_of_writing_a_retention(written, expected):
    assert register_terms.retention(written) == expected


@pytest.mark.parametrize("written, expected", [
    ("public", ("public", None)), ("公开", ("public", None)), ("GK", ("public", None)),
    ("internal", ("internal", None)), ("内部", ("internal", None)), ("XZ", ("internal", None)),
    ("confidential", ("confidential", None)), ("秘密", ("confidential", None)),
    ("MM", ("confidential", None)), ("secret", ("secret", None)), ("机密", ("secret", None)),
    ("JM", ("secret", None)), ("top_secret", ("top_secret", None)), ("绝密", ("top_secret", None)),
    ("UM", ("top_secret", None)), ("机密★10年", ("secret", "10年")), ("绝密★长期", ("top_secret", "长期")),
])
def test_every_way_of_writing_a_classification(written, expected):
    assert register_terms.classification(written) == expected


def test_access_and_what_cannot_be_read():
    assert [register_terms.access(v) for v in ("开放", "控制", "延期开放", "未审核", "open")] == [
        "open", "controlled", "delayed", "unreviewed", "open"]
    with pytest.raises(register_terms.TermError) as caught:
        register_terms.retention("长久")
    assert "定期30年" in caught.value.message("zh") and "30 years" in caught.value.message("en")


def test_language_of_the_request():
    assert register_terms.language_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert register_terms.language_of("en-GB,zh;q=0.5") == "en"
    assert register_terms.language_of("fr-FR") == "en"
    assert register_terms.language_of(None) == "en"


@pytest.mark.parametrize("code, klass, item", [
    ("WS·2024·Y·0001", "WS·2024·Y", 1),
    ("X013-WS·2024·D30-0012", "X013-WS·2024·D30", 12),
    ("Z109-WS·2011·Y·办公室-0001", "Z109-WS·2011·Y·办公室", 1),
    ("KU·2023·D10·财务科·0003", "KU·2023·D10·财务科", 3),
])
def test_reference_codes_of_the_dat_forms_are_read(code, klass, item):
    parts = reference_codes.parse(code)
    assert parts is not None and reference_codes.class_label(parts) == klass and parts.item == item


@pytest.mark.parametrize("code", ["OLD-2024-17", "JJ·2010·Y·0002", "WS·24·Y·0001", "WS·2024·Q·0001"])
def test_other_codes_are_free_text(code):
    assert reference_codes.parse(code) is None


def test_gaps_are_found_per_class():
    codes = ["WS·2024·Y·0001", "WS·2024·Y·0002", "WS·2024·Y·0005", "WS·2024·D30·0001",
             "X013-WS·2024·Y-0002"]
    assert [(g.klass, g.missing) for g in reference_codes.gaps(codes)] == [
        ("WS·2024·Y", [3, 4]), ("X013-WS·2024·Y", [1])]
