"""The GIAI-96 / SGLN-96 codec against GS1's published examples, its own limits, and epcpy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labels.epc import (
    GIAI_96,
    SGLN_96,
    EpcError,
    box_epc,
    box_or_location,
    box_tag,
    decode_hex,
    encode_giai_96,
    encode_sgln_96,
    gs1_check_digit,
    location_epc,
    location_tag,
    parse_uri,
    site_location_reference,
)
from labels.identifiers import BOX, LOCATION, InvalidIdentifier

PREFIX = "0614141"  # GS1's example company prefix

# Published vectors, (tag URI, pure-identity URI, hex):
# - SGLN-96 and GIAI-96 filter-3 examples: GS1 EPC Tag Data Standard's encoding examples, as
#   reproduced in the TDT 2.x conformance tests of dannyhaak/TagDataTranslation
#   (TagDataTranslationUnitTest, TDSStandard.Sgln96_Standard / Giai96_Standard).
# - GIAI-96 with filter 1: the Fosstrak/GS1 TDT reference test testGIAI96
#   (giai=12345671, gs1companyprefixlength=7).
# - urn:epc:id:sgln:0614141.12345.400 and urn:epc:id:giai:0614141.12345400 are the TDS's own
#   pure-identity examples (sections on SGLN and GIAI); their hex was checked against epcpy.
PUBLISHED = [
    (
        "urn:epc:tag:sgln-96:3.0614141.12345.5678",
        "urn:epc:id:sgln:0614141.12345.5678",
        "3274257BF46072000000162E",
    ),
    (
        "urn:epc:tag:giai-96:3.0614141.5678",
        "urn:epc:id:giai:0614141.5678",
        "3474257BF40000000000162E",
    ),
    (
        "urn:epc:tag:giai-96:1.1234567.1",
        "urn:epc:id:giai:1234567.1",
        "34344B5A1C00000000000001",
    ),
    (
        "urn:epc:tag:sgln-96:3.0614141.12345.400",
        "urn:epc:id:sgln:0614141.12345.400",
        "3274257BF460720000000190",
    ),
    (
        "urn:epc:tag:giai-96:0.0614141.12345400",
        "urn:epc:id:giai:0614141.12345400",
        "3414257BF400000000BC6038",
    ),
]

# (prefix digits, GIAI-96 reference bits) from the TDS partition table.
GIAI_BITS = {12: 42, 11: 45, 10: 48, 9: 52, 8: 55, 7: 58, 6: 62}


@pytest.mark.parametrize(("tag_uri", "pure_uri", "hex_text"), PUBLISHED)
def test_published_vectors_decode_from_hex(tag_uri: str, pure_uri: str, hex_text: str) -> None:
    epc = decode_hex(hex_text)
    assert (epc.tag_uri, epc.pure_uri, epc.hex) == (tag_uri, pure_uri, hex_text)


@pytest.mark.parametrize(("tag_uri", "pure_uri", "hex_text"), PUBLISHED)
def test_published_vectors_encode_from_tag_uri(tag_uri: str, pure_uri: str, hex_text: str) -> None:
    epc = parse_uri(tag_uri)
    assert (epc.hex, epc.pure_uri) == (hex_text, pure_uri)
    assert parse_uri(tag_uri.upper()) == epc
    assert decode_hex(f"  {hex_text.lower()}\n") == epc


def test_decoded_fields_of_the_tds_sgln_example() -> None:
    epc = decode_hex("3274257BF46072000000162E")
    assert epc.scheme == SGLN_96
    assert epc.filter_value == 3
    assert epc.company_prefix == "0614141"
    assert epc.reference == "12345"
    assert epc.extension == "5678"
    # GLN 0614141123452 is GS1's example GLN; 2 is its check digit.
    assert epc.gs1_element_string == "(414)0614141123452(254)5678"


def test_decoded_fields_of_a_giai() -> None:
    epc = decode_hex("3474257BF40000000000162E")
    assert (epc.scheme, epc.reference, epc.extension) == (GIAI_96, "5678", None)
    assert epc.gs1_element_string == "(8004)06141415678"


def test_gs1_check_digit_of_known_keys() -> None:
    assert gs1_check_digit("061414112345") == 2  # GLN 0614141123452
    assert gs1_check_digit("0061414112345") == 2  # GTIN-14 00614141123452
    assert gs1_check_digit("400638133393") == 1  # EAN-13 4006381333931


def test_pure_identity_uri_encodes_with_filter_zero() -> None:
    epc = parse_uri("urn:epc:id:sgln:0614141.12345.5678")
    assert epc.filter_value == 0
    assert epc.hex == "3214257BF46072000000162E"


def test_the_contracts_box_and_location_examples() -> None:
    box = box_tag(123, company_prefix=PREFIX)
    assert box.pure_uri == "urn:epc:id:giai:0614141.100000123"
    assert box_epc(123, company_prefix=PREFIX) == box.hex
    location = location_tag(1042, company_prefix=PREFIX)
    assert location.pure_uri == "urn:epc:id:sgln:0614141.00001.1042"
    assert location_epc(1042, company_prefix=PREFIX) == location.hex
    assert box_or_location(decode_hex(box.hex), company_prefix=PREFIX) == (BOX, 123)
    assert box_or_location(decode_hex(location.hex), company_prefix=PREFIX) == (LOCATION, 1042)


def test_filter_value_is_kept_but_does_not_change_identity() -> None:
    tagged = box_tag(5, company_prefix=PREFIX, filter_value=6)
    plain = box_tag(5, company_prefix=PREFIX)
    assert tagged.hex != plain.hex
    assert tagged.pure_uri == plain.pure_uri
    assert decode_hex(tagged.hex).filter_value == 6
    assert box_or_location(decode_hex(tagged.hex), company_prefix=PREFIX) == (BOX, 5)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: encode_giai_96(PREFIX, "0123"), "starts with a zero"),
        (lambda: encode_giai_96(PREFIX, str(1 << 58)), "too large"),
        (lambda: encode_giai_96("061414112345", str(1 << 42)), "at most 4398046511103"),
        (lambda: encode_giai_96(PREFIX, "12AB"), "digits 0-9 only"),
        (lambda: encode_giai_96(PREFIX, ""), "digits 0-9 only"),
        (lambda: encode_giai_96("06141", "1"), "6 to 12 digits"),
        (lambda: encode_giai_96("0614141234567", "1"), "6 to 12 digits"),
        (lambda: encode_giai_96("06141A1", "1"), "6 to 12 digits"),
        (lambda: encode_giai_96("٠٦١٤١٤١", "1"), "6 to 12 digits"),  # Arabic-Indic digits
        (lambda: encode_giai_96(PREFIX, "1", filter_value=8), "0..7"),
        (lambda: encode_sgln_96(PREFIX, "1234", "1"), "exactly 5 digits"),
        (lambda: encode_sgln_96(PREFIX, "12345", "01"), "starts with a zero"),
        (lambda: encode_sgln_96(PREFIX, "12345", str(1 << 41)), "too large"),
        (lambda: box_epc(0, company_prefix=PREFIX), "out of range"),
        (lambda: box_epc(100_000_000, company_prefix=PREFIX), "out of range"),
        (lambda: location_epc(-1, company_prefix=PREFIX), "out of range"),
        (lambda: location_epc(1, company_prefix=PREFIX, site_number=100_000), "does not fit"),
        (lambda: location_epc(1, company_prefix="061414112345", site_number=1), "does not fit"),
    ],
)
def test_refuses_what_cannot_be_encoded(call, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        call()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("3414257BF400000005F5E1", "has 22 characters"),
        ("3414257BF400000005F5E17B1234", "has 28 characters"),
        ("", "has 0 characters"),
        ("3414257BF400000005F5E17G", "contains 'G'"),
        ("3074257BF7194E4000001A85", "header 0x30 \\(SGTIN-96"),  # TDS SGTIN-96 example
        ("3874257BF59B2C2BF1000000", "header 0x38 \\(GIAI-202"),
        ("E28011606000020000000001", "header 0xE2"),
        ("341C257BF40000000000007B", "partition value 7"),
        # partition 6 (6-digit prefix, 20 bits) holding 1,000,000: not a 6-digit number
        ("341BD090000000000000007B", "more than the 6 digits"),
        # SGLN-96 partition 5 (7-digit prefix) with location reference 100000 (> 5 digits)
        ("3214257BF70D400000000412", "more than the 5 digits"),
    ],
)
def test_refuses_hex_that_is_not_a_96_bit_giai_or_sgln(text: str, reason: str) -> None:
    with pytest.raises(EpcError, match=reason):
        decode_hex(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("urn:epc:id:sgtin:0614141.812345.6789", "'sgtin'"),
        ("urn:epc:tag:giai-202:3.0614141.32a%2fb", "GIAI-202"),
        ("urn:epc:tag:giai-96:8.0614141.5678", "filter value '8'"),
        ("urn:epc:tag:giai-96:0.0614141", "wrong number of dot-separated fields"),
        ("urn:epc:id:sgln:0614141.12345", "wrong number of dot-separated fields"),
        ("urn:epc:id:giai:0614141.012", "starts with a zero"),
        ("urn:epc:id:giai:0614141.ab%2f", "GIAI-202 holds letters"),
        ("urn:isbn:0451450523", "not an EPC URI"),
        ("urn:epc:id:giai", "not an EPC URI"),
    ],
)
def test_refuses_uris_that_are_not_giai_96_or_sgln_96(text: str, reason: str) -> None:
    with pytest.raises(EpcError, match=reason):
        parse_uri(text)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:giai:0614142.100000123"), company_prefix=PREFIX
            ),
            "another organisation",
        ),
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:giai:0614141.5678"), company_prefix=PREFIX
            ),
            "not a box",
        ),
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:giai:0614141.100000000"), company_prefix=PREFIX
            ),
            "out of range",
        ),
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:sgln:0614141.00002.7"), company_prefix=PREFIX
            ),
            "site 2",
        ),
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:sgln:0614141.00001.0"), company_prefix=PREFIX
            ),
            "without an extension",
        ),
        (
            lambda: box_or_location(
                parse_uri("urn:epc:id:sgln:0614141.00001.100000000"), company_prefix=PREFIX
            ),
            "out of range",
        ),
    ],
)
def test_box_or_location_refuses_tags_that_are_not_this_archives(call, reason: str) -> None:
    with pytest.raises(EpcError, match=reason):
        call()


def test_site_location_reference_is_zero_padded_to_fill_the_gln() -> None:
    assert site_location_reference("0614141", 1) == "00001"
    assert site_location_reference("061414", 42) == "000042"
    assert site_location_reference("061414112345", 0) == ""


# --- properties ----------------------------------------------------------------------------

prefix_lengths = st.integers(min_value=6, max_value=12)
filters = st.integers(min_value=0, max_value=7)


@st.composite
def company_prefixes(draw: st.DrawFn) -> str:
    length = draw(prefix_lengths)
    return draw(st.text("0123456789", min_size=length, max_size=length))


@st.composite
def giai_parts(draw: st.DrawFn) -> tuple[str, str, int]:
    prefix = draw(company_prefixes())
    reference = draw(st.integers(min_value=0, max_value=(1 << GIAI_BITS[len(prefix)]) - 1))
    return prefix, str(reference), draw(filters)


@st.composite
def sgln_parts(draw: st.DrawFn) -> tuple[str, str, str, int]:
    prefix = draw(company_prefixes())
    digits = 12 - len(prefix)
    reference = draw(st.text("0123456789", min_size=digits, max_size=digits))
    extension = draw(st.integers(min_value=0, max_value=(1 << 41) - 1))
    return prefix, reference, str(extension), draw(filters)


@given(giai_parts())
def test_every_giai_96_round_trips_through_hex_and_both_uris(parts: tuple[str, str, int]) -> None:
    prefix, reference, filter_value = parts
    epc = encode_giai_96(prefix, reference, filter_value=filter_value)
    assert len(epc.hex) == 24
    assert epc.hex.startswith("34")
    assert decode_hex(epc.hex) == epc
    assert parse_uri(epc.tag_uri) == epc
    assert parse_uri(epc.pure_uri).pure_uri == epc.pure_uri
    assert (epc.company_prefix, epc.reference) == (prefix, reference)


@given(sgln_parts())
def test_every_sgln_96_round_trips_through_hex_and_both_uris(
    parts: tuple[str, str, str, int],
) -> None:
    prefix, reference, extension, filter_value = parts
    epc = encode_sgln_96(prefix, reference, extension, filter_value=filter_value)
    assert len(epc.hex) == 24
    assert epc.hex.startswith("32")
    assert decode_hex(epc.hex) == epc
    assert parse_uri(epc.tag_uri) == epc
    assert parse_uri(epc.pure_uri).pure_uri == epc.pure_uri
    assert (epc.company_prefix, epc.reference, epc.extension) == (prefix, reference, extension)


@given(company_prefixes(), st.integers(min_value=1, max_value=99_999_999))
def test_every_box_number_round_trips_under_every_prefix_length(prefix: str, number: int) -> None:
    epc = decode_hex(box_epc(number, company_prefix=prefix))
    assert box_or_location(epc, company_prefix=prefix) == (BOX, number)


@given(company_prefixes(), st.integers(min_value=1, max_value=99_999_999), st.data())
def test_every_location_number_round_trips_under_every_prefix_length(
    prefix: str, number: int, data: st.DataObject
) -> None:
    site = data.draw(st.integers(min_value=0, max_value=10 ** (12 - len(prefix)) - 1))
    epc = decode_hex(location_epc(number, company_prefix=prefix, site_number=site))
    assert box_or_location(epc, company_prefix=prefix, site_number=site) == (LOCATION, number)


@given(st.text("0123456789abcdefABCDEF", min_size=24, max_size=24))
def test_any_24_hex_digits_decode_or_are_refused_with_a_reason(text: str) -> None:
    try:
        epc = decode_hex(text)
    except EpcError as refused:
        assert str(refused)
    else:
        assert epc.hex == text.upper()
        assert parse_uri(epc.tag_uri) == epc


# --- an independent implementation -----------------------------------------------------------


@given(giai_parts())
def test_giai_96_agrees_with_epcpy(parts: tuple[str, str, int]) -> None:
    giai = pytest.importorskip("epcpy.epc_schemes.giai")
    prefix, reference, filter_value = parts
    ours = encode_giai_96(prefix, reference, filter_value=filter_value)
    theirs = giai.GIAI(ours.pure_uri).hex(
        binary_coding_scheme=giai.GIAI.BinaryCodingScheme.GIAI_96,
        filter_value=giai.GIAIFilterValue(str(filter_value)),
    )
    assert theirs.upper() == ours.hex


@given(sgln_parts())
def test_sgln_96_agrees_with_epcpy(parts: tuple[str, str, str, int]) -> None:
    sgln = pytest.importorskip("epcpy.epc_schemes.sgln")
    prefix, reference, extension, filter_value = parts
    ours = encode_sgln_96(prefix, reference, extension, filter_value=filter_value)
    theirs = sgln.SGLN(ours.pure_uri).hex(
        binary_coding_scheme=sgln.SGLN.BinaryCodingScheme.SGLN_96,
        filter_value=sgln.SGLNFilterValue(str(filter_value)),
    )
    assert theirs.upper() == ours.hex
