"""Scanner line codec: codes out of arbitrary byte chunks, bad lines rejected one by one."""

from __future__ import annotations

from devices.codecs.errors import CodecError
from devices.codecs.scanner_lines import LineDecoder


def feed_all(chunks: list[bytes], decoder: LineDecoder | None = None) -> list:
    decoder = decoder or LineDecoder()
    out = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def test_cr_lf_and_crlf_all_end_a_line():
    assert feed_all([b"B00000001\rB00000002\nB00000003\r\nL00000004\n"]) == [
        "B00000001",
        "B00000002",
        "B00000003",
        "L00000004",
    ]


def test_crlf_split_across_chunks_yields_no_empty_code():
    assert feed_all([b"B00000001\r", b"\nB00000002\r", b"\n"]) == ["B00000001", "B00000002"]


def test_code_split_across_many_chunks():
    data = b"https://archive.example/s/B00000123\r\n"
    assert feed_all([data[i : i + 1] for i in range(len(data))]) == [
        "https://archive.example/s/B00000123"
    ]


def test_unfinished_line_waits_for_its_end():
    decoder = LineDecoder()
    assert decoder.feed(b"B0000") == []
    assert decoder.pending == b"B0000"
    assert decoder.feed(b"0001\n") == ["B00000001"]


def test_blank_lines_and_surrounding_spaces_are_ignored():
    assert feed_all([b"\n\r\n  B00000001  \r\r\n"]) == ["B00000001"]


def test_junk_line_is_an_error_for_that_line_only():
    out = feed_all([b"B00000001\r\n\x02\x1bB0\xffX\r\nB00000002\r\n"])
    assert out[0] == "B00000001"
    assert isinstance(out[1], CodecError)
    assert out[1].raw == b"\x02\x1bB0\xffX"
    assert "0x02" in out[1].reason
    assert out[2] == "B00000002"


def test_non_ascii_line_is_rejected():
    (err,) = feed_all(["Bö0001\n".encode()])
    assert isinstance(err, CodecError)


def test_overlong_line_is_rejected_and_the_next_line_still_decodes():
    decoder = LineDecoder(max_line=16)
    out = feed_all([b"X" * 10, b"X" * 10, b"X" * 10 + b"\nB00000001\n"], decoder)
    assert isinstance(out[0], CodecError)
    assert out[0].raw == b"X" * 16
    assert out[1] == "B00000001"


def test_a_nul_or_undecodable_byte_makes_that_line_a_reject_with_the_reason():
    out = feed_all([b"B00000001\r\nB000\x0000002\r\nB0\xc3\x28000003\r\nB00000004\r\n"])
    assert out[0] == "B00000001" and out[3] == "B00000004"
    assert isinstance(out[1], CodecError) and out[1].raw == b"B000\x0000002"
    assert out[1].reason == "line contains a NUL character (byte 4)"
    assert isinstance(out[2], CodecError) and out[2].raw == b"B0\xc3\x28000003"
    assert "0xC3" in out[2].reason and "byte 2" in out[2].reason
