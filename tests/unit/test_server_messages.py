"""Every server message has its Chinese, with the same blanks, and is said in the asked language."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir

from server.services import translations
from server.services.errors import Conflict, NotFound
from server.services.translations import said, say

ROOT = Path(__file__).resolve().parents[2]


def _templates() -> set[str]:
    keywords = {name: None for name in translations.KEYWORDS}
    found = extract_from_dir(str(ROOT / "server"), method_map=[("**.py", "python")],
                             keywords=keywords, comment_tags=())
    return {message for _file, _line, message, _comments, _context in found
            if isinstance(message, str) and message}


def _blanks(text: str) -> set[tuple[str, str | None, str | None]]:
    return {(name, conversion, spec) for _literal, name, spec, conversion
            in string.Formatter().parse(text) if name is not None}


def test_every_server_message_has_chinese_with_the_same_blanks():
    chinese = translations.catalog("zh")
    templates = _templates()
    assert len(templates) > 150  # the extraction reaches the raise sites
    missing = sorted(t for t in templates if t not in chinese)
    assert missing == [], f"no Chinese in server/locale/zh/LC_MESSAGES/server.po for {missing}"
    differing = [t for t in templates if _blanks(t) != _blanks(chinese[t])]
    assert differing == []


def test_the_english_text_is_the_template_filled_in():
    error = NotFound("no box has the code {code}", code="NOPE")
    assert error.message == str(error) == "no box has the code NOPE"
    assert error.template == "no box has the code {code}" and error.params == {"code": "NOPE"}
    assert Conflict('send {"profile": name}').message == 'send {"profile": name}'


def test_say_gives_chinese_for_zh_and_english_otherwise():
    error = NotFound("no box has the code {code}", code="NOPE")
    assert say(error, "zh") == "没有编码为 NOPE 的档案盒"
    assert say(error, "en") == say(error, None) == "no box has the code NOPE"
    outcome = said("{code} shelved in {path}", code="B00000001", path="Room 1 › Shelf 4")
    assert say(outcome, "zh") == "B00000001 已上架到 Room 1 › Shelf 4"
    assert outcome.english == "B00000001 shelved in Room 1 › Shelf 4"
    assert say("a message nobody translated {x}", "zh", x=1) == "a message nobody translated 1"


def test_accept_language_picks_the_language():
    assert translations.language_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert translations.language_of("zh-Hans") == "zh"
    assert translations.language_of("en-GB,zh;q=0.5") == "en"
    assert translations.language_of("fr-FR") == "en"
    assert translations.language_of(None) == "en"
    assert translations.language_of("en;q=0.1, zh;q=0.9") == "zh"
