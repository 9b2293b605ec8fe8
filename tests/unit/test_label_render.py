"""Whole labels (PNG, SVG, PDF) scan back to their code and QR URL, in Latin and in Chinese."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image, ImageChops

from labels.epc import box_epc, location_epc
from labels.identifiers import box_code, location_code, qr_payload
from labels.render import (
    LAYOUTS,
    BoxLabel,
    LocationLabel,
    label_pdf,
    label_png,
    label_svg,
    missing_characters,
    render,
    sheet_layout,
)

BASE = "https://archive.example.org"
PREFIX = "0614141"
CHINESE_TITLE = "关于2024年度档案工作的通知"
CHINESE_PATH = "一号库房 › 03列 › A面"


def box(number: int = 123, *, chinese: bool = True) -> BoxLabel:
    code = box_code(number)
    return BoxLabel(
        code=code,
        qr_url=qr_payload(BASE, code),
        epc_hex=box_epc(number, company_prefix=PREFIX),
        fonds="J001 市档案馆" if chinese else "F12 City Council",
        years="2019–2024",
        first_title=CHINESE_TITLE if chinese else "Minutes of the planning committee",
        record_count=12,
        retention="永久" if chinese else "Permanent",
        classification="内部" if chinese else "Internal",
        home_path=CHINESE_PATH if chinese else "Store 1 › Row 03 › Side A",
    )


def location(number: int = 1042, *, chinese: bool = True) -> LocationLabel:
    code = location_code(number)
    return LocationLabel(
        code=code,
        qr_url=qr_payload(BASE, code),
        epc_hex=location_epc(number, company_prefix=PREFIX),
        path=CHINESE_PATH if chinese else "Store 1 › Row 03 › Side A",
    )


LABELS = [box(), box(chinese=False), location(), location(chinese=False)]
IDS = ["box-zh", "box-latin", "location-zh", "location-latin"]


def _decoded(image: Image.Image) -> set[tuple[str, str]]:
    return {(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)}


def _expected(label: BoxLabel | LocationLabel) -> set[tuple[str, str]]:
    return {("Code128", label.code), ("QRCode", label.qr_url)}


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("layout", ["100x50", "60x40", "a4-3x8", "a4-2x7"])
@pytest.mark.parametrize("label", LABELS, ids=IDS)
def test_png_label_scans_back_to_code_and_url(label, layout: str, dpi: int) -> None:
    image = Image.open(io.BytesIO(label_png(label, layout=layout, dpi=dpi)))
    stock = LAYOUTS[layout]
    assert image.size == (
        round(stock.label_width * dpi / 25.4),
        round(stock.label_height * dpi / 25.4),
    )
    assert _decoded(image) == _expected(label)


def test_the_bundled_font_has_every_character_of_the_chinese_samples() -> None:
    assert missing_characters(CHINESE_TITLE + CHINESE_PATH + "J001 市档案馆 永久 内部 等12件") == ""
    assert missing_characters("𠀀") == "𠀀"  # outside GB 2312: reported, not silently lost


def _png_of(label: BoxLabel) -> Image.Image:
    return Image.open(io.BytesIO(label_png(label, dpi=203))).convert("L")


def test_chinese_titles_draw_as_distinct_glyphs_not_missing_glyph_boxes() -> None:
    # Two titles of the same length: if the font lacked the glyphs both would draw the same row
    # of empty boxes, and the two images would be equal.
    one = _png_of(replace(box(), first_title="关于档案工作的通知"))
    other = _png_of(replace(box(), first_title="库房温湿度检查记录"))
    assert ImageChops.difference(one, other).getbbox() is not None


def test_a_long_title_is_cut_with_an_ellipsis_and_keeps_the_record_count() -> None:
    label = replace(box(), first_title="关于" + "档案" * 40 + "的通知")
    svg = label_svg(label, layout="60x40")
    line = next(part for part in svg.split('aria-label="')[1:] if "等12件" in part)
    title = line.split('"')[0]
    assert title.endswith("… 等12件") and title.startswith("关于档案")


def test_a_long_location_path_keeps_its_room_and_its_end() -> None:
    path = " › ".join(["一号库房", "03列", "A面", "02节", "4层", "第17格", "最后一格"])
    svg = label_svg(replace(location(), path=path), layout="60x40")
    shown = svg.split('aria-label="')[1].split('"')[0]
    assert shown.startswith("一号") and shown.endswith(" › 最后一格") and "…" in shown


def test_a_long_home_path_on_a_box_label_keeps_room_unit_and_slot() -> None:
    home = " › ".join(["Room 1", "Unit 03", "Side A", "Section 2", "Shelf 4", "Slot 17"])
    svg = label_svg(replace(box(chinese=False), home_path=home), layout="100x50")
    shown = next(part.split('"')[0] for part in svg.split('aria-label="')[1:] if "Slot 17" in part)
    assert shown == "Room 1 › Unit 03 › … › Slot 17"
    # on the small roll the unit gives way too, never the room
    svg = label_svg(replace(box(chinese=False), home_path=home), layout="60x40")
    shown = next(part.split('"')[0] for part in svg.split('aria-label="')[1:] if "Slot 17" in part)
    assert shown == "Room 1 › … › Slot 17"



@pytest.mark.parametrize("label", LABELS, ids=IDS)
def test_svg_label_rasterises_and_scans(label) -> None:
    resvg = pytest.importorskip("resvg_py", reason="resvg-py rasterises SVG for the decoder")
    svg = label_svg(label)
    assert svg.startswith("<?xml") and 'width="100mm" height="50mm"' in svg
    # Text is drawn as glyph outlines, so it needs no font where the SVG is shown...
    assert "<text" not in svg
    # ...and still says what it shows.
    assert f'aria-label="{label.code}"' in svg
    for dpi in (203.0, 300.0):
        image = Image.open(io.BytesIO(bytes(resvg.svg_to_bytes(svg_string=svg, dpi=dpi))))
        assert _decoded(image) == _expected(label)


def test_svg_draws_the_chinese_text_it_names() -> None:
    resvg = pytest.importorskip("resvg_py", reason="resvg-py rasterises SVG for the decoder")
    svg = label_svg(box())
    assert f'aria-label="{CHINESE_PATH}"' in svg
    one = Image.open(io.BytesIO(bytes(resvg.svg_to_bytes(svg_string=svg, dpi=150.0))))
    other_svg = label_svg(replace(box(), home_path="二号库房 › 05列 › B面"))
    other = Image.open(io.BytesIO(bytes(resvg.svg_to_bytes(svg_string=other_svg, dpi=150.0))))
    assert ImageChops.difference(one.convert("L"), other.convert("L")).getbbox() is not None


def _pages(pdf: bytes, dpi: int) -> list[Image.Image]:
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 rasterises PDF for the decoder")
    document = pdfium.PdfDocument(pdf)
    return [page.render(scale=dpi / 72).to_pil() for page in document]


def _pdf_text(pdf: bytes) -> list[str]:
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the PDF back")
    document = pdfium.PdfDocument(pdf)
    return [page.get_textpage().get_text_range() for page in document]


@pytest.mark.parametrize("dpi", [203, 300])
def test_pdf_sheet_every_label_scans(dpi: int) -> None:
    labels = [box(n) for n in range(1, 13)] + [location(n) for n in range(1, 13)]
    pages = _pages(label_pdf(labels, layout="a4-3x8"), dpi)
    assert len(pages) == 1  # 24 labels fill one 3x8 sheet
    expected = set().union(*(_expected(label) for label in labels))
    assert _decoded(pages[0]) == expected


def test_pdf_sheet_spills_onto_more_pages_and_reports_progress() -> None:
    labels = [box(n, chinese=n % 2 == 0) for n in range(1, 16)]
    seen: list[tuple[int, int]] = []
    pdf = label_pdf(
        labels, layout="a4-2x7", on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(n, 15) for n in range(1, 16)]
    pages = _pages(pdf, 203)
    assert len(pages) == 2  # 14 per page
    assert _decoded(pages[1]) == _expected(labels[14])


@pytest.mark.parametrize("layout", ["100x50", "60x40"])
@pytest.mark.parametrize("dpi", [203, 300])
def test_pdf_thermal_roll_has_one_label_per_page_that_scans(layout: str, dpi: int) -> None:
    labels = [box(), location(chinese=False)]
    pdf = label_pdf(labels, layout=layout)
    pages = _pages(pdf, dpi)
    stock = LAYOUTS[layout]
    assert len(pages) == 2
    width, height = pages[0].size
    assert width == pytest.approx(stock.page_width / 25.4 * dpi, abs=1)
    assert height == pytest.approx(stock.page_height / 25.4 * dpi, abs=1)
    for page, label in zip(pages, labels, strict=True):
        assert _decoded(page) == _expected(label)


def test_pdf_carries_the_chinese_text_with_an_embedded_font() -> None:
    pdf = label_pdf([box(), location()], layout="100x50")
    text = _pdf_text(pdf)
    assert CHINESE_PATH in text[1]
    assert "J001 市档案馆" in text[0] and "关于2024年度档案工作" in text[0]
    assert b"/FontFile2" in pdf  # the TrueType subset travels with the document


def test_pdf_with_the_cid_font_embeds_nothing_but_keeps_the_text() -> None:
    pdf = label_pdf([location()], layout="100x50", fonts="cid")
    assert b"STSong-Light" in pdf and b"/FontFile2" not in pdf
    assert CHINESE_PATH in _pdf_text(pdf)[0]
    assert _decoded(_pages(pdf, 300)[0]) == _expected(location())


def test_pdf_of_the_same_labels_is_the_same_bytes() -> None:
    assert label_pdf([box()], layout="60x40") == label_pdf([box()], layout="60x40")


def test_a_custom_grid_is_a_layout_too() -> None:
    grid = sheet_layout(4, 10, margin=(5.0, 8.0), gap=2.0)
    assert grid.per_page == 40
    assert grid.label_width == pytest.approx((210 - 10 - 6) / 4)
    labels = [location(n) for n in range(1, 41)]
    pages = _pages(label_pdf(labels, layout=grid), 300)
    assert len(pages) == 1
    assert len(_decoded(pages[0])) == 80


def test_render_dispatches_by_output_name() -> None:
    assert render([box()], output="pdf", layout="100x50").startswith(b"%PDF")
    assert render([box()], output="png", dpi=203).startswith(b"\x89PNG")
    assert render([box()], output="svg").startswith(b"<?xml")
    assert render([box()], output="zpl").startswith(b"^XA")
    with pytest.raises(ValueError, match="one label"):
        render([box(), box(2)], output="png")
    with pytest.raises(ValueError, match="unknown label output"):
        render([box()], output="docx")
    with pytest.raises(ValueError, match="unknown label layout"):
        label_png(box(), layout="a5-1x1")
    with pytest.raises(ValueError, match="no labels"):
        label_pdf([])


@pytest.mark.parametrize("layout", ["100x50", "60x40"])
def test_a_box_with_nothing_but_its_identifiers_still_renders_and_scans(layout: str) -> None:
    bare = BoxLabel(code=box_code(9), qr_url=qr_payload(BASE, box_code(9)))
    image = Image.open(io.BytesIO(label_png(bare, layout=layout, dpi=203)))
    assert _decoded(image) == _expected(bare)
    svg = label_svg(bare, layout=layout)
    assert svg.count("aria-label=") == 1  # the code, and no empty summary lines
