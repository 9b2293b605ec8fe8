"""Stand-alone QR and Code128 images decode with a real decoder (zxing-cpp) at printer DPIs."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from labels.barcodes import (
    code128_pattern,
    code128_png,
    code128_svg,
    dark_runs,
    qr_matrix,
    qr_modules,
    qr_png,
    qr_svg,
)
from labels.identifiers import box_code, location_code, qr_payload

BASE = "https://archive.example.org"
CODES = [box_code(123), location_code(1042)]


def _decode(image: Image.Image) -> dict[str, str]:
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(image)}


def _png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data))


def _dark_bounds(image: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the dark pixels."""
    inverted = Image.eval(image.convert("L"), lambda v: 255 - v)
    return inverted.point(lambda v: 255 if v > 128 else 0).getbbox()


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("code", CODES)
def test_qr_png_decodes_to_the_url_with_a_four_module_quiet_zone(code: str, dpi: int) -> None:
    url = qr_payload(BASE, code)
    image = _png(qr_png(url, dpi=dpi))
    assert _decode(image) == {"QRCode": url}
    assert round(image.info["dpi"][0]) == dpi
    side = qr_modules(url)
    module = image.width // (side + 8)
    assert image.width == (side + 8) * module
    left, top, right, bottom = _dark_bounds(image)
    assert (left, top) == (4 * module, 4 * module)
    assert (image.width - right, image.height - bottom) == (4 * module, 4 * module)


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("code", CODES)
def test_code128_png_decodes_with_quiet_zones_of_ten_modules(code: str, dpi: int) -> None:
    image = _png(code128_png(code, dpi=dpi))
    assert _decode(image) == {"Code128": code}
    pattern = code128_pattern(code)
    module = 2 if dpi == 203 else 3  # 0.25 mm snapped to whole dots
    row = image.convert("L").crop((0, module + 1, image.width, module + 2)).tobytes()
    dark = [i for i, value in enumerate(row) if value < 128]
    assert dark[0] >= 10 * module
    assert image.width - 1 - dark[-1] >= 10 * module
    assert dark[-1] - dark[0] + 1 == len(pattern) * module


def test_the_qr_uses_error_correction_level_q() -> None:
    url = qr_payload(BASE, CODES[0])
    result = zxingcpp.read_barcodes(_png(qr_png(url)))[0]
    assert result.ec_level == "Q"


def test_qr_matrix_is_square_and_matches_the_module_count() -> None:
    url = qr_payload(BASE, CODES[0])
    matrix = qr_matrix(url)
    assert len(matrix) == qr_modules(url)
    assert all(len(row) == len(matrix) for row in matrix)


def test_dark_runs_reads_patterns_and_boolean_rows() -> None:
    assert dark_runs("1101000111") == [(0, 2), (3, 1), (7, 3)]
    assert dark_runs([False, True, True, False]) == [(1, 2)]


@pytest.mark.parametrize("code", CODES)
def test_svgs_rasterise_and_decode(code: str) -> None:
    resvg = pytest.importorskip("resvg_py", reason="resvg-py rasterises SVG for the decoder")
    url = qr_payload(BASE, code)
    qr = Image.open(io.BytesIO(bytes(resvg.svg_to_bytes(svg_string=qr_svg(url), dpi=300.0))))
    assert _decode(qr) == {"QRCode": url}
    bars = code128_svg(code)
    assert 'width="' in bars and "mm" in bars
    image = Image.open(io.BytesIO(bytes(resvg.svg_to_bytes(svg_string=bars, dpi=300.0))))
    assert _decode(image) == {"Code128": code}
