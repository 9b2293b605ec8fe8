"""R2000 framing: commands, a decoder that resyncs after garbage, inventory replies."""

from __future__ import annotations

import pytest

from devices.codecs import r2000
from devices.codecs.errors import CodecError

EPC = "30340BD3D4C6B44000000001"


def test_real_time_inventory_command_bytes():
    assert r2000.real_time_inventory() == bytes.fromhex("A0 04 01 89 01 D1")
    assert r2000.checksum(bytes.fromhex("A0 04 01 89 01")) == 0xD1


def test_tag_reply_decodes_to_antenna_pc_epc_rssi():
    frame_bytes = r2000.build_tag_reply(EPC, antenna=3, rssi=-58, channel=7)
    assert frame_bytes[0] == 0xA0 and frame_bytes[1] == len(frame_bytes) - 2
    assert sum(frame_bytes) % 256 == 0
    (frame,) = r2000.FrameDecoder().feed(frame_bytes)
    tag = r2000.parse_inventory(frame)
    assert tag == r2000.InventoryTag(antenna=3, pc=0x3000, epc=EPC, rssi=-58.0, channel=7)


def test_a_hand_written_reply_from_the_protocol_layout():
    # FreqAnt 0x01 (antenna 2), PC 0x3000 (6 words), 12-byte EPC, RSSI 0x4F (-50 dBm)
    body = bytes.fromhex("A0 13 01 89 01 30 00") + bytes.fromhex(EPC) + b"\x4f"
    frame_bytes = body + bytes((r2000.checksum(body),))
    (frame,) = r2000.FrameDecoder().feed(frame_bytes)
    tag = r2000.parse_inventory(frame)
    assert (tag.antenna, tag.epc, tag.rssi) == (2, EPC, -50.0)


def test_round_end_and_error_replies():
    decoder = r2000.FrameDecoder()
    done, error = decoder.feed(
        r2000.build_done_reply(antenna=1, read_rate=120, total_reads=345)
        + r2000.build_error_reply(r2000.CMD_REAL_TIME_INVENTORY, 0x22)
    )
    assert r2000.parse_inventory(done) == r2000.InventoryDone(1, 120, 345)
    err = r2000.parse_inventory(error)
    assert isinstance(err, r2000.ReaderError)
    assert "antenna missing" in err.reason


def test_garbage_between_frames_is_skipped_and_counted():
    a = r2000.build_tag_reply(EPC, antenna=1, rssi=-60)
    b = r2000.build_tag_reply(EPC[:-1] + "2", antenna=2, rssi=-61)
    junk = b"\x00\x13\xa0\x01\xffjunk"  # includes a stray A0 with an impossible length
    decoder = r2000.FrameDecoder()
    frames = decoder.feed(junk + a + b"\x55\x66" + b)
    assert [r2000.parse_inventory(f).epc for f in frames] == [EPC, EPC[:-1] + "2"]
    assert decoder.skipped_bytes >= len(junk) + 2
    assert decoder.frames == 2


def test_bad_checksum_is_counted_and_the_next_frame_still_decodes():
    good = r2000.build_tag_reply(EPC, antenna=1, rssi=-60)
    broken = bytearray(good)
    broken[-1] ^= 0x01
    decoder = r2000.FrameDecoder()
    frames = decoder.feed(bytes(broken) + good)
    assert len(frames) == 1
    assert r2000.parse_inventory(frames[0]).epc == EPC
    assert decoder.bad_frames >= 1


def test_frames_split_into_single_bytes():
    stream = b"".join(
        r2000.build_tag_reply(f"{i:024X}", antenna=1 + i % 4, rssi=-50 - i) for i in range(5)
    ) + r2000.build_done_reply(antenna=1, read_rate=5, total_reads=5)
    decoder = r2000.FrameDecoder()
    frames = []
    for i in range(len(stream)):
        frames.extend(decoder.feed(stream[i : i + 1]))
    parsed = [r2000.parse_inventory(f) for f in frames]
    assert [p.epc for p in parsed[:5]] == [f"{i:024X}" for i in range(5)]
    assert isinstance(parsed[5], r2000.InventoryDone)
    assert decoder.skipped_bytes == 0


def test_eight_port_readers_use_the_rssi_top_bit_for_antennas_5_to_8():
    (frame,) = r2000.FrameDecoder().feed(r2000.build_tag_reply(EPC, antenna=6, rssi=-40))
    tag = r2000.parse_inventory(frame)
    assert (tag.antenna, tag.rssi) == (6, -40.0)


def test_inconsistent_pc_length_is_a_codec_error():
    body = bytes.fromhex("A0 0B 01 89 00 30 00 AA BB CC DD 50")  # PC says 12 bytes, has 4
    (frame,) = r2000.FrameDecoder().feed(body + bytes((r2000.checksum(body),)))
    with pytest.raises(CodecError):
        r2000.parse_inventory(frame)
    with pytest.raises(CodecError):
        r2000.parse_inventory(r2000.Frame(1, 0x74, b"\x10"))


def test_set_work_antenna_command():
    assert r2000.set_work_antenna(2) == r2000.build_frame(0x74, b"\x01")
    with pytest.raises(ValueError):
        r2000.set_work_antenna(5)


def test_a_stray_header_announcing_a_long_frame_does_not_hold_back_real_frames():
    good = r2000.build_tag_reply(EPC, antenna=1, rssi=-60)
    decoder = r2000.FrameDecoder()
    frames = decoder.feed(b"\xa0" + good)  # the stray A0 "announces" 0xA0 bytes
    assert [r2000.parse_inventory(f).epc for f in frames] == [EPC]
    assert decoder.skipped_bytes == 1
