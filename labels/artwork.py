"""The design of a label: what goes where, in mm, composed once and painted by each format.

compose() turns a BoxLabel or LocationLabel and a label size into an Artwork: a list of texts,
frames, a Code128 and a QR code, each at a position in mm from the label's top-left corner. The
PDF, PNG, SVG and ZPL painters only translate those items into their own drawing commands, so
all four formats show the same label.

The grid (where the QR, the bars and each text line go) depends only on the label size and the
symbols' module counts, so it is computed once per size and reused for a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from labels.barcodes import (
    CODE128_QUIET_MODULES,
    QR_QUIET_MODULES,
    code128_pattern,
    qr_matrix,
    qr_modules,
)
from labels.content import BoxLabel, Label, LocationLabel
from labels.typefaces import TRUETYPE, Metrics, fit, fit_path

# Cap height of the label typeface as a fraction of its em (Noto Sans SC: 733/1000).
CAP = 0.74
# The largest module worth printing: beyond it a bigger symbol only takes room from the text.
QR_MODULE_MAX = 1.0
BAR_MODULE_MAX = 0.5
FRAME_STROKE = 0.25


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text; (x, y) is the left end of its baseline."""

    x: float
    y: float
    size: float
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """An outlined rectangle (around retention and classification marks)."""

    x: float
    y: float
    width: float
    height: float
    stroke: float = FRAME_STROKE


@dataclass(frozen=True, slots=True)
class Bars:
    """A Code128 symbol; (x, y) is the top-left of the first bar, quiet zones lie outside."""

    x: float
    y: float
    module: float
    height: float
    text: str
    pattern: str

    @property
    def width(self) -> float:
        """Width of the bars without quiet zones, mm."""
        return len(self.pattern) * self.module


@dataclass(frozen=True, slots=True)
class QRCode:
    """A QR symbol; (x, y) is the top-left of its first module, the quiet zone lies outside."""

    x: float
    y: float
    module: float
    payload: str
    modules: int

    def matrix(self) -> list[list[bool]]:
        """The dark modules; encoded on demand because ZPL printers encode QR themselves."""
        return qr_matrix(self.payload)


Item = Text | Frame | Bars | QRCode


@dataclass(frozen=True, slots=True)
class Artwork:
    """A composed label: its size in mm and what to draw on it."""

    width: float
    height: float
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class _Grid:
    """Positions shared by every label of one size and symbol geometry."""

    pad: float
    qr_x: float
    qr_y: float
    qr_module: float
    column_x: float
    column_width: float
    bar_module: float
    top: float


@lru_cache(maxsize=512)
def _grid(width: float, height: float, qr_count: int, bar_count: int, used: float) -> _Grid:
    """Lay out the QR block on the right and the text column on the left.

    used is the height (mm) the column's content needs, so the column can be centred vertically.
    """
    pad = min(max(0.06 * min(width, height), 1.5), 4.0)
    side = min(height, 0.42 * width)
    qr_module = min(QR_MODULE_MAX, side / (qr_count + 2 * QR_QUIET_MODULES))
    side = qr_module * (qr_count + 2 * QR_QUIET_MODULES)
    qr_left = width - side
    # The bars' quiet zones must be white label, so they sit inside [0, qr_left]; the padding
    # may count towards the left quiet zone.
    bar_module = min(
        BAR_MODULE_MAX,
        (qr_left - pad) / (bar_count + CODE128_QUIET_MODULES),
        qr_left / (bar_count + 2 * CODE128_QUIET_MODULES),
    )
    column_x = max(pad, CODE128_QUIET_MODULES * bar_module)
    top = max(pad, (height - used) / 2)
    return _Grid(
        pad=pad,
        qr_x=qr_left + QR_QUIET_MODULES * qr_module,
        qr_y=(height - side) / 2 + QR_QUIET_MODULES * qr_module,
        qr_module=qr_module,
        column_x=column_x,
        column_width=qr_left - column_x - 0.5,
        bar_module=bar_module,
        top=top,
    )


def _symbols(label: Label) -> tuple[str, int]:
    return code128_pattern(label.code), qr_modules(label.qr_url)


def _qr(label: Label, grid: _Grid, count: int) -> QRCode:
    return QRCode(grid.qr_x, grid.qr_y, grid.qr_module, label.qr_url, count)


def _code_text(
    code: str, x: float, top: float, size: float, width: float, metrics: Metrics
) -> tuple[Text, float]:
    """The code in large bold type, shrunk to the column; returns it and the y below it."""
    natural = metrics.width(code, 1.0, True)
    size = min(size, width / natural) if natural else size
    baseline = top + CAP * size
    return Text(x, baseline, size, code, bold=True), baseline


def compose_box(
    label: BoxLabel, width: float, height: float, metrics: Metrics = TRUETYPE
) -> Artwork:
    """A box label: code, Code128, record summary, retention/classification, home, QR."""
    pattern, qr_count = _symbols(label)
    code_size, bar_height, line_size, gap = (
        0.17 * height,
        0.2 * height,
        0.072 * height,
        0.035 * height,
    )
    line_step = 1.3 * line_size
    used = CAP * code_size + gap + bar_height + gap + 4 * line_step
    grid = _grid(width, height, qr_count, len(pattern), used)
    x, column = grid.column_x, grid.column_width
    items: list[Item] = [_qr(label, grid, qr_count)]

    code, baseline = _code_text(label.code, x, grid.top, code_size, column, metrics)
    items.append(code)
    bars_y = baseline + gap
    items.append(Bars(x, bars_y, grid.bar_module, bar_height, label.code, pattern))

    y = bars_y + bar_height + gap
    for line in _box_lines(label, x, column, line_size, metrics):
        y += line_step
        for item in line(y):
            items.append(item)
    return Artwork(width, height, tuple(items))


def _box_lines(
    label: BoxLabel, x: float, width: float, size: float, metrics: Metrics
) -> list[Callable[[float], list[Item]]]:
    """The summary lines that have something to say, each a function of its baseline."""
    lines: list[Callable[[float], list[Item]]] = []

    def text_line(text: str, keep: str = "start") -> Callable[[float], list[Item]]:
        fitted = fit(text, width, size, metrics, keep=keep)
        return lambda y: [Text(x, y, size, fitted)]

    # The years stay whole; a long fonds name gives way.
    years = f" · {label.years}" if label.fonds and label.years else label.years
    if label.fonds or years:
        fonds = fit(label.fonds, width - metrics.width(years, size), size, metrics)
        lines.append(text_line(fonds + years))
    if label.first_title:
        # "…等12件" (and 11 more, 12 items in all) stays whole; the title gives way.
        more = f" 等{label.record_count}件" if label.record_count > 1 else ""
        title = fit(label.first_title, width - metrics.width(more, size), size, metrics)
        lines.append(text_line(title + more))
    elif label.record_count:
        lines.append(text_line(f"{label.record_count}件"))
    marks = [mark for mark in (label.retention, label.classification) if mark]
    if marks:
        lines.append(_marks_line(marks, x, width, size, metrics))
    if label.home_path:
        # Room and unit say where to walk, shelf and slot where to look: the middle gives way.
        home = fit_path(label.home_path, width, size, metrics)
        lines.append(lambda y: [Text(x, y, size, home)])
    return lines


def _marks_line(
    marks: list[str], x: float, width: float, size: float, metrics: Metrics
) -> Callable[[float], list[Item]]:
    """Retention and classification as framed marks, side by side."""
    inset = 0.3 * size

    def draw(y: float) -> list[Item]:
        items: list[Item] = []
        left, right = x, x + width
        for mark in marks:
            room = right - left - 2 * inset
            if room <= size:
                break
            text = fit(mark, room, size, metrics)
            text_width = metrics.width(text, size)
            items.append(Frame(left, y - 0.95 * size, text_width + 2 * inset, 1.22 * size))
            items.append(Text(left + inset, y, size, text))
            left += text_width + 2 * inset + size * 0.6
        return items

    return draw


def compose_location(
    label: LocationLabel, width: float, height: float, metrics: Metrics = TRUETYPE
) -> Artwork:
    """A location label: its path, code, Code128 and QR."""
    pattern, qr_count = _symbols(label)
    path_size, code_size, bar_height, gap = (
        0.12 * height,
        0.2 * height,
        0.25 * height,
        0.04 * height,
    )
    used = (1.25 * path_size if label.path else 0) + CAP * code_size + gap + bar_height
    grid = _grid(width, height, qr_count, len(pattern), used)
    x, column = grid.column_x, grid.column_width
    items: list[Item] = [_qr(label, grid, qr_count)]

    top = grid.top
    if label.path:
        # A long path first shrinks (down to two thirds), then loses its front.
        natural = metrics.width(label.path, 1.0)
        size = max(min(path_size, column / natural), path_size * 2 / 3) if natural else path_size
        items.append(
            Text(x, top + 0.88 * size, size, fit_path(label.path, column, size, metrics))
        )
        top += 1.25 * path_size
    code, baseline = _code_text(label.code, x, top, code_size, column, metrics)
    items.append(code)
    items.append(Bars(x, baseline + gap, grid.bar_module, bar_height, label.code, pattern))
    return Artwork(width, height, tuple(items))


# One composer per kind of label; adding a kind of label is one entry.
DESIGNS: dict[type, Callable[..., Artwork]] = {
    BoxLabel: compose_box,
    LocationLabel: compose_location,
}


def compose(label: Label, width: float, height: float, metrics: Metrics = TRUETYPE) -> Artwork:
    """The Artwork for label on a width x height mm label."""
    try:
        design = DESIGNS[type(label)]
    except KeyError:
        raise TypeError(f"no label design for {type(label).__name__}") from None
    return design(label, width, height, metrics)
