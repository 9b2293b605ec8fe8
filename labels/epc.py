"""EPC codec for the archive's RFID tags, written from the GS1 EPC Tag Data Standard (TDS).

Boxes carry GIAI-96 (header 0x34), locations SGLN-96 (header 0x32). Both are 96 bits:

    header 8 | filter 3 | partition 3 | company prefix M | reference N | (SGLN-96: extension 41)

The partition value says how many digits the GS1 company prefix has (12 - partition, so 12..6)
and so how the remaining bits are split. Both the GIAI-96 asset reference and the SGLN-96
extension are stored as plain integers, which is why neither may start with a zero: "0123" would
come back as "123" and name a different asset.

epcpy was evaluated and not used: it encodes "0123" as if it were "123" and encodes references
too large for 96 bits into 112-bit hex instead of refusing them, and it spends ~10 µs per decode
in regular expressions, where the ingest path needs well under one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from labels.identifiers import BOX, LOCATION, InvalidIdentifier, check_number

logger = logging.getLogger(__name__)

GIAI_96 = "giai-96"
SGLN_96 = "sgln-96"
GIAI_96_HEADER = 0x34
SGLN_96_HEADER = 0x32

# TDS partition tables, indexed by partition value (= 12 - company prefix digits):
# (company prefix digits, company prefix bits, reference bits).
_GIAI_96_PARTITIONS = (
    (12, 40, 42),
    (11, 37, 45),
    (10, 34, 48),
    (9, 30, 52),
    (8, 27, 55),
    (7, 24, 58),
    (6, 20, 62),
)
# SGLN-96's location reference has 12 - prefix digits: with the prefix it makes the first 12 of
# the GLN's 13 digits (the check digit is not encoded), and it is stored as an integer.
_SGLN_96_PARTITIONS = (
    (12, 40, 1),
    (11, 37, 4),
    (10, 34, 7),
    (9, 30, 11),
    (8, 27, 14),
    (7, 24, 17),
    (6, 20, 21),
)
_EXTENSION_BITS = 41
_EXTENSION_LIMIT = 1 << _EXTENSION_BITS
_BODY_BITS = 82  # everything after header, filter and partition
_HEX_LENGTH = 24
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ASCII_DIGITS = frozenset("0123456789")
# Headers a reader in an archive is likely to see on other tags, to name them in refusals.
_OTHER_HEADERS = {
    0x00: "an unprogrammed tag",
    0x2C: "GDTI-96 (a document)",
    0x2D: "GSRN-96 (a service relation)",
    0x2E: "GSRNP-96",
    0x30: "SGTIN-96 (a trade item)",
    0x31: "SSCC-96 (a logistics unit)",
    0x33: "GRAI-96 (a returnable asset)",
    0x35: "GID-96",
    0x36: "SGTIN-198",
    0x37: "GRAI-170",
    0x38: "GIAI-202",
    0x39: "SGLN-195",
    0x3C: "CPI-96",
    0x3F: "SGCN-96",
}
# The archive's own rule (CONTRACT.md): a box's asset reference is "1" + its 8-digit number, so
# it is always 9 digits and never starts with a zero.
_BOX_REFERENCE_BASE = 100_000_000


class EpcError(InvalidIdentifier):
    """An EPC (hex or URI) that is malformed or cannot be a box or location tag; says why."""


@dataclass(frozen=True, slots=True)
class Epc:
    """One decoded GIAI-96 or SGLN-96 EPC with all its TDS representations."""

    scheme: str  # GIAI_96 or SGLN_96
    filter_value: int
    company_prefix: str
    reference: str  # GIAI: individual asset reference; SGLN: location reference
    extension: str | None  # SGLN extension; None for GIAI
    hex: str  # 24 upper-case hex digits
    pure_uri: str  # urn:epc:id:...
    tag_uri: str  # urn:epc:tag:...-96:F....

    @property
    def gs1_element_string(self) -> str:
        """Return the GS1 element string: (8004) GIAI, or (414) GLN with (254) extension."""
        if self.scheme == GIAI_96:
            return f"(8004){self.company_prefix}{self.reference}"
        gln = f"{self.company_prefix}{self.reference}"
        return f"(414){gln}{gs1_check_digit(gln)}(254){self.extension}"


def gs1_check_digit(digits: str) -> int:
    """Return the GS1 mod-10 check digit of a string of digits (e.g. the first 12 of a GLN)."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        total += int(digit) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def encode_giai_96(company_prefix: str, asset_reference: str, *, filter_value: int = 0) -> Epc:
    """Encode a GIAI as GIAI-96; the asset reference must be digits with no leading zero."""
    _check_filter(filter_value)
    partition = _partition_of(company_prefix)
    _, prefix_bits, reference_bits = _GIAI_96_PARTITIONS[partition]
    value = _integer_field(
        asset_reference, reference_bits, "GIAI-96 individual asset reference", company_prefix
    )
    word = (
        (GIAI_96_HEADER << 88)
        | (filter_value << 85)
        | (partition << 82)
        | (int(company_prefix) << (_BODY_BITS - prefix_bits))
        | value
    )
    return _giai(filter_value, company_prefix, asset_reference, f"{word:024X}")


def encode_sgln_96(
    company_prefix: str, location_reference: str, extension: str, *, filter_value: int = 0
) -> Epc:
    """Encode an SGLN as SGLN-96; the extension must be digits with no leading zero, < 2^41."""
    _check_filter(filter_value)
    partition = _partition_of(company_prefix)
    # The digit count checked here already bounds the location reference to its bit width.
    _, prefix_bits, _ = _SGLN_96_PARTITIONS[partition]
    wanted = 12 - len(company_prefix)
    if len(location_reference) != wanted or not _ASCII_DIGITS.issuperset(location_reference):
        raise EpcError(
            f"SGLN location reference {location_reference!r} must be exactly {wanted} digits "
            f"with a {len(company_prefix)}-digit company prefix (prefix + location reference "
            f"= the first 12 digits of the GLN)"
        )
    ext = _integer_field(extension, _EXTENSION_BITS, "SGLN-96 extension", company_prefix)
    word = (
        (SGLN_96_HEADER << 88)
        | (filter_value << 85)
        | (partition << 82)
        | (int(company_prefix) << (_BODY_BITS - prefix_bits))
        | (int(location_reference or "0") << _EXTENSION_BITS)
        | ext
    )
    return _sgln(filter_value, company_prefix, location_reference, extension, f"{word:024X}")


def decode_hex(text: str) -> Epc:
    """Decode 24 hex digits (either case, surrounding whitespace allowed) of GIAI-96 or SGLN-96."""
    decoded = _decode_hex(text.strip())
    if isinstance(decoded, str):
        raise EpcError(decoded)
    return decoded


def parse_uri(text: str) -> Epc:
    """Parse a GIAI/SGLN pure-identity URI or GIAI-96/SGLN-96 tag URI, in either case."""
    uri = text.strip().lower()
    parts = uri.split(":")
    if len(parts) != 5 or parts[0] != "urn" or parts[1] != "epc":
        raise EpcError(
            f"{text!r} is not an EPC URI: expected urn:epc:id:giai:PREFIX.REF, "
            f"urn:epc:id:sgln:PREFIX.LOCREF.EXT or their urn:epc:tag:giai-96 / sgln-96 forms"
        )
    _, _, level, scheme, body = parts
    fields = body.split(".")
    if level == "id" and scheme == "giai" and len(fields) == 2:
        return encode_giai_96(fields[0], fields[1])
    if level == "id" and scheme == "sgln" and len(fields) == 3:
        return encode_sgln_96(fields[0], fields[1], fields[2])
    if level == "tag" and scheme == GIAI_96 and len(fields) == 3:
        return encode_giai_96(fields[1], fields[2], filter_value=_filter_of(fields[0], text))
    if level == "tag" and scheme == SGLN_96 and len(fields) == 4:
        return encode_sgln_96(
            fields[1], fields[2], fields[3], filter_value=_filter_of(fields[0], text)
        )
    if level in ("id", "tag") and scheme in ("giai", "sgln", GIAI_96, SGLN_96):
        raise EpcError(f"{text!r} has the wrong number of dot-separated fields for {scheme}")
    if level == "tag" and scheme in ("giai-202", "sgln-195"):
        raise EpcError(f"{text!r} is {scheme.upper()}; archive tags are GIAI-96 and SGLN-96")
    raise EpcError(
        f"{text!r} is an EPC of scheme {scheme!r}, not a box (GIAI) or location (SGLN) tag"
    )


def read_tag(text: str) -> Epc | None:
    """Decode any GIAI-96 or SGLN-96 tag, hex or URI, whoever's it is; None if text is no EPC.

    Text shaped like an EPC (24 hex digits, or urn:epc:...) that is not a valid GIAI-96 or
    SGLN-96 raises EpcError saying why. Whether the tag is this archive's is box_or_location's
    question, not this one's.
    """
    found = text.strip()
    if found[:8].lower() == "urn:epc:":
        return parse_uri(found)
    if len(found) == _HEX_LENGTH and _HEX_DIGITS.issuperset(found):
        return decode_hex(found)
    return None


def box_tag(number: int, *, company_prefix: str, filter_value: int = 0) -> Epc:
    """Return the GIAI-96 EPC of box number: asset reference "1" + the 8-digit number."""
    check_number(BOX, number)
    return encode_giai_96(
        company_prefix, str(_BOX_REFERENCE_BASE + number), filter_value=filter_value
    )


def location_tag(
    number: int, *, company_prefix: str, site_number: int = 1, filter_value: int = 0
) -> Epc:
    """Return the SGLN-96 EPC of location number: site as location reference, number as extension."""
    check_number(LOCATION, number)
    return encode_sgln_96(
        company_prefix,
        site_location_reference(company_prefix, site_number),
        str(number),
        filter_value=filter_value,
    )


def box_epc(number: int, *, company_prefix: str, filter_value: int = 0) -> str:
    """Return the 24 upper-case hex digits of box number's GIAI-96 tag."""
    return box_tag(number, company_prefix=company_prefix, filter_value=filter_value).hex


def location_epc(
    number: int, *, company_prefix: str, site_number: int = 1, filter_value: int = 0
) -> str:
    """Return the 24 upper-case hex digits of location number's SGLN-96 tag."""
    return location_tag(
        number, company_prefix=company_prefix, site_number=site_number, filter_value=filter_value
    ).hex


def site_location_reference(company_prefix: str, site_number: int) -> str:
    """Return the SGLN location reference of a site: its number zero-padded to 12 - prefix digits."""
    _partition_of(company_prefix)
    digits = 12 - len(company_prefix)
    if type(site_number) is not int or not 0 <= site_number < 10**digits:
        largest = 10**digits - 1
        raise EpcError(
            f"site number {site_number!r} does not fit the {digits}-digit SGLN location "
            f"reference left by a {len(company_prefix)}-digit company prefix "
            f"(allowed 0..{largest})"
        )
    return f"{site_number:0{digits}d}" if digits else ""


def box_or_location(tag: Epc, *, company_prefix: str, site_number: int = 1) -> tuple[str, int]:
    """Return (kind, number) of the box or location this organisation's EPC names, else raise."""
    if tag.company_prefix != company_prefix:
        raise EpcError(
            f"EPC {tag.pure_uri} carries company prefix {tag.company_prefix}, but this "
            f"archive's prefix is {company_prefix}: it is another organisation's tag"
        )
    if tag.scheme == GIAI_96:
        reference = tag.reference
        if len(reference) != 9 or reference[0] != "1":
            raise EpcError(
                f"EPC {tag.pure_uri} is one of this organisation's assets but not a box: "
                f"box asset references are 1 followed by the 8-digit box number (100000123)"
            )
        return BOX, _number_in(tag, BOX, int(reference) - _BOX_REFERENCE_BASE)
    wanted = site_location_reference(company_prefix, site_number)
    if tag.reference != wanted:
        raise EpcError(
            f"EPC {tag.pure_uri} names a location at site {int(tag.reference or '0')}, "
            f"but this archive is site {site_number}"
        )
    assert tag.extension is not None  # every SGLN-96 Epc has one
    if tag.extension == "0":
        raise EpcError(
            f"EPC {tag.pure_uri} is the site's GLN without an extension; location tags "
            f"carry the location number as the extension"
        )
    return LOCATION, _number_in(tag, LOCATION, int(tag.extension))


def _number_in(tag: Epc, kind: str, number: int) -> int:
    try:
        return check_number(kind, number)
    except InvalidIdentifier as bad:
        raise EpcError(f"EPC {tag.pure_uri}: {bad}") from None


@lru_cache(maxsize=65536)
def _decode_hex(text: str) -> Epc | str:
    """Decode stripped hex text into an Epc, or return why it cannot be one (cached either way)."""
    if len(text) != _HEX_LENGTH:
        return (
            f"EPC hex {text!r} has {len(text)} characters; a GIAI-96 or SGLN-96 EPC is exactly "
            f"24 hex digits (96 bits), without PC word or CRC"
        )
    if not _HEX_DIGITS.issuperset(text):
        bad = next(ch for ch in text if ch not in _HEX_DIGITS)
        return f"EPC hex {text!r} contains {bad!r}; only 0-9 and A-F are hex digits"
    canonical = text.upper()
    word = int(text, 16)
    header = word >> 88
    if header == GIAI_96_HEADER:
        table = _GIAI_96_PARTITIONS
    elif header == SGLN_96_HEADER:
        table = _SGLN_96_PARTITIONS
    else:
        name = _OTHER_HEADERS.get(header, "not a scheme archive tags use")
        return (
            f"EPC {canonical} has header 0x{header:02X} ({name}); box tags are GIAI-96 "
            f"(0x34) and location tags SGLN-96 (0x32)"
        )
    filter_value = (word >> 85) & 0b111
    partition = (word >> 82) & 0b111
    if partition > 6:
        return f"EPC {canonical} has partition value {partition}; the TDS allows only 0..6"
    prefix_digits, prefix_bits, reference_bits = table[partition]
    reference_shift = _BODY_BITS - prefix_bits - reference_bits
    prefix_value = (word >> (_BODY_BITS - prefix_bits)) & ((1 << prefix_bits) - 1)
    if prefix_value >= 10**prefix_digits:
        return (
            f"EPC {canonical} has company prefix value {prefix_value}, more than the "
            f"{prefix_digits} digits its partition value {partition} allows"
        )
    prefix = f"{prefix_value:0{prefix_digits}d}"
    reference_value = (word >> reference_shift) & ((1 << reference_bits) - 1)
    if header == GIAI_96_HEADER:
        return _giai(filter_value, prefix, str(reference_value), canonical)
    reference_digits = 12 - prefix_digits
    if reference_value >= 10**reference_digits:
        return (
            f"EPC {canonical} has location reference value {reference_value}, more than the "
            f"{reference_digits} digits a {prefix_digits}-digit company prefix leaves"
        )
    reference = f"{reference_value:0{reference_digits}d}" if reference_digits else ""
    extension = str(word & (_EXTENSION_LIMIT - 1))
    return _sgln(filter_value, prefix, reference, extension, canonical)


def _giai(filter_value: int, prefix: str, reference: str, hex_text: str) -> Epc:
    return Epc(
        GIAI_96,
        filter_value,
        prefix,
        reference,
        None,
        hex_text,
        f"urn:epc:id:giai:{prefix}.{reference}",
        f"urn:epc:tag:giai-96:{filter_value}.{prefix}.{reference}",
    )


def _sgln(filter_value: int, prefix: str, reference: str, extension: str, hex_text: str) -> Epc:
    return Epc(
        SGLN_96,
        filter_value,
        prefix,
        reference,
        extension,
        hex_text,
        f"urn:epc:id:sgln:{prefix}.{reference}.{extension}",
        f"urn:epc:tag:sgln-96:{filter_value}.{prefix}.{reference}.{extension}",
    )


def _partition_of(company_prefix: str) -> int:
    """Return the TDS partition value of a company prefix (12 - its length), checking it."""
    if (
        not isinstance(company_prefix, str)
        or not 6 <= len(company_prefix) <= 12
        or not _ASCII_DIGITS.issuperset(company_prefix)
    ):
        raise EpcError(
            f"GS1 company prefix {company_prefix!r} must be 6 to 12 digits, e.g. 0614141"
        )
    return 12 - len(company_prefix)


def _check_filter(filter_value: int) -> None:
    if type(filter_value) is not int or not 0 <= filter_value <= 7:
        raise EpcError(f"EPC filter value must be an integer 0..7, got {filter_value!r}")


def _filter_of(field: str, text: str) -> int:
    if len(field) != 1 or field not in "01234567":
        raise EpcError(f"{text!r} has filter value {field!r}; a tag URI's filter is one digit 0..7")
    return int(field)


def _integer_field(digits: str, bits: int, what: str, company_prefix: str) -> int:
    """Check a TDS integer-encoded field (digits, no leading zero, < 2^bits) and return its value."""
    if not digits or not _ASCII_DIGITS.issuperset(digits):
        raise EpcError(
            f"{what} {digits!r} must be digits 0-9 only"
            + (" (GIAI-202 holds letters; archive tags are GIAI-96)" if "GIAI" in what else "")
        )
    if len(digits) > 1 and digits[0] == "0":
        raise EpcError(
            f"{what} {digits!r} starts with a zero: it is stored as an integer, so it would "
            f"decode as {str(int(digits))!r} and name something else"
        )
    value = int(digits)
    if value >= 1 << bits:
        raise EpcError(
            f"{what} {digits} is too large: with a {len(company_prefix)}-digit company prefix it "
            f"has {bits} bits, so at most {(1 << bits) - 1}"
        )
    return value
