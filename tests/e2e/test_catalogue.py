"""Every word a page shows exists in both languages (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard import i18n

TEMPLATES = Path(i18n.__file__).resolve().parent / "templates"
# t("key"), t('key', ...) and term("group", value) in templates and in pages.py.
KEY = re.compile(r"""\bt\(\s*["']([a-z_.0-9]+)["']""")
TERM = re.compile(r"""\bterm\(\s*["']([a-z_]+)["']""")


def _sources() -> list[str]:
    files = [*TEMPLATES.glob("*.html"), TEMPLATES.parent / "pages.py"]
    return [f.read_text(encoding="utf-8") for f in files]


def test_both_catalogues_have_the_same_keys():
    assert set(i18n.EN) - set(i18n.ZH) == set()
    assert set(i18n.ZH) - set(i18n.EN) == set()


def test_every_key_the_pages_use_is_in_the_catalogue():
    used = {key for text in _sources() for key in KEY.findall(text)}
    assert used, "the pattern found no keys; the test would prove nothing"
    # t("request.state." ~ r.state): a key built from a prefix needs words under that prefix
    prefixes = {key for key in used if key.endswith((".", "_"))}
    assert sorted(used - prefixes - set(i18n.EN)) == []
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in i18n.EN)) == []


def test_every_term_group_has_words_in_chinese():
    groups = {g for text in _sources() for g in TERM.findall(text)}
    assert {"status", "kind", "class", "role", "state", "severity", "alarm"} <= groups
    for group in groups:
        assert any(k.startswith(f"{group}.") for k in i18n.ZH), group


def test_chinese_uses_the_archive_words():
    t = i18n.translator("zh")
    assert (t("kind.unit"), t("kind.side"), t("kind.section"), t("kind.shelf")) == (
        "密集架", "面", "节", "层")
    assert t("class.public") == "公开"
    assert t("field.retention") == "保管期限"
    assert t("field.fonds") == "全宗"
    assert t("nav.alarms") == "告警"


def test_placeholders_match_between_languages():
    field = re.compile(r"{(\w+)}")
    for key, english in i18n.EN.items():
        assert set(field.findall(english)) == set(field.findall(i18n.ZH[key])), key


def test_language_choice_order():
    assert i18n.choose("zh", "en", "en-GB") == "zh"
    assert i18n.choose(None, "zh", "en-GB") == "zh"
    assert i18n.choose(None, None, "fr-FR, zh-CN;q=0.8, en;q=0.5") == "zh"
    assert i18n.choose("xx", None, "de-DE") == "en"
