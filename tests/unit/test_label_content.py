"""Label content refuses what cannot be printed; layouts are a registry of label stock."""

from __future__ import annotations

import pytest

from labels.layouts import LAYOUTS, layout_for, roll_layout, sheet_layout
from labels.render import BoxLabel, LocationLabel

URL = "https://archive.example.org/s/B00000123"


def test_a_label_needs_a_printable_code_and_a_qr_payload() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        BoxLabel(code="盒123", qr_url=URL)
    with pytest.raises(ValueError, match="printable ASCII"):
        LocationLabel(code="", qr_url=URL)
    with pytest.raises(ValueError, match="qr_url"):
        BoxLabel(code="B00000123", qr_url="")


@pytest.mark.parametrize("epc", ["3034", "Z" * 24, "30340242201D8840009EFDF" + "00"])
def test_an_epc_must_be_96_bits_of_hex(epc: str) -> None:
    with pytest.raises(ValueError, match="24 hex digits"):
        BoxLabel(code="B00000123", qr_url=URL, epc_hex=epc)


def test_record_count_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        BoxLabel(code="B00000123", qr_url=URL, record_count=-1)


def test_labels_are_frozen() -> None:
    label = LocationLabel(code="L00001042", qr_url=URL)
    with pytest.raises(AttributeError):
        label.code = "L00000001"  # type: ignore[misc]


def test_registered_layouts_fit_on_their_page() -> None:
    for name, stock in LAYOUTS.items():
        assert stock.name == name
        cells = list(stock.cells())
        assert len(cells) == stock.per_page
        right = max(x for x, _ in cells) + stock.label_width
        bottom = max(y for _, y in cells) + stock.label_height
        assert right <= stock.page_width + 1e-6 and bottom <= stock.page_height + 1e-6


def test_sheet_grid_is_configurable_and_refuses_labels_too_small_to_scan() -> None:
    grid = sheet_layout(3, 8, margin=(7.0, 12.0), gap=(2.5, 0.0))
    assert grid.label_width == pytest.approx((210 - 14 - 5) / 3)
    assert grid.label_height == pytest.approx((297 - 24) / 8)
    assert list(grid.cells())[4] == pytest.approx(
        (7.0 + grid.label_width + 2.5, 12.0 + grid.label_height)
    )
    with pytest.raises(ValueError, match="20x15"):
        sheet_layout(10, 30)


def test_a_roll_is_one_label_per_page_and_layout_for_passes_layouts_through() -> None:
    roll = roll_layout(80, 30)
    assert (roll.page_width, roll.page_height, roll.per_page) == (80, 30, 1)
    assert layout_for(roll) is roll
    assert layout_for("60x40") is LAYOUTS["60x40"]
