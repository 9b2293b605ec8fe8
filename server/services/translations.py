"""What a server message says in each language: the one home of server-side wording.

A message is a key and its values, as Home Assistant's translation keys. The key is the
English text with `{name}` placeholders (a DomainError's `template`, or a `Message` from
`said`); it is the msgid of the gettext catalog server/locale/<lang>/LC_MESSAGES/server.po.
`say` fills in the text of a language, and English when the catalog has no entry. The
language of a request comes from its Accept-Language header (`from_accept_language`); the
dashboard chooses its page language with the same functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from server.services.errors import DomainError

log = logging.getLogger(__name__)

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
LOCALE = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "server"
# The names `pybabel extract` reads as message keys (their first argument): see `make catalogs`.
KEYWORDS = ("NotFound", "Invalid", "Conflict", "Forbidden", "DomainError", "TooLarge",
            "_AboveClearance", "said")


@dataclass(frozen=True, slots=True)
class Message:
    """A server message not raised as an error (a scan outcome, an alarm, a notice)."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def english(self) -> str:
        """The message in English, as logs, MQTT and the JSON API give it."""
        return fill(self.template, self.params)

    def as_json(self) -> dict[str, Any]:
        """The key and values to store (an alarm's), a value that is a message nested."""
        return {"template": self.template,
                "params": {k: v.as_json() if isinstance(v, Message) else v
                           for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Message:
        """The message `as_json` stored."""
        return cls(str(stored["template"]),
                   {k: cls.from_json(v) if isinstance(v, dict) and "template" in v else v
                    for k, v in (stored.get("params") or {}).items()})


def said(template: str, **params: Any) -> Message:
    """A message by its key (the English template) and values."""
    return Message(template, params)


def message_of(error: DomainError) -> Message:
    """The key and values of a domain error, to show later (a scan refusal, an import row)."""
    chinese = getattr(error, "message_zh", None)
    if chinese:  # it carries its own Chinese: keep that next to the English
        return Message(error.template, {**error.params, "_zh": chinese})
    return Message(error.template, dict(error.params))


def fill(template: str, params: dict[str, Any]) -> str:
    """The template with its values; without values the template is the text itself."""
    values = {k: v.english if isinstance(v, Message) else v
              for k, v in params.items() if k != "_zh"}
    return template.format(**values) if values else template


@cache
def catalog(language: str) -> dict[str, str]:
    """The translations of one language (msgid -> msgstr); empty for English or none."""
    path = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return {}
    with path.open("rb") as stream:
        read = read_po(stream, locale=language)
    return {str(m.id): str(m.string) for m in read if m.id and m.string and not m.fuzzy}


def say(subject: DomainError | Message | str, language: str | None, **params: Any) -> str:
    """The message in this language (English when it has no translation there)."""
    if isinstance(subject, DomainError):
        chinese = getattr(subject, "message_zh", None)  # errors that carry their Chinese
        if language == "zh" and chinese:
            return str(chinese)
        template, values = subject.template, subject.params
    elif isinstance(subject, Message):
        if language == "zh" and "_zh" in subject.params:
            return str(subject.params["_zh"])
        template, values = subject.template, subject.params
    else:
        template, values = subject, params
    english = fill(template, values)
    text = catalog(normalise(language) or DEFAULT_LANGUAGE).get(template)
    if text is None:
        return english
    # a value that is itself a message (an alarm's condition) is said in the same language
    values = {k: say(v, language) if isinstance(v, Message) else v for k, v in values.items()}
    try:
        return fill(text, values)
    except (KeyError, IndexError, ValueError):
        log.warning("the %s text of %r does not fill in", language, template)
        return english


def normalise(tag: str | None) -> str | None:
    """One of our languages for a tag like 'zh-CN', 'zh-Hans' or 'en-GB', else None."""
    if not tag:
        return None
    base = tag.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The language of ours the caller ranks highest in its Accept-Language header."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, options = part.strip().partition(";")
        weight = 1.0
        if options.strip().startswith("q="):
            try:
                weight = float(options.strip()[2:])
            except ValueError:
                weight = 0.0
        language = normalise(tag)
        if language and weight > 0:
            ranked.append((-weight, index, language))
    return min(ranked)[2] if ranked else None


def language_of(header: str | None) -> str:
    """The language of a request's Accept-Language (English when it names none of ours)."""
    return from_accept_language(header) or DEFAULT_LANGUAGE
