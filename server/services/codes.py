"""The organisation's code scheme: how box and location numbers become codes, tags and QR URLs."""

from __future__ import annotations

from dataclasses import dataclass

from labels.epc import box_epc, location_epc
from labels.identifiers import box_code, location_code, qr_payload


@dataclass(frozen=True, slots=True)
class CodeScheme:
    """GS1 company prefix, site number and the base URL printed in QR codes."""

    company_prefix: str = "0614141"
    site_number: int = 1
    base_url: str = "http://127.0.0.1:8000"

    def box_code(self, number: int) -> str:
        """The typed code of box `number`."""
        return box_code(number)

    def location_code(self, number: int) -> str:
        """The typed code of location `number`."""
        return location_code(number)

    def box_epc(self, number: int) -> str:
        """The GIAI-96 EPC (hex) of box `number`."""
        return box_epc(number, company_prefix=self.company_prefix)

    def location_epc(self, number: int) -> str:
        """The SGLN-96 EPC (hex) of location `number`."""
        return location_epc(number, company_prefix=self.company_prefix, site_number=self.site_number)

    def qr(self, code: str) -> str:
        """The QR payload URL for a code."""
        return qr_payload(self.base_url, code)
