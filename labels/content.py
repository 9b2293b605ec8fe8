"""What a label says, independent of the database: the server fills these, labels/ renders them."""

from __future__ import annotations

from dataclasses import dataclass

_HEX = frozenset("0123456789abcdefABCDEF")
EPC_HEX_LENGTH = 24


def _check_common(code: str, qr_url: str, epc_hex: str | None) -> None:
    # Code128 subset B carries printable ASCII only; anything else cannot become the barcode.
    if not code or not all(" " <= ch <= "~" for ch in code):
        raise ValueError(f"label code {code!r} must be non-empty printable ASCII (it is a Code128)")
    if not qr_url:
        raise ValueError(f"label {code}: the QR payload (qr_url) is empty")
    if epc_hex is not None and (len(epc_hex) != EPC_HEX_LENGTH or not set(epc_hex) <= _HEX):
        raise ValueError(
            f"label {code}: EPC {epc_hex!r} must be {EPC_HEX_LENGTH} hex digits (a 96-bit tag)"
        )


@dataclass(frozen=True, slots=True)
class BoxLabel:
    """A box label: its code, QR URL and EPC, a summary of its records, and its home location."""

    code: str
    qr_url: str
    epc_hex: str | None = None
    fonds: str = ""
    years: str = ""
    first_title: str = ""
    record_count: int = 0
    retention: str = ""
    classification: str = ""
    home_path: str = ""

    def __post_init__(self) -> None:
        _check_common(self.code, self.qr_url, self.epc_hex)
        if self.record_count < 0:
            raise ValueError(f"label {self.code}: record_count {self.record_count} is negative")


@dataclass(frozen=True, slots=True)
class LocationLabel:
    """A shelf/slot/room label: its path in the archive, code, QR URL and EPC."""

    code: str
    qr_url: str
    epc_hex: str | None = None
    path: str = ""

    def __post_init__(self) -> None:
        _check_common(self.code, self.qr_url, self.epc_hex)


Label = BoxLabel | LocationLabel
