"""The MQTT JSON codec: contract payloads in, typed events out; anything else is a CodecError."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devices.codecs import mqtt_json
from devices.codecs.errors import CodecError
from devices.events import ClimateReading, DeviceStatus, LightCommand, Scan, TagRead, TagReads

ROOT = "archive/v1"
T = mqtt_json.topics(ROOT)
TS = "2024-05-06T07:08:09.123+02:00"
EPC = "30340BD3D4C6B44000000001"


def payload(**doc) -> bytes:
    return json.dumps(doc).encode()


def good_reads(**overrides) -> dict:
    doc = {
        "ts": TS,
        "seq": 7,
        "reads": [
            {"epc": EPC, "antenna": 1, "rssi": -61.5, "count": 3},
            {"epc": EPC.lower()[:-1] + "2", "antenna": 2, "rssi": -70, "count": 1},
        ],
    }
    doc.update(overrides)
    return doc


def test_reads_decode_into_one_batch():
    event = mqtt_json.decode(T.reads("r1"), payload(**good_reads()))
    assert isinstance(event, TagReads)
    assert event.device_id == "r1"
    assert event.seq == 7
    assert event.ts == datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone(timedelta(hours=2)))
    assert event.source == "archive/v1/readers/r1/reads"
    assert event.reads == (
        TagRead(EPC, 1, -61.5, 3),
        TagRead(EPC[:-1] + "2", 2, -70.0, 1),  # hex normalised to upper case
    )
    assert isinstance(event.reads[1].rssi, float)


def test_scan_climate_status_decode():
    scan = mqtt_json.decode(
        T.scans("hand-1"),
        payload(ts="2024-05-06T05:08:09Z", seq=1, code="B00000123", operator="ana"),
    )
    assert scan == Scan(
        "hand-1",
        datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC),
        1,
        "B00000123",
        "ana",
        "archive/v1/scanners/hand-1/scans",
    )
    climate = mqtt_json.decode(
        T.climate("s1"), payload(ts=TS, seq=2, temperature_c=19.5, humidity_pct=48)
    )
    assert isinstance(climate, ClimateReading)
    assert (climate.temperature_c, climate.humidity_pct) == (19.5, 48.0)
    status = mqtt_json.decode(T.status("s1"), payload(state="offline", ts=TS))
    assert isinstance(status, DeviceStatus)
    assert status.state == "offline"


def test_seq_may_be_absent_or_null():
    assert mqtt_json.decode(T.scans("x"), payload(ts=TS, code="L00000001")).seq is None
    assert mqtt_json.decode(T.scans("x"), payload(ts=TS, seq=None, code="L00000001")).seq is None


def test_every_event_round_trips_through_its_encoder():
    ts = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    events = [
        TagReads("r1", ts, 5, (TagRead(EPC, 1, -55.0, 2), TagRead(EPC[:-1] + "9", 4, -70.5, 1))),
        TagReads("r1", ts, 6, ()),
        Scan("sc", ts, 1, "WS·2024·Y·0001", None),
        Scan("sc", ts, 2, "B00000001", "bo"),
        ClimateReading("s1", ts, 3, -4.5, 99.9),
        DeviceStatus("s1", "online", ts),
    ]
    for event in events:
        topic, body = mqtt_json.encode(event, root="test/abc/archive/v1")
        back = mqtt_json.decode(topic, body, root="test/abc/archive/v1")
        assert back.__class__ is event.__class__
        for field in event.__slots__:
            if field != "source":
                assert getattr(back, field) == getattr(event, field)
        assert back.source == topic


def test_server_payloads_have_the_contract_fields():
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    twin = json.loads(
        mqtt_json.encode_box_twin(code="B00000001", location=None, status="out", ts=ts)
    )
    assert twin == {
        "code": "B00000001",
        "location": None,
        "status": "out",
        "ts": "2024-01-02T00:00:00+00:00",
    }
    alarm = json.loads(
        mqtt_json.encode_alarm(
            id=4,
            kind="climate",
            severity="high",
            subject="L00000002",
            message="RH 70 %",
            state="active",
            ts=ts,
        )
    )
    assert set(alarm) == {"id", "kind", "severity", "subject", "message", "state", "ts"}
    light = LightCommand("L00001042", True, "green", 30)
    body = mqtt_json.encode_light_command(light)
    assert json.loads(body) == {"on": True, "color": "green", "seconds": 30}
    assert mqtt_json.decode_light_command(T.light("L00001042"), body) == light


def test_topics_build_names_and_filters():
    t = mqtt_json.topics("test/xyz/archive/v1/")
    assert t.reads("r1") == "test/xyz/archive/v1/readers/r1/reads"
    assert t.box_twin("B00000001") == "test/xyz/archive/v1/twin/boxes/B00000001"
    assert t.alarm(12) == "test/xyz/archive/v1/alarms/12"
    assert t.light("L00000001") == "test/xyz/archive/v1/lights/L00000001/set"
    assert "test/xyz/archive/v1/devices/+/status" in t.device_filters()
    with pytest.raises(ValueError):
        t.reads("a/b")
    with pytest.raises(ValueError):
        t.scans("+")
    with pytest.raises(ValueError):
        mqtt_json.topics("a/#")


def test_naive_timestamps_are_refused_when_encoding():
    with pytest.raises(ValueError):
        mqtt_json.encode(DeviceStatus("d", "online", datetime(2024, 1, 1)))


def reads_with(**read) -> bytes:
    base = {"epc": EPC, "antenna": 1, "rssi": -60.0, "count": 1}
    base.update(read)
    base = {k: v for k, v in base.items() if v is not ...}
    return payload(ts=TS, seq=1, reads=[base])


MALFORMED_READS = {
    "empty payload": b"",
    "not utf-8": b'{"ts": "\xff"}',
    "truncated json": b'{"ts": "2024-05-06T07:08:09Z", "reads": [',
    "trailing garbage": payload(**good_reads()) + b"xx",
    "array not object": b"[1, 2]",
    "string not object": b'"hello"',
    "NaN literal": b'{"ts": "2024-05-06T07:08:09Z", "seq": 1, "reads": [{"epc": "3034", "antenna": 1, "rssi": NaN, "count": 1}]}',
    "Infinity literal": b'{"ts": "2024-05-06T07:08:09Z", "seq": 1, "reads": [{"epc": "3034", "antenna": 1, "rssi": -Infinity, "count": 1}]}',
    "overflowing float": b'{"ts": "2024-05-06T07:08:09Z", "seq": 1, "reads": [{"epc": "3034", "antenna": 1, "rssi": 1e999, "count": 1}]}',
    "huge int": b'{"ts": "2024-05-06T07:08:09Z", "seq": 1, "reads": [{"epc": "3034", "antenna": 1, "rssi": 1'
    + b"0" * 5000
    + b', "count": 1}]}',
    "deep nesting": b"[" * 100000 + b"]" * 100000,
    "ts missing": payload(seq=1, reads=[]),
    "ts without offset": payload(**good_reads(ts="2024-05-06T07:08:09")),
    "ts date only": payload(**good_reads(ts="2024-05-06")),
    "ts not a date": payload(**good_reads(ts="2024-13-45T07:08:09Z")),
    "ts a number": payload(**good_reads(ts=1714979289)),
    "seq negative": payload(**good_reads(seq=-1)),
    "seq a string": payload(**good_reads(seq="7")),
    "seq a float": payload(**good_reads(seq=7.0)),
    "seq a bool": payload(**good_reads(seq=True)),
    "reads missing": payload(ts=TS, seq=1),
    "reads an object": payload(**good_reads(reads={"epc": EPC})),
    "read not an object": payload(**good_reads(reads=[EPC])),
    "epc missing": reads_with(epc=...),
    "epc not hex": reads_with(epc="30340BD3D4C6B4400000000G"),
    "epc odd length": reads_with(epc="3034B"),
    "epc a number": reads_with(epc=3034),
    "epc empty": reads_with(epc=""),
    "antenna missing": reads_with(antenna=...),
    "antenna a string": reads_with(antenna="1"),
    "antenna a float": reads_with(antenna=1.0),
    "antenna negative": reads_with(antenna=-1),
    "rssi missing": reads_with(rssi=...),
    "rssi a string": reads_with(rssi="-60"),
    "rssi a bool": reads_with(rssi=True),
    "count zero": reads_with(count=0),
    "count missing": reads_with(count=...),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_READS))
def test_malformed_reads_raise_codec_error_with_device(case):
    with pytest.raises(CodecError) as info:
        mqtt_json.decode(T.reads("r9"), MALFORMED_READS[case])
    assert info.value.reason
    if MALFORMED_READS[case]:
        assert info.value.device_id == "r9"


MALFORMED_OTHERS = {
    "scan code missing": (T.scans("s"), payload(ts=TS, seq=1)),
    "scan code blank": (T.scans("s"), payload(ts=TS, seq=1, code="  ")),
    "scan code a number": (T.scans("s"), payload(ts=TS, seq=1, code=123)),
    "scan code with control": (T.scans("s"), payload(ts=TS, seq=1, code="B0\x0700")),
    "scan operator a number": (T.scans("s"), payload(ts=TS, seq=1, code="B1", operator=5)),
    "climate temperature missing": (T.climate("c"), payload(ts=TS, seq=1, humidity_pct=40)),
    "climate humidity a string": (
        T.climate("c"),
        payload(ts=TS, seq=1, temperature_c=20, humidity_pct="40"),
    ),
    "climate humidity over 100": (
        T.climate("c"),
        payload(ts=TS, seq=1, temperature_c=20, humidity_pct=140),
    ),
    "climate temperature absurd": (
        T.climate("c"),
        payload(ts=TS, seq=1, temperature_c=900, humidity_pct=40),
    ),
    "status unknown state": (T.status("d"), payload(state="sleeping", ts=TS)),
    "status ts missing": (T.status("d"), payload(state="online")),
    "unknown topic leaf": ("archive/v1/readers/r1/other", payload(**good_reads())),
    "topic too deep": ("archive/v1/readers/r1/x/reads", payload(**good_reads())),
    "empty device id": ("archive/v1/readers//reads", payload(**good_reads())),
    "other root": ("elsewhere/v1/readers/r1/reads", payload(**good_reads())),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_OTHERS))
def test_other_malformed_messages_raise_codec_error(case):
    topic, body = MALFORMED_OTHERS[case]
    with pytest.raises(CodecError):
        mqtt_json.decode(topic, body)


def test_light_command_validation():
    with pytest.raises(CodecError):
        mqtt_json.decode_light_command(T.light("L1"), payload(on="yes", color="red", seconds=3))
    with pytest.raises(CodecError):
        mqtt_json.decode_light_command(
            "archive/v1/lights/L1", payload(on=True, color="red", seconds=3)
        )


def test_a_large_batch_decodes_whole():
    reads = [
        {"epc": f"{i:024X}", "antenna": 1 + i % 4, "rssi": -60.0, "count": 1} for i in range(5000)
    ]
    event = mqtt_json.decode(T.reads("r1"), payload(ts=TS, seq=1, reads=reads))
    assert len(event.reads) == 5000
    assert event.reads[4999].epc == f"{4999:024X}"


# -- what no database column can hold is refused here, with the reason ----------------------

SEQ_MESSAGES = {
    "reads": lambda seq: (T.reads("r1"), payload(**good_reads(seq=seq))),
    "scans": lambda seq: (T.scans("s1"), payload(ts=TS, seq=seq, code="B00000001")),
    "climate": lambda seq: (T.climate("c1"),
                            payload(ts=TS, seq=seq, temperature_c=20, humidity_pct=40)),
}


@pytest.mark.parametrize("kind", sorted(SEQ_MESSAGES))
def test_seq_runs_from_zero_to_just_below_two_to_the_63(kind):
    for seq in (0, 2**31, 2**63 - 1):
        assert mqtt_json.decode(*SEQ_MESSAGES[kind](seq)).seq == seq


@pytest.mark.parametrize("kind", sorted(SEQ_MESSAGES))
@pytest.mark.parametrize("seq", [2**63, 2**64 + 5, 10**30, -1, True, False, 1.0, "1"],
                         ids=["2^63", "2^64+5", "10^30", "-1", "true", "false", "1.0", "text"])
def test_a_seq_outside_the_range_is_refused_naming_the_range(kind, seq):
    with pytest.raises(CodecError) as info:
        mqtt_json.decode(*SEQ_MESSAGES[kind](seq))
    assert "0 <= seq < 2^63" in info.value.reason
    assert info.value.device_id is not None


def _scan(**fields) -> bytes:
    # json.dumps writes a lone surrogate as the \ud800 escape a device would send
    return payload(ts=TS, seq=1, **fields)


def test_a_lone_surrogate_in_text_is_refused_with_where_it_is():
    for field, body in (("operator", _scan(code="B00000001", operator="ana\ud800x")),
                        ("code", _scan(code="B0\udfff0000001"))):
        assert b"\\ud" in body  # what arrives is valid UTF-8 JSON with an escape
        with pytest.raises(CodecError) as info:
            mqtt_json.decode(T.scans("s1"), body)
        at = 3 if field == "operator" else 2
        char = "d800" if field == "operator" else "dfff"
        assert info.value.reason == f"{field} contains a lone surrogate (\\u{char} at char {at})"
        assert info.value.device_id == "s1"


def test_a_nul_in_text_is_refused():
    for field, body in (("operator", _scan(code="B00000001", operator="an\x00a")),
                        ("code", _scan(code="B0000\x000001"))):
        assert b"\\u0000" in body
        with pytest.raises(CodecError) as info:
            mqtt_json.decode(T.scans("s1"), body)
        assert info.value.reason.startswith(f"{field} contains a NUL character")


def test_text_beyond_ascii_is_kept_as_sent():
    # a surrogate pair is one real character, not a lone surrogate
    body = _scan(code="B00000001", operator="王芳 \ud83d\udcda")
    assert mqtt_json.decode(T.scans("s1"), body).operator == "王芳 📚"
    assert mqtt_json.decode(T.scans("s1"), _scan(code="B00000001", operator="王芳")).operator == "王芳"
