"""The one error every codec raises for malformed input."""

from __future__ import annotations


class CodecError(ValueError):
    """Input bytes that do not form a valid message; `reason` says why in plain words."""

    def __init__(self, reason: str, *, device_id: str | None = None, raw: bytes | None = None):
        super().__init__(reason)
        self.reason = reason
        self.device_id = device_id
        self.raw = raw
