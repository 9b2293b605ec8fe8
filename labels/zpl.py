"""ZPL II output for Zebra printers, with RFID encoding and read-back of the label's EPC.

The printer draws the barcodes itself (^BC Code128, ^BQ QR) and sets text in its own fonts: the
built-in scalable font 0 for the code, and a CJK-capable font (Zebra's Andale Simplified Chinese
by default, mapped with ^CW) for everything else, with ^CI28 so field data is UTF-8.

On an RFID printer each label also:
  ^RS8,,,3,N           sets up for Gen 2 tags; 3 labels are tried before a format is dropped;
  ^RFW,H,,,A^FD…^FS    writes the 96-bit EPC in hex to the EPC bank, adjusting the PC bits;
  ^FN1^RFR,H,0,12,E^FS reads the 12 EPC bytes back into field 1;
  ^HV1,24,<code>=…     returns field 1 to the host as "<code>=<24 hex digits>" CR LF.
A failed encode prints VOID and is retried by the printer; dropping the format afterwards (N)
keeps a batch moving, and the missing or different read-back tells the host which label failed
(see unverified()).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from labels.artwork import Artwork, Bars, Frame, QRCode, Text, compose
from labels.barcodes import MM_PER_INCH, dots
from labels.content import Label
from labels.layouts import Layout, layout_for
from labels.typefaces import CELLS

logger = logging.getLogger(__name__)

DPIS = (203, 300)
# Zebra's optional Andale Mono Simplified Chinese font, as installed on the printer's E: drive.
DEFAULT_CJK_FONT = "E:ANMDS.TTF"
CJK_FONT_LETTER = "J"
VERIFY_FIELD = 1


def _field_data(text: str) -> str:
    """^FD…^FS for text; ^, ~ and _ would end or bend the field, so they go in as hex (^FH)."""
    if any(ch in text for ch in "^~_"):
        escaped = text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")
        return f"^FH_^FD{escaped}^FS"
    return f"^FD{text}^FS"


def _rfid(label: Label) -> list[str]:
    epc = (label.epc_hex or "").upper()
    return [
        "^RS8,,,3,N",
        f"^RFW,H,,,A^FD{epc}^FS",
        f"^FN{VERIFY_FIELD}^RFR,H,0,12,E^FS",
        f"^FH_^HV{VERIFY_FIELD},24,{label.code}=,_0D_0A,L^FS",
    ]


def paint_zpl(
    art: Artwork,
    label: Label,
    *,
    dpi: int = 203,
    rfid: bool = True,
    cjk_font: str | None = DEFAULT_CJK_FONT,
) -> str:
    """One label format (^XA…^XZ) for art, with the RFID write/verify when rfid and an EPC."""
    if dpi not in DPIS:
        raise ValueError(f"ZPL resolution {dpi} dpi is not supported; use one of {DPIS}")
    scale = dpi / MM_PER_INCH

    def at(mm: float) -> int:
        return round(mm * scale)

    lines = ["^XA", "^CI28", f"^PW{at(art.width)}", f"^LL{at(art.height)}", "^LH0,0"]
    if cjk_font:
        lines.append(f"^CW{CJK_FONT_LETTER},{cjk_font}")
    if rfid and label.epc_hex:
        lines.extend(_rfid(label))
    for item in art.items:
        if isinstance(item, Text):
            font = "0" if item.bold or not cjk_font else CJK_FONT_LETTER
            size = max(10, at(item.size))
            lines.append(
                f"^FT{at(item.x)},{at(item.y)}^A{font}N,{size},{size}" + _field_data(item.text)
            )
        elif isinstance(item, Bars):
            module, height = dots(item.module, dpi, at_most=True), at(item.height)
            lines.append(
                f"^FO{at(item.x)},{at(item.y)}^BY{module},3,{height}"
                f"^BCN,{height},N,N,N,A" + _field_data(item.text)
            )
        elif isinstance(item, QRCode):
            # ^BQ magnification is dots per module, 1 to 10.
            magnification = min(10, dots(item.module, dpi, at_most=True))
            lines.append(
                f"^FO{at(item.x)},{at(item.y)}^BQN,2,{magnification}"
                + _field_data(f"QA,{item.payload}")
            )
        elif isinstance(item, Frame):
            thickness = max(1, at(item.stroke))
            lines.append(
                f"^FO{at(item.x)},{at(item.y)}^GB{at(item.width)},{at(item.height)},{thickness}^FS"
            )
    lines.extend(["^PQ1", "^XZ"])
    return "\n".join(lines) + "\n"


def label_zpl(
    labels: Sequence[Label],
    *,
    dpi: int = 203,
    layout: str | Layout = "100x50",
    rfid: bool = True,
    cjk_font: str | None = DEFAULT_CJK_FONT,
) -> str:
    """One ZPL stream with a format per label; send it to the printer encoded as UTF-8.

    cjk_font is the printer-side font file for non-code text (None: font 0, Latin only).
    """
    if not labels:
        raise ValueError("no labels to render")
    stock = layout_for(layout)
    formats = [
        paint_zpl(
            compose(label, stock.label_width, stock.label_height, CELLS),
            label,
            dpi=dpi,
            rfid=rfid,
            cjk_font=cjk_font,
        )
        for label in labels
    ]
    logger.debug("rendered %d labels as ZPL at %d dpi", len(formats), dpi)
    return "".join(formats)


def read_back(reply: str) -> dict[str, str]:
    """The EPCs an RFID printer read back (^HV lines "<code>=<hex>"), by label code."""
    found: dict[str, str] = {}
    for line in reply.splitlines():
        code, sep, epc = line.strip().partition("=")
        if sep and code:
            found[code] = epc.strip().upper()
    return found


def unverified(labels: Sequence[Label], reply: str) -> list[str]:
    """Codes of labels whose tag did not read back the EPC written to it."""
    found = read_back(reply)
    return [
        label.code
        for label in labels
        if label.epc_hex and found.get(label.code) != label.epc_hex.upper()
    ]
