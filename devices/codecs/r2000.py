"""UHF RFID reader modules of the Impinj R2000 family: binary serial framing.

Frame: ``A0 Len Addr Cmd Data... Check``; Len counts the bytes after itself
(Addr, Cmd, Data, Check); Check is the two's complement of the byte sum of
everything before it, so a whole good frame sums to 0 modulo 256.

Real-time inventory (cmd 0x89, host sends ``A0 04 Addr 89 Repeat Check``) answers
with one frame per tag seen, ``Data = FreqAnt PC(2) EPC(n) RSSI`` where the low two
bits of FreqAnt are the antenna (0-3) and the high six the frequency channel, the
PC word's top five bits give the EPC length in 16-bit words, and RSSI is roughly
dBm + 129 (its top bit selects antennas 5-8 on eight-port readers). The round ends
with ``Len=0x0A: AntID ReadRate(2) TotalRead(4)``; a failure is ``Len=0x04: ErrorCode``.
Sources read for this layout: the vendor's "UHF RFID Reader Serial Interface
Protocol" (V2.2 as shipped with YR903 modules; V3.7), and hex-in/pyImpinj
(pyImpinj/__init__.py, ImpinjProtocolFactory.handle_packet) which parses the same replies.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.codecs.errors import CodecError

HEAD = 0xA0
BROADCAST = 0xFF
CMD_SET_WORK_ANTENNA = 0x74
CMD_REAL_TIME_INVENTORY = 0x89
SUCCESS = 0x10

ERROR_NAMES = {
    0x11: "command failed",
    0x20: "MCU reset error",
    0x21: "CW on error",
    0x22: "antenna missing",
    0x31: "no tag",
    0x36: "inventory failed",
    0x41: "parameter invalid",
}

_MIN_LEN = 3  # Addr, Cmd, Check


def checksum(data: bytes) -> int:
    """Two's complement of the byte sum, as the frame's last byte."""
    return (-sum(data)) & 0xFF


def build_frame(command: int, data: bytes = b"", *, address: int = 0x01) -> bytes:
    """A complete frame for a command (host to reader, or a reply when simulating one)."""
    if len(data) > 252:
        raise ValueError("R2000 frame data is at most 252 bytes")
    body = bytes((HEAD, len(data) + 3, address & 0xFF, command & 0xFF)) + bytes(data)
    return body + bytes((checksum(body),))


def real_time_inventory(repeat: int = 1, *, address: int = 0x01) -> bytes:
    """Host command: run one real-time inventory round (`A0 04 01 89 01 D1`)."""
    return build_frame(CMD_REAL_TIME_INVENTORY, bytes((repeat & 0xFF,)), address=address)


def set_work_antenna(antenna: int, *, address: int = 0x01) -> bytes:
    """Host command: select the antenna (1-4) the next inventory uses."""
    if not 1 <= antenna <= 4:
        raise ValueError("antenna must be 1..4")
    return build_frame(CMD_SET_WORK_ANTENNA, bytes((antenna - 1,)), address=address)


@dataclass(frozen=True, slots=True)
class Frame:
    """One checksum-valid frame."""

    address: int
    command: int
    data: bytes


@dataclass(frozen=True, slots=True)
class InventoryTag:
    """A tag seen during a real-time inventory round."""

    antenna: int  # 1-based
    pc: int
    epc: str  # upper-case hex
    rssi: float  # dBm
    channel: int


@dataclass(frozen=True, slots=True)
class InventoryDone:
    """The end of an inventory round."""

    antenna: int  # 1-based
    read_rate: int
    total_reads: int


@dataclass(frozen=True, slots=True)
class ReaderError:
    """The reader reported a failure for a command."""

    command: int
    code: int

    @property
    def reason(self) -> str:
        """Readable name of the error code."""
        name = ERROR_NAMES.get(self.code, "unknown error")
        return f"reader error 0x{self.code:02X} ({name}) on command 0x{self.command:02X}"


class FrameDecoder:
    """Streaming decoder: feed byte chunks, get checksum-valid frames.

    Garbage before a frame and candidate frames with a bad checksum are skipped and
    counted (`skipped_bytes`, `bad_frames`); decoding never stops because of them.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0
        self.bad_frames = 0
        self.frames = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Consume a chunk; return the frames it completed."""
        buf = self._buf
        buf.extend(chunk)
        out: list[Frame] = []
        while buf:
            head = buf.find(HEAD)
            if head < 0:
                self.skipped_bytes += len(buf)
                buf.clear()
                break
            if head:
                self.skipped_bytes += head
                del buf[:head]
            if len(buf) < 2:
                break
            length = buf[1]
            if length < _MIN_LEN:
                # Cannot be a frame header; the A0 was garbage.
                self.skipped_bytes += 1
                del buf[:1]
                continue
            total = length + 2
            if len(buf) < total:
                # A stray A0 can announce a long frame and hold back the real frames after
                # it; if a complete valid frame already follows, the A0 was noise.
                later = self._valid_frame_after(buf)
                if later < 0:
                    break
                self.skipped_bytes += later
                del buf[:later]
                continue
            if sum(buf[:total]) & 0xFF:
                # Drop only the A0: it may have been noise, and a real frame can start inside.
                self.bad_frames += 1
                self.skipped_bytes += 1
                del buf[:1]
                continue
            out.append(Frame(buf[2], buf[3], bytes(buf[4 : total - 1])))
            self.frames += 1
            del buf[:total]
        return out

    @staticmethod
    def _valid_frame_after(buf: bytearray) -> int:
        """Offset of the first complete, checksum-valid frame after position 0, or -1."""
        pos = buf.find(HEAD, 1)
        while pos > 0 and pos + 1 < len(buf):
            length = buf[pos + 1]
            end = pos + length + 2
            if length >= _MIN_LEN and end <= len(buf) and not sum(buf[pos:end]) & 0xFF:
                return pos
            pos = buf.find(HEAD, pos + 1)
        return -1


def parse_inventory(frame: Frame) -> InventoryTag | InventoryDone | ReaderError:
    """Meaning of a real-time inventory (0x89) reply frame."""
    if frame.command != CMD_REAL_TIME_INVENTORY:
        raise CodecError(f"not an inventory reply: command 0x{frame.command:02X}")
    data = frame.data
    if len(data) == 1:
        return ReaderError(frame.command, data[0])
    if len(data) == 7:
        # An EPC reply is at least 1 + 2 + 2 + 1 bytes but never exactly 7 (EPCs are whole words).
        return InventoryDone(
            (data[0] & 0x03) + 1,
            int.from_bytes(data[1:3], "big"),
            int.from_bytes(data[3:7], "big"),
        )
    if len(data) < 6:
        raise CodecError(f"inventory reply too short ({len(data)} data bytes)")
    freq_ant = data[0]
    pc = int.from_bytes(data[1:3], "big")
    epc_len = (pc >> 11) * 2
    if epc_len == 0 or len(data) != 4 + epc_len:
        raise CodecError(
            f"PC 0x{pc:04X} announces a {epc_len}-byte EPC but the reply holds {len(data) - 4}"
        )
    raw_rssi = data[-1]
    antenna = (freq_ant & 0x03) + 1 + (4 if raw_rssi & 0x80 else 0)
    return InventoryTag(
        antenna=antenna,
        pc=pc,
        epc=data[3 : 3 + epc_len].hex().upper(),
        rssi=float((raw_rssi & 0x7F) - 129),
        channel=freq_ant >> 2,
    )


def build_tag_reply(
    epc: str, *, antenna: int, rssi: float, channel: int = 0, address: int = 0x01
) -> bytes:
    """A reader's reply frame for one tag (what a simulated reader sends)."""
    epc_bytes = bytes.fromhex(epc)
    if not epc_bytes or len(epc_bytes) % 2:
        raise ValueError("EPC must be whole 16-bit words")
    if not 1 <= antenna <= 8:
        raise ValueError("antenna must be 1..8")
    pc = (len(epc_bytes) // 2) << 11
    raw_rssi = max(0, min(0x7F, round(rssi) + 129)) | (0x80 if antenna > 4 else 0)
    freq_ant = ((channel & 0x3F) << 2) | ((antenna - 1) & 0x03)
    data = bytes((freq_ant,)) + pc.to_bytes(2, "big") + epc_bytes + bytes((raw_rssi,))
    return build_frame(CMD_REAL_TIME_INVENTORY, data, address=address)


def build_done_reply(
    *, antenna: int, read_rate: int, total_reads: int, address: int = 0x01
) -> bytes:
    """A reader's end-of-round reply frame."""
    data = (
        bytes(((antenna - 1) & 0x03,))
        + (read_rate & 0xFFFF).to_bytes(2, "big")
        + (total_reads & 0xFFFFFFFF).to_bytes(4, "big")
    )
    return build_frame(CMD_REAL_TIME_INVENTORY, data, address=address)


def build_error_reply(command: int, code: int, *, address: int = 0x01) -> bytes:
    """A reader's failure reply frame (e.g. 0x22 antenna missing)."""
    return build_frame(command, bytes((code,)), address=address)
