"""Serial barcode scanners: ASCII, one code per line, ended by CR, LF or CRLF."""

from __future__ import annotations

from devices.codecs.errors import CodecError

_PRINTABLE = frozenset(range(0x20, 0x7F))


class LineDecoder:
    """Incremental decoder: feed it byte chunks as they come, get back complete codes.

    Each finished line yields either its code (str) or a CodecError for that line
    alone (non-ASCII or control bytes, or longer than `max_line`); the lines around
    it are unaffected. Blank lines are ignored.
    """

    def __init__(self, max_line: int = 512) -> None:
        self.max_line = max_line
        self._pending = bytearray()
        self._overflow = False
        self._after_cr = False

    @property
    def pending(self) -> bytes:
        """Bytes of the line not yet ended."""
        return bytes(self._pending)

    def feed(self, chunk: bytes) -> list[str | CodecError]:
        """Consume a chunk; return the lines it completed, in order."""
        out: list[str | CodecError] = []
        start = 0
        n = len(chunk)
        # A CRLF split across two chunks: the LF belongs to the line the CR already ended.
        if self._after_cr and n and chunk[0] == 0x0A:
            start = 1
        self._after_cr = False
        while start < n:
            cr = chunk.find(b"\r", start)
            lf = chunk.find(b"\n", start)
            if cr < 0 and lf < 0:
                self._append(chunk[start:])
                break
            end = lf if cr < 0 or (0 <= lf < cr) else cr
            self._append(chunk[start:end])
            line = self._finish()
            if line is not None:
                out.append(line)
            start = end + 1
            if chunk[end] == 0x0D:
                if start < n and chunk[start] == 0x0A:
                    start += 1
                elif start == n:
                    self._after_cr = True
        return out

    def _append(self, piece: bytes) -> None:
        if self._overflow:
            return
        if len(self._pending) + len(piece) > self.max_line:
            # Keep a prefix for the reject record, drop the rest until the line ends.
            self._pending.extend(piece[: max(0, self.max_line - len(self._pending))])
            self._overflow = True
            return
        self._pending.extend(piece)

    def _finish(self) -> str | CodecError | None:
        raw = bytes(self._pending)
        overflow = self._overflow
        self._pending.clear()
        self._overflow = False
        if overflow:
            return CodecError(f"line longer than {self.max_line} bytes", raw=raw)
        if not _PRINTABLE.issuperset(raw):
            at, bad = next((i, b) for i, b in enumerate(raw) if b not in _PRINTABLE)
            if bad == 0x00:
                return CodecError(f"line contains a NUL character (byte {at})", raw=raw)
            return CodecError(
                f"line holds a non-printable or non-ASCII byte 0x{bad:02X} (byte {at})", raw=raw
            )
        code = raw.decode("ascii").strip()
        return code or None
