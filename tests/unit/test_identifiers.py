"""Box and location codes, QR payloads, and the resolver that accepts every form of them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labels.epc import EpcError, box_epc, location_epc
from labels.identifiers import (
    BOX,
    FORMS,
    LOCATION,
    Identified,
    InvalidIdentifier,
    all_forms,
    box_code,
    identify,
    location_code,
    parse_code,
    qr_payload,
)

PREFIX = "0614141"
BASE_URL = "https://archive.example.org/twin/"


def resolve(text: str, *, company_prefix: str = PREFIX, site_number: int = 1) -> Identified | None:
    return identify(text, company_prefix=company_prefix, site_number=site_number)


def test_codes_have_a_letter_and_eight_digits() -> None:
    assert box_code(123) == "B00000123"
    assert location_code(1042) == "L00001042"
    assert box_code(99_999_999) == "B99999999"
    assert parse_code(" b00000123 ") == (BOX, 123)
    assert parse_code("L00001042\r\n") == (LOCATION, 1042)


@pytest.mark.parametrize("number", [0, -5, 100_000_000, True, 1.0])
def test_numbers_outside_one_to_99999999_have_no_code(number: object) -> None:
    with pytest.raises(InvalidIdentifier):
        box_code(number)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("B0000123", "7 digits"),
        ("B000001234", "9 digits"),
        ("B00000000", "start at 1"),
        ("X00000123", "not a box or location code"),
        ("", "not a box or location code"),
        ("B0000012a", "8 digits 0-9 only"),
        ("B０００００１２３", "8 digits 0-9 only"),  # full-width digits from an IME
    ],
)
def test_parse_code_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason) as refused:
        parse_code(text)
    assert "B00000123" in str(refused.value) or "B00000001" in str(refused.value)


def test_qr_payload_joins_base_url_and_canonical_code() -> None:
    assert qr_payload("https://x/", "B00000123") == "https://x/s/B00000123"
    assert qr_payload("https://x", "l00001042") == "https://x/s/L00001042"
    with pytest.raises(InvalidIdentifier):
        qr_payload("https://x", "B123")


def test_all_forms_of_the_contracts_examples() -> None:
    assert all_forms("B00000123", company_prefix=PREFIX, base_url="https://x/") == {
        "code": "B00000123",
        "qr": "https://x/s/B00000123",
        "epc_hex": box_epc(123, company_prefix=PREFIX),
        "epc_uri": "urn:epc:id:giai:0614141.100000123",
        "epc_tag_uri": "urn:epc:tag:giai-96:0.0614141.100000123",
    }
    forms = all_forms(" l00001042 ", company_prefix=PREFIX, base_url="https://x")
    assert forms["code"] == "L00001042"
    assert forms["epc_uri"] == "urn:epc:id:sgln:0614141.00001.1042"
    assert forms["epc_tag_uri"] == "urn:epc:tag:sgln-96:0.0614141.00001.1042"
    assert forms["epc_hex"] == location_epc(1042, company_prefix=PREFIX)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("B00000123", "code"),
        ("  b00000123\t", "code"),
        ("https://archive.example.org/twin/s/B00000123", "qr"),
        ("HTTPS://ELSEWHERE.EXAMPLE/S/B00000123", "qr"),
        ("http://archive.local:8000/s/b00000123/", "qr"),
        ("https://x/s/B00000123?utm=label#top", "qr"),
        ("3414257BF400000005F5E17B", "epc_hex"),
        (" 3414257bf400000005f5e17b\n", "epc_hex"),
        ("3474257BF400000005F5E17B", "epc_hex"),  # filter 3: same box
        ("urn:epc:id:giai:0614141.100000123", "epc_uri"),
        ("URN:EPC:ID:GIAI:0614141.100000123", "epc_uri"),
        ("urn:epc:tag:giai-96:0.0614141.100000123", "epc_tag_uri"),
        ("URN:EPC:TAG:GIAI-96:5.0614141.100000123 ", "epc_tag_uri"),
    ],
)
def test_identify_reads_every_form_of_a_box(text: str, form: str) -> None:
    assert resolve(text) == Identified(BOX, "B00000123", 123, form)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("L00001042", "code"),
        ("https://x/s/l00001042", "qr"),
        ("3214257BF400020000000412", "epc_hex"),
        ("urn:epc:id:sgln:0614141.00001.1042", "epc_uri"),
        ("urn:epc:tag:sgln-96:0.0614141.00001.1042", "epc_tag_uri"),
        ("URN:EPC:TAG:SGLN-96:2.0614141.00001.1042", "epc_tag_uri"),
    ],
)
def test_identify_reads_every_form_of_a_location(text: str, form: str) -> None:
    assert resolve(text) == Identified(LOCATION, "L00001042", 1042, form)


@pytest.mark.parametrize(
    "text",
    [
        "WS·2024·Y·0001",  # a record's reference code: the caller looks it up
        "WS-2024-Y-0001",
        "",
        "   ",
        "B",
        "Box 12",
        "Ledger of 1921",
        "https://archive.example.org/records/WS-2024",
        "urn:isbn:0451450523",
        "1234",
        "DEADBEEF",
        "3414257BF400000005F5E17X",  # 24 characters but not hex
    ],
)
def test_identify_passes_on_what_is_no_identifier(text: str) -> None:
    assert resolve(text) is None


@pytest.mark.parametrize(
    ("text", "error", "reason"),
    [
        ("B0000123", InvalidIdentifier, "7 digits"),
        ("l000010420", InvalidIdentifier, "9 digits"),
        ("B00000000", InvalidIdentifier, "start at 1"),
        ("https://x/s/B123", InvalidIdentifier, "QR URL"),
        ("https://x/s/WS-2024", InvalidIdentifier, "QR URL"),
        ("3074257BF7194E4000001A85", EpcError, "SGTIN-96"),  # a retail tag in the room
        ("E28011606000020000000001", EpcError, "header 0xE2"),  # a TID read by mistake
        ("3414257BF400000005F5E17B1234", EpcError, "28 characters"),  # PC word or CRC left on
        ("3414257BF400000005F5E1", EpcError, "22 characters"),  # truncated read
        ("3414257BF40000000000162E", EpcError, "not a box"),  # our GIAI, not a box number
        ("urn:epc:id:giai:0614142.100000123", EpcError, "another organisation"),
        ("3414257BF800000005F5E17B", EpcError, "another organisation"),
        ("urn:epc:id:giai:0614141.0100000123", EpcError, "starts with a zero"),
        ("urn:epc:id:sgln:0614141.00002.1042", EpcError, "site 2"),
        ("urn:epc:id:sgln:0614141.00001.0", EpcError, "without an extension"),
        ("urn:epc:id:sgtin:0614141.812345.6789", EpcError, "not a box"),
        ("urn:epc:tag:giai-96:9.0614141.100000123", EpcError, "filter"),
    ],
)
def test_identify_refuses_broken_identifiers_with_a_reason(
    text: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        resolve(text)


def test_a_refused_tag_is_refused_again_when_read_again() -> None:
    # The hex path caches its answers; a cached refusal must still raise, every time.
    for _ in range(3):
        with pytest.raises(EpcError, match="SGTIN-96"):
            resolve("3074257BF7194E4000001A85")


def test_site_number_and_prefix_are_the_callers_settings() -> None:
    hex_text = location_epc(7, company_prefix="12345678", site_number=42)
    assert resolve(hex_text, company_prefix="12345678", site_number=42) == Identified(
        LOCATION, "L00000007", 7, "epc_hex"
    )
    with pytest.raises(EpcError, match="site 42"):
        resolve(hex_text, company_prefix="12345678", site_number=1)
    with pytest.raises(EpcError, match="another organisation"):
        resolve(hex_text)


# --- properties ----------------------------------------------------------------------------

numbers = st.integers(min_value=1, max_value=99_999_999)
kinds = st.sampled_from([BOX, LOCATION])


@st.composite
def settings(draw: st.DrawFn) -> tuple[str, int]:
    length = draw(st.integers(min_value=6, max_value=12))
    prefix = draw(st.text("0123456789", min_size=length, max_size=length))
    site = draw(st.integers(min_value=0, max_value=10 ** (12 - length) - 1))
    return prefix, site


def _mangle(text: str, how: str) -> str:
    if how == "upper":
        text = text.upper()
    elif how == "lower":
        text = text.lower()
    return f" \t{text}\r\n"


@given(kinds, numbers, settings(), st.sampled_from(["same", "upper", "lower"]))
def test_every_number_round_trips_through_every_form(
    kind: str, number: int, setting: tuple[str, int], how: str
) -> None:
    prefix, site = setting
    code = box_code(number) if kind == BOX else location_code(number)
    forms = all_forms(code, company_prefix=prefix, base_url=BASE_URL, site_number=site)
    assert set(forms) == set(FORMS)
    for form, text in forms.items():
        found = identify(_mangle(text, how), company_prefix=prefix, site_number=site)
        assert found == Identified(kind, code, number, form)


@given(st.text(max_size=40))
def test_identify_either_answers_or_refuses_with_a_reason(text: str) -> None:
    try:
        found = identify(text, company_prefix=PREFIX)
    except InvalidIdentifier as refused:
        assert str(refused)
    else:
        if found is not None:
            assert found.code == (box_code if found.kind == BOX else location_code)(found.number)
