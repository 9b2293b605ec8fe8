"""XY-MD02 (SHT20) climate sensors over Modbus RTU: frames and register meaning.

Register map: function 04 (read input registers), register 1 = temperature x10,
register 2 = relative humidity x10, both signed 16-bit. Frames end with the
CRC-16/Modbus, low byte first. The live poller talks through pymodbus and only
uses `registers_to_climate`; the simulator answers requests with these frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.codecs.errors import CodecError

READ_INPUT_REGISTERS = 0x04
TEMPERATURE_REGISTER = 1
REGISTER_COUNT = 2
REQUEST_SIZE = 8


def crc16_modbus(data: bytes) -> int:
    """CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _with_crc(body: bytes) -> bytes:
    return body + crc16_modbus(body).to_bytes(2, "little")


def _check_crc(frame: bytes) -> None:
    if len(frame) < 4:
        raise CodecError(f"Modbus frame too short ({len(frame)} bytes)")
    if crc16_modbus(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
        raise CodecError("Modbus CRC mismatch")


def _signed(value: int) -> int:
    return (value ^ 0x8000) - 0x8000


def registers_to_climate(registers: list[int] | tuple[int, ...]) -> tuple[float, float]:
    """(temperature_c, humidity_pct) from the two input registers."""
    if len(registers) != REGISTER_COUNT:
        raise CodecError(f"expected 2 registers, got {len(registers)}")
    temperature = _signed(registers[0] & 0xFFFF) / 10
    humidity = _signed(registers[1] & 0xFFFF) / 10
    if not 0.0 <= humidity <= 100.0:
        raise CodecError(f"humidity {humidity} % is outside 0..100")
    return temperature, humidity


def build_request(
    unit: int = 1, address: int = TEMPERATURE_REGISTER, count: int = REGISTER_COUNT
) -> bytes:
    """Read-input-registers request (`01 04 00 01 00 02 20 0B` for the defaults)."""
    return _with_crc(
        bytes((unit & 0xFF, READ_INPUT_REGISTERS))
        + address.to_bytes(2, "big")
        + count.to_bytes(2, "big")
    )


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded read-input-registers request."""

    unit: int
    address: int
    count: int


def parse_request(frame: bytes) -> Request:
    """Decode an 8-byte read-input-registers request (what a simulated sensor receives)."""
    if len(frame) != REQUEST_SIZE:
        raise CodecError(f"request must be {REQUEST_SIZE} bytes, got {len(frame)}")
    _check_crc(frame)
    if frame[1] != READ_INPUT_REGISTERS:
        raise CodecError(f"unsupported function 0x{frame[1]:02X}")
    return Request(frame[0], int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big"))


def build_reply(unit: int, temperature_c: float, humidity_pct: float) -> bytes:
    """The sensor's reply carrying temperature and humidity (x10, signed)."""
    t = round(temperature_c * 10)
    h = round(humidity_pct * 10)
    if not -32768 <= t <= 32767 or not -32768 <= h <= 32767:
        raise ValueError("value does not fit a signed 16-bit register")
    return _with_crc(
        bytes((unit & 0xFF, READ_INPUT_REGISTERS, 4))
        + t.to_bytes(2, "big", signed=True)
        + h.to_bytes(2, "big", signed=True)
    )


def build_exception_reply(unit: int, code: int = 0x02) -> bytes:
    """A Modbus exception reply (0x02 illegal data address by default)."""
    return _with_crc(bytes((unit & 0xFF, READ_INPUT_REGISTERS | 0x80, code & 0xFF)))


def parse_reply(frame: bytes, unit: int = 1) -> tuple[float, float]:
    """(temperature_c, humidity_pct) from a sensor's reply; CodecError if it is wrong."""
    _check_crc(frame)
    if frame[0] != unit:
        raise CodecError(f"reply from unit {frame[0]}, expected {unit}")
    if frame[1] == READ_INPUT_REGISTERS | 0x80:
        raise CodecError(f"sensor answered with Modbus exception 0x{frame[2]:02X}")
    if frame[1] != READ_INPUT_REGISTERS:
        raise CodecError(f"unexpected function 0x{frame[1]:02X}")
    if len(frame) != 9 or frame[2] != 4:
        raise CodecError("reply must carry exactly two registers")
    return registers_to_climate(
        (int.from_bytes(frame[3:5], "big"), int.from_bytes(frame[5:7], "big"))
    )
