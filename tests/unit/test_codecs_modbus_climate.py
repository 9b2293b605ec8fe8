"""XY-MD02 Modbus RTU frames: the request, the reply, the CRC, signed x10 values."""

from __future__ import annotations

import pytest

from devices.codecs import modbus_climate as mc
from devices.codecs.errors import CodecError

REQUEST = bytes.fromhex("01 04 00 01 00 02 20 0B")
REPLY = bytes.fromhex("01 04 04 01 31 02 22 2A CE")


def test_request_bytes_match_the_sensor_documentation():
    assert mc.build_request(1) == REQUEST
    assert mc.parse_request(REQUEST) == mc.Request(unit=1, address=1, count=2)


def test_reply_from_the_documentation_reads_30_5_c_54_6_pct():
    assert mc.parse_reply(REPLY) == (30.5, 54.6)
    assert mc.build_reply(1, 30.5, 54.6) == REPLY


def test_negative_temperatures_are_signed():
    reply = mc.build_reply(3, -12.3, 81.0)
    assert mc.parse_reply(reply, unit=3) == (-12.3, 81.0)
    assert mc.registers_to_climate([0xFF85, 500]) == (-12.3, 50.0)


def test_bad_crc_is_refused():
    broken = bytearray(REPLY)
    broken[4] ^= 0x01
    with pytest.raises(CodecError, match="CRC"):
        mc.parse_reply(bytes(broken))
    with pytest.raises(CodecError, match="CRC"):
        mc.parse_request(REQUEST[:-1] + b"\x00")


def test_wrong_unit_exception_and_short_replies_are_refused():
    with pytest.raises(CodecError, match="unit"):
        mc.parse_reply(REPLY, unit=2)
    with pytest.raises(CodecError, match="exception"):
        mc.parse_reply(mc.build_exception_reply(1, 0x02))
    with pytest.raises(CodecError):
        mc.parse_reply(REPLY[:3])
    with pytest.raises(CodecError):
        mc.parse_request(REQUEST[:6])


def test_impossible_humidity_is_refused():
    with pytest.raises(CodecError):
        mc.registers_to_climate([200, 1500])
    with pytest.raises(CodecError):
        mc.registers_to_climate([200])
