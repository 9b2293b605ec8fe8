"""ZPL II: one format per label, UTF-8 text under ^CI28, native barcodes, RFID write and read-back."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from labels.epc import box_epc, location_epc
from labels.identifiers import box_code, location_code, qr_payload
from labels.render import BoxLabel, LocationLabel, label_zpl, read_back, unverified

BASE = "https://archive.example.org"
PREFIX = "0614141"
CHINESE_TITLE = "关于2024年度档案工作的通知"
CHINESE_PATH = "一号库房 › 03列 › A面"


def box(number: int = 123) -> BoxLabel:
    code = box_code(number)
    return BoxLabel(
        code=code,
        qr_url=qr_payload(BASE, code),
        epc_hex=box_epc(number, company_prefix=PREFIX),
        fonds="J001",
        years="2024",
        first_title=CHINESE_TITLE,
        record_count=3,
        retention="永久",
        classification="内部",
        home_path=CHINESE_PATH,
    )


def location(number: int = 1042) -> LocationLabel:
    code = location_code(number)
    return LocationLabel(
        code=code,
        qr_url=qr_payload(BASE, code),
        epc_hex=location_epc(number, company_prefix=PREFIX),
        path=CHINESE_PATH,
    )


def _formats(zpl: str) -> list[str]:
    return re.findall(r"\^XA.*?\^XZ", zpl, flags=re.DOTALL)


def test_one_format_per_label_each_with_its_own_epc_write_and_read_back() -> None:
    labels = [box(1), box(2), location(7)]
    formats = _formats(label_zpl(labels))
    assert len(formats) == 3
    for fmt, label in zip(formats, labels, strict=True):
        epc = label.epc_hex
        assert "^RS8" in fmt
        write = fmt.index(f"^RFW,H,,,A^FD{epc}^FS")
        read = fmt.index("^FN1^RFR,H,0,12,E^FS")
        verify = fmt.index(f"^HV1,24,{label.code}=,_0D_0A,L^FS")
        assert fmt.index("^RS8") < write < read < verify
        # ^HV's terminator is hex-escaped, so the field needs ^FH.
        assert f"^FH_^HV1,24,{label.code}=" in fmt


def test_epc_is_written_as_upper_case_hex() -> None:
    label = replace(box(), epc_hex=box().epc_hex.lower())
    assert f"^FD{box().epc_hex}^FS" in label_zpl([label])


def test_without_rfid_or_without_an_epc_there_are_no_rfid_commands() -> None:
    for zpl in (label_zpl([box()], rfid=False), label_zpl([replace(box(), epc_hex=None)])):
        assert "^RF" not in zpl and "^RS" not in zpl and "^HV" not in zpl


def test_chinese_text_is_utf8_under_ci28_with_a_cjk_font() -> None:
    zpl = label_zpl([box(), location()])
    for fmt in _formats(zpl):
        assert fmt.index("^CI28") < fmt.index("^FD")
        assert "^CWJ,E:ANMDS.TTF" in fmt
    data = zpl.encode("utf-8")
    assert CHINESE_PATH.encode("utf-8") in data
    assert "关于2024年度档案工作".encode() in data
    assert re.search(r"\^AJN,\d+,\d+\^FD" + re.escape(CHINESE_PATH), zpl)


def test_the_printer_draws_code128_and_qr_itself() -> None:
    label = box()
    zpl = label_zpl([label])
    assert re.search(r"\^BY\d,3,\d+\^BCN,\d+,N,N,N,A\^FD" + label.code + r"\^FS", zpl)
    # Q: error correction level, A: automatic data mode.
    assert re.search(r"\^BQN,2,\d+\^FDQA," + re.escape(label.qr_url) + r"\^FS", zpl)
    assert re.search(r"\^A0N,\d+,\d+\^FD" + label.code, zpl)  # the code in large type


@pytest.mark.parametrize(("dpi", "width", "height"), [(203, 799, 400), (300, 1181, 591)])
def test_label_size_and_every_field_fit_the_label_at_both_resolutions(dpi, width, height) -> None:
    zpl = label_zpl([box()], dpi=dpi, layout="100x50")
    assert f"^PW{width}" in zpl and f"^LL{height}" in zpl
    for x, y in re.findall(r"\^F[OT](\d+),(\d+)", zpl):
        assert 0 <= int(x) < width and 0 <= int(y) < height
    magnification = int(re.search(r"\^BQN,2,(\d+)", zpl).group(1))
    assert 1 <= magnification <= 10
    module = int(re.search(r"\^BY(\d+)", zpl).group(1))
    assert module >= 2  # a 1-dot bar does not survive a worn print head


def test_the_60x40_label_is_smaller() -> None:
    assert "^PW480" in label_zpl([location()], layout="60x40")


def test_unsupported_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="dpi"):
        label_zpl([box()], dpi=600)


def test_field_data_that_would_end_a_field_is_hex_escaped() -> None:
    zpl = label_zpl([replace(location(), path="A^B~C_D")])
    assert "^FH_^FDA_5EB_7EC_5FD^FS" in zpl
    assert "A^B" not in zpl


def test_without_a_cjk_font_all_text_uses_font_zero() -> None:
    zpl = label_zpl([box()], cjk_font=None)
    assert "^CW" not in zpl and "^AJ" not in zpl


def test_read_back_reports_the_labels_whose_tag_did_not_verify() -> None:
    labels = [box(1), box(2), box(3)]
    reply = f"{labels[0].code}={labels[0].epc_hex}\r\n{labels[1].code}=000000000000000000000000\r\n"
    assert read_back(reply)[labels[0].code] == labels[0].epc_hex
    assert unverified(labels, reply) == [labels[1].code, labels[2].code]
