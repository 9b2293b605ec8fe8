"""Box and location identifiers: typed codes, QR payloads, and the resolver that reads any form.

A box is ``B`` + 8 digits and a location ``L`` + 8 digits (CONTRACT.md, "Identifiers"). The same
object is also named by a QR URL ``{base_url}/s/{code}`` and by an RFID tag's EPC (GIAI-96 for a
box, SGLN-96 for a location; see labels.epc). identify() accepts every one of those forms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from labels.epc import Epc

logger = logging.getLogger(__name__)

BOX = "box"
LOCATION = "location"
KINDS = (BOX, LOCATION)

NUMBER_MIN = 1
NUMBER_MAX = 99_999_999
CODE_DIGITS = 8

# The forms identify() reports, also the keys of all_forms().
CODE = "code"
QR = "qr"
EPC_HEX = "epc_hex"
EPC_URI = "epc_uri"
EPC_TAG_URI = "epc_tag_uri"
FORMS = (CODE, QR, EPC_HEX, EPC_URI, EPC_TAG_URI)

_LETTER = {BOX: "B", LOCATION: "L"}
_KIND_OF_LETTER = {"B": BOX, "b": BOX, "L": LOCATION, "l": LOCATION}
_EXAMPLE = {BOX: "B00000123", LOCATION: "L00001042"}
_ASCII_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_EPC_HEX_LENGTH = 24
# All-hex text this long is a mangled EPC (a truncated read, PC word or CRC left on, a 128-bit tag)
# rather than a record reference, so it is refused with a reason instead of passed on.
_EPC_LIKE_HEX_LENGTHS = range(20, 33)
_QR_PATH_MARK = "/s/"

# What text can be a code at all (the one home of that rule; server.services.scan and record
# reference codes both follow it). Every form is short, printable and unbroken: box and location
# codes, EPC hex and URIs are letters, digits and ":.-"; a QR URL holds none of these characters
# unescaped (RFC 3986); a record's reference code is refused with them when it is created.
MAX_CODE_LENGTH = 300
NEVER_IN_A_CODE = frozenset('<>"{}|\\^`')
WHAT_A_CODE_IS = (
    "a code is 1 to 300 printable characters with no spaces and none of < > \" { } | \\ ^ `: "
    "a box (B00000123) or location (L00001042) code, its QR URL (…/s/B00000123), an EPC "
    "(24 hex digits or urn:epc:…), or a record's reference code (WS·2024·Y·0001)"
)


class InvalidIdentifier(ValueError):
    """Text shaped like a box/location identifier that is not a valid one; the message says why."""


class NotACode(InvalidIdentifier):
    """Text that cannot be any code at all, not even a record's reference code."""


def cannot_be_a_code(text: str) -> str | None:
    """Say why text (already stripped) can be no code at all, or None if it might be one."""
    if not text:
        return "nothing was scanned"
    if len(text) > MAX_CODE_LENGTH:
        return f"{len(text)} characters is too long"
    for ch in text:
        if ch.isspace():
            return "it has a space inside"
        if not ch.isprintable():
            return f"it holds the control character U+{ord(ch):04X}"
        if ch in NEVER_IN_A_CODE:
            return f"it holds {ch!r}"
    return None


def scannable(text: str) -> str:
    """Return text without surrounding whitespace if it can be some code, else raise NotACode."""
    wanted = text.strip()
    why = cannot_be_a_code(wanted)
    if why is not None:
        shown = wanted if len(wanted) <= 40 else wanted[:40] + "…"
        raise NotACode(f"{shown!r} cannot be a code ({why}); {WHAT_A_CODE_IS}")
    return wanted


@dataclass(frozen=True, slots=True)
class Identified:
    """What identify() found: the box or location and the form it was written in."""

    kind: str
    code: str
    number: int
    form: str


@final  # so that `type(hit) is _Refusal` tells the type checker the other branch has none
@dataclass(frozen=True, slots=True)
class _Refusal:
    """A cached "no": the error to raise again for text already seen to be invalid."""

    error: type[InvalidIdentifier]
    message: str


def check_number(kind: str, number: int) -> int:
    """Return number if it can be a box or location number (1..99,999,999), else raise."""
    if kind not in _LETTER:
        raise InvalidIdentifier(f"unknown kind {kind!r}: expected {BOX!r} or {LOCATION!r}")
    if type(number) is not int:
        raise InvalidIdentifier(f"a {kind} number must be an int, got {number!r}")
    if not NUMBER_MIN <= number <= NUMBER_MAX:
        raise InvalidIdentifier(
            f"{kind} number {number} is out of range: numbers run "
            f"{NUMBER_MIN}..{NUMBER_MAX:,} (8 digits, e.g. {_EXAMPLE[kind]})"
        )
    return number


def code_for(kind: str, number: int) -> str:
    """Return the typed code of a box or location number, e.g. ("box", 123) -> "B00000123"."""
    check_number(kind, number)
    return f"{_LETTER[kind]}{number:08d}"


def box_code(number: int) -> str:
    """Return the code of box number, e.g. 123 -> "B00000123"."""
    return code_for(BOX, number)


def location_code(number: int) -> str:
    """Return the code of location number, e.g. 1042 -> "L00001042"."""
    return code_for(LOCATION, number)


def parse_code(text: str) -> tuple[str, int]:
    """Read a typed code such as " b00000123 " into (kind, number); raise InvalidIdentifier."""
    code = text.strip()
    kind = _KIND_OF_LETTER.get(code[:1])
    if kind is None:
        raise InvalidIdentifier(
            f"{text!r} is not a box or location code: a box code is B + 8 digits "
            f"({_EXAMPLE[BOX]}), a location code L + 8 digits ({_EXAMPLE[LOCATION]})"
        )
    digits = code[1:]
    if not _ASCII_DIGITS.issuperset(digits) or not digits:
        raise InvalidIdentifier(
            f"{text!r} is not a {kind} code: after {_LETTER[kind]} come 8 digits 0-9 only, "
            f"e.g. {_EXAMPLE[kind]}"
        )
    if len(digits) != CODE_DIGITS:
        raise InvalidIdentifier(
            f"{text!r} has {len(digits)} digits after {_LETTER[kind]}; a {kind} code has "
            f"exactly 8, e.g. {_EXAMPLE[kind]}"
        )
    number = int(digits)
    if number < NUMBER_MIN:
        raise InvalidIdentifier(
            f"{text!r} is not a {kind}: {kind} numbers start at 1 ({_LETTER[kind]}00000001)"
        )
    return kind, number


def canonical_code(text: str) -> str:
    """Return the canonical upper-case form of a typed code, e.g. " l00001042" -> "L00001042"."""
    kind, number = parse_code(text)
    return f"{_LETTER[kind]}{number:08d}"


def qr_payload(base_url: str, code: str) -> str:
    """Return the QR payload for a code: "https://x/", "B00000123" -> "https://x/s/B00000123"."""
    return f"{base_url.rstrip('/')}{_QR_PATH_MARK}{canonical_code(code)}"


def identify(text: str, *, company_prefix: str, site_number: int = 1) -> Identified | None:
    """Resolve any form of a box or location identifier; None if the text is none of them."""
    found = text.strip()
    length = len(found)
    if length == _EPC_HEX_LENGTH:
        # The hot path: readers report the same tags over and over, so the whole answer is cached.
        hit = _identify_epc_hex(found, company_prefix, site_number)
        if hit is not None:
            if type(hit) is _Refusal:
                raise hit.error(hit.message)
            return hit
    if length == 0:
        return None
    kind = _KIND_OF_LETTER.get(found[0])
    if kind is not None and _ASCII_DIGITS.issuperset(found[1:]) and length > 1:
        kind, number = parse_code(found)
        return Identified(kind, f"{_LETTER[kind]}{number:08d}", number, CODE)
    if found[:4].lower() == "urn:":
        if found[4:8].lower() != "epc:":
            return None
        return _identify_epc_uri(found, company_prefix, site_number)
    if "://" in found:
        return _identify_qr(found)
    if length in _EPC_LIKE_HEX_LENGTHS and _HEX_DIGITS.issuperset(found):
        _epc_module().decode_hex(found)  # raises EpcError naming the bad length
    return None


def all_forms(
    code: str, *, company_prefix: str, base_url: str, site_number: int = 1
) -> dict[str, str]:
    """Return every form of one box or location code: code, qr, epc_hex, epc_uri, epc_tag_uri."""
    epc = _epc_module()
    kind, number = parse_code(code)
    if kind == BOX:
        tag = epc.box_tag(number, company_prefix=company_prefix)
    else:
        tag = epc.location_tag(number, company_prefix=company_prefix, site_number=site_number)
    canonical = f"{_LETTER[kind]}{number:08d}"
    return {
        CODE: canonical,
        QR: qr_payload(base_url, canonical),
        EPC_HEX: tag.hex,
        EPC_URI: tag.pure_uri,
        EPC_TAG_URI: tag.tag_uri,
    }


def _epc_module() -> ModuleType:
    """Return labels.epc, imported on first use.

    labels.epc builds on this module (its EpcError is an InvalidIdentifier, and it checks numbers
    with check_number), so importing it at load time here would make the two modules circular.
    """
    from labels import epc

    return epc


def _identified_from_epc(tag: Epc, form: str, company_prefix: str, site_number: int) -> Identified:
    kind, number = _epc_module().box_or_location(
        tag, company_prefix=company_prefix, site_number=site_number
    )
    return Identified(kind, f"{_LETTER[kind]}{number:08d}", number, form)


@lru_cache(maxsize=65536)
def _identify_epc_hex(
    text: str, company_prefix: str, site_number: int
) -> Identified | _Refusal | None:
    """Identify 24 characters of possible EPC hex; a refusal is returned (and cached), not raised."""
    if not _HEX_DIGITS.issuperset(text):
        return None
    epc = _epc_module()
    try:
        tag = epc.decode_hex(text)
        return _identified_from_epc(tag, EPC_HEX, company_prefix, site_number)
    except InvalidIdentifier as refused:
        return _Refusal(type(refused), str(refused))


def _identify_epc_uri(text: str, company_prefix: str, site_number: int) -> Identified:
    tag = _epc_module().parse_uri(text)
    form = EPC_TAG_URI if text[8:12].lower() == "tag:" else EPC_URI
    return _identified_from_epc(tag, form, company_prefix, site_number)


def _identify_qr(text: str) -> Identified | None:
    # Only the path matters: labels are printed for one base URL but may be scanned after the
    # server moved, so any scheme and host is accepted. Query and fragment are not ours.
    end = len(text)
    for stop in ("?", "#"):
        at = text.find(stop)
        if at != -1:
            end = min(end, at)
    url = text[:end].rstrip("/")
    path_start = url.find("/", url.find("://") + 3)
    if path_start == -1:
        return None
    path = url[path_start:]
    mark = path.lower().rfind(_QR_PATH_MARK)
    if mark == -1 or "/" in path[mark + len(_QR_PATH_MARK) :]:
        return None
    written = path[mark + len(_QR_PATH_MARK) :]
    try:
        kind, number = parse_code(written)
    except InvalidIdentifier as bad:
        raise InvalidIdentifier(f"QR URL {text!r} ends in /s/ but its code is bad: {bad}") from None
    return Identified(kind, f"{_LETTER[kind]}{number:08d}", number, QR)
