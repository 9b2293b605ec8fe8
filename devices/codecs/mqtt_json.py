"""JSON payloads on the contract's MQTT topics (CONTRACT.md, "MQTT"), both ways.

Decoding is strict: a payload that is not exactly what the contract says raises
CodecError with a reason a person can act on. Reads are the hot path (the ingest
target is 100,000 reads/s), so they are parsed with one json.loads and one tight loop.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.codecs.errors import CodecError
from devices.events import (
    BINARY_KINDS,
    ClimateReading,
    DeviceStatus,
    Event,
    LightCommand,
    Scan,
    SensorEvent,
    TagRead,
    TagReads,
)

DEFAULT_ROOT = "archive/v1"

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
# EPC-96 is 24 hex digits; the PC word allows up to 31 words, so cap there.
_EPC_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){2,62}")
_MAX_CODE = 512
_MAX_TEXT = 512
# Every column that stores seq is a signed 64-bit integer on both databases.
_SEQ_LIMIT = 2**63


# -- topics ------------------------------------------------------------------------------


def _segment(value: str, what: str) -> str:
    """Refuse ids that would change the topic's shape (wildcards, separators, empties)."""
    if not isinstance(value, str) or not value or any(c in value for c in "/+#\x00"):
        raise ValueError(f"{what} {value!r} cannot be an MQTT topic segment")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names and subscription filters under one root (default `archive/v1`)."""

    root: str = DEFAULT_ROOT

    def reads(self, reader_id: str) -> str:
        """Topic a reader publishes its tag reads on."""
        return f"{self.root}/readers/{_segment(reader_id, 'reader id')}/reads"

    def scans(self, device_id: str) -> str:
        """Topic a scanner publishes its scans on."""
        return f"{self.root}/scanners/{_segment(device_id, 'scanner id')}/scans"

    def scan_results(self, device_id: str) -> str:
        """Topic the server answers a scanner's scans on (what each scan did)."""
        return f"{self.root}/scanners/{_segment(device_id, 'scanner id')}/results"

    def climate(self, sensor_id: str) -> str:
        """Topic a climate sensor publishes on."""
        return f"{self.root}/sensors/{_segment(sensor_id, 'sensor id')}/climate"

    def sensor_events(self, sensor_id: str) -> str:
        """Topic a binary room sensor (leak, smoke, door, power, gas) publishes on."""
        return f"{self.root}/sensors/{_segment(sensor_id, 'sensor id')}/events"

    def status(self, device_id: str) -> str:
        """Retained online/offline topic of a device (also its last will)."""
        return f"{self.root}/devices/{_segment(device_id, 'device id')}/status"

    def box_twin(self, box_code: str) -> str:
        """Retained twin state of one box."""
        return f"{self.root}/twin/boxes/{_segment(box_code, 'box code')}"

    def alarm(self, alarm_id: str | int) -> str:
        """Topic an alarm's raise and clear are published on."""
        return f"{self.root}/alarms/{_segment(str(alarm_id), 'alarm id')}"

    def light(self, location_code: str) -> str:
        """Command topic of the shelf light at one location."""
        return f"{self.root}/lights/{_segment(location_code, 'location code')}/set"

    def loan_reminder(self, loan_id: str | int) -> str:
        """Topic a loan's overdue reminders are published on (lending)."""
        return f"{self.root}/loans/{_segment(str(loan_id), 'loan id')}/reminder"

    def lending_request(self, request_id: str | int) -> str:
        """Topic a lending request's steps are published on (lending)."""
        return f"{self.root}/requests/{_segment(str(request_id), 'request id')}"

    def hold_ready(self, hold_id: str | int) -> str:
        """Topic telling the next in a box's hold queue that the box is back (lending)."""
        return f"{self.root}/holds/{_segment(str(hold_id), 'hold id')}/ready"

    def device_filters(self) -> tuple[str, ...]:
        """The filters the server subscribes to (everything devices publish)."""
        r = self.root
        return (
            f"{r}/readers/+/reads",
            f"{r}/scanners/+/scans",
            f"{r}/sensors/+/climate",
            f"{r}/sensors/+/events",
            f"{r}/devices/+/status",
        )

    def lights_filter(self) -> str:
        """Filter a shelf-light controller subscribes to."""
        return f"{self.root}/lights/+/set"

    def twin_filter(self) -> str:
        """Filter for every box's retained twin state."""
        return f"{self.root}/twin/boxes/+"

    def alarms_filter(self) -> str:
        """Filter for every alarm."""
        return f"{self.root}/alarms/+"


def topics(root: str = DEFAULT_ROOT) -> Topics:
    """Topic helpers for a root; the root may have several levels but no wildcards."""
    root = root.strip("/")
    if not root or "+" in root or "#" in root:
        raise ValueError(f"topic root {root!r} is not usable")
    return Topics(root)


def split_device_topic(topic: str, root: str = DEFAULT_ROOT) -> tuple[str, str] | None:
    """(kind, device_id) of a device topic under root, kind in reads/scans/climate/status."""
    prefix = root.strip("/") + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or not parts[1]:
        return None
    kind = _DEVICE_TOPICS.get((parts[0], parts[2]))
    return (kind, parts[1]) if kind else None


_DEVICE_TOPICS = {
    ("readers", "reads"): "reads",
    ("scanners", "scans"): "scans",
    ("sensors", "climate"): "climate",
    ("sensors", "events"): "events",
    ("devices", "status"): "status",
}


# -- decoding ----------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise CodecError(f"{name} is not a number JSON allows")


def _load_object(payload: bytes) -> dict[str, Any]:
    if not payload:
        raise CodecError("empty payload")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(f"payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise CodecError(f"payload is not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise CodecError("payload is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise CodecError(f"payload is not usable JSON: {exc}") from None
    if type(doc) is not dict:
        raise CodecError(f"payload must be a JSON object, not {type(doc).__name__}")
    return doc


def parse_ts(value: Any) -> datetime:
    """An RFC 3339 timestamp with an offset (`Z` or `+hh:mm`) as an aware datetime."""
    if type(value) is not str or not _RFC3339.fullmatch(value):
        raise CodecError(f"ts must be an RFC 3339 timestamp with offset, got {value!r:.60}")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        raise CodecError(f"ts is not a real date and time: {value!r:.60}") from None


def _seq(doc: dict[str, Any]) -> int | None:
    seq = doc.get("seq")
    if seq is None:
        return None
    # `type() is int` also refuses true/false, which JSON keeps apart from numbers
    if type(seq) is not int or not 0 <= seq < _SEQ_LIMIT:
        raise CodecError(f"seq must be an integer with 0 <= seq < 2^63, got {seq!r:.40}")
    return seq


def _number(doc: dict[str, Any], key: str, where: str = "") -> float:
    value: Any = doc.get(key)
    kind = type(value)
    if kind is not float and kind is not int:
        if value is None and key not in doc:
            raise CodecError(f"{where}{key} is missing")
        raise CodecError(f"{where}{key} must be a number, got {value!r:.40}")
    try:
        value = float(value)
    except OverflowError:
        raise CodecError(f"{where}{key} is out of range") from None
    if not math.isfinite(value):
        raise CodecError(f"{where}{key} must be finite")
    return value


def _text(doc: dict[str, Any], key: str, *, optional: bool = False, limit: int = _MAX_TEXT):
    value = doc.get(key)
    if value is None:
        if optional:
            return None
        raise CodecError(f"{key} is missing")
    if type(value) is not str:
        raise CodecError(f"{key} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise CodecError(f"{key} is longer than {limit} characters")
    return _storable(value, key)


def _storable(value: str, key: str) -> str:
    """Refuse text no database can keep: a JSON `\\ud800` escape decodes to a lone surrogate,
    which is not UTF-8, and `\\u0000` to NUL, which PostgreSQL text cannot hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CodecError(
            f"{key} contains a lone surrogate (\\u{ord(value[exc.start]):04x} at char {exc.start})"
        ) from None
    nul = value.find("\x00")
    if nul >= 0:
        raise CodecError(f"{key} contains a NUL character (at char {nul})")
    return value


# Readers report the same tags over and over: remember which EPC strings were already checked
# (raw text → upper-case form); bounded, so a stream of random EPCs cannot grow it forever.
_CHECKED_EPCS: dict[str, str] = {}
_CHECKED_EPCS_MAX = 500_000


def _decode_reads(device_id: str, doc: dict[str, Any], topic: str) -> TagReads:
    ts = parse_ts(doc.get("ts"))
    seq = _seq(doc)
    raw = doc.get("reads")
    if type(raw) is not list:
        raise CodecError("reads must be a list" if "reads" in doc else "reads is missing")
    hex_match = _EPC_HEX.fullmatch
    checked_get = _CHECKED_EPCS.get
    out: list[TagRead] = []
    append = out.append
    # One tight loop with exact type checks: this is the hot path of the whole ingest.
    for i, r in enumerate(raw):
        if type(r) is not dict:
            raise CodecError(f"reads[{i}] must be an object")
        epc = r.get("epc")
        if type(epc) is not str:
            raise CodecError(f"reads[{i}].epc must be hex (whole bytes), got {epc!r:.40}")
        known = checked_get(epc)
        if known is None:
            if hex_match(epc) is None:
                raise CodecError(f"reads[{i}].epc must be hex (whole bytes), got {epc!r:.40}")
            known = epc.upper()
            if len(_CHECKED_EPCS) < _CHECKED_EPCS_MAX:
                _CHECKED_EPCS[epc] = known
        antenna = r.get("antenna")
        if type(antenna) is not int or antenna < 0:
            raise CodecError(f"reads[{i}].antenna must be a non-negative integer")
        rssi = r.get("rssi")
        if type(rssi) is not float:
            rssi = _number(r, "rssi", f"reads[{i}].")
        elif rssi - rssi != 0.0:  # inf or nan from an overflowing literal such as 1e999
            raise CodecError(f"reads[{i}].rssi must be finite")
        count = r.get("count")
        if type(count) is not int or count < 1:
            raise CodecError(f"reads[{i}].count must be a positive integer")
        append(TagRead(known, antenna, rssi, count))
    return TagReads(device_id, ts, seq, tuple(out), topic)


def _decode_scan(device_id: str, doc: dict[str, Any], topic: str) -> Scan:
    ts = parse_ts(doc.get("ts"))
    seq = _seq(doc)
    code = _text(doc, "code", limit=_MAX_CODE)
    if not code.strip():
        raise CodecError("code is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in code):
        raise CodecError("code contains control characters")
    operator = _text(doc, "operator", optional=True)
    return Scan(device_id, ts, seq, code, operator, topic)


def _decode_climate(device_id: str, doc: dict[str, Any], topic: str) -> ClimateReading:
    ts = parse_ts(doc.get("ts"))
    seq = _seq(doc)
    temperature = _number(doc, "temperature_c")
    humidity = _number(doc, "humidity_pct")
    if not -80.0 <= temperature <= 150.0:
        raise CodecError(f"temperature_c {temperature} is outside any sensor's range")
    if not 0.0 <= humidity <= 100.0:
        raise CodecError(f"humidity_pct {humidity} is outside 0..100")
    return ClimateReading(device_id, ts, seq, temperature, humidity, topic)


def _decode_sensor_event(device_id: str, doc: dict[str, Any], topic: str) -> SensorEvent:
    ts = parse_ts(doc.get("ts"))
    seq = _seq(doc)
    kind = doc.get("kind")
    if kind not in BINARY_KINDS:
        raise CodecError(f"kind must be one of {', '.join(BINARY_KINDS)}, got {kind!r:.40}")
    active = doc.get("active")
    if type(active) is not bool:
        raise CodecError("active must be true or false" if "active" in doc else "active is missing")
    return SensorEvent(device_id, ts, seq, kind, active, topic)


def _decode_status(device_id: str, doc: dict[str, Any], topic: str) -> DeviceStatus:
    state = doc.get("state")
    if state not in ("online", "offline"):
        raise CodecError(f"state must be 'online' or 'offline', got {state!r:.40}")
    return DeviceStatus(device_id, state, parse_ts(doc.get("ts")), topic)


_DECODERS: dict[str, Callable[[str, dict[str, Any], str], Event]] = {
    "reads": _decode_reads,
    "scans": _decode_scan,
    "climate": _decode_climate,
    "events": _decode_sensor_event,
    "status": _decode_status,
}


def decode(topic: str, payload: bytes, *, root: str = DEFAULT_ROOT) -> Event:
    """Decode a device message into its event; raise CodecError when it is malformed."""
    where = split_device_topic(topic, root)
    if where is None:
        raise CodecError(f"not a device topic under {root}: {topic[:120]}")
    kind, device_id = where
    try:
        doc = _load_object(payload)
        return _DECODERS[kind](device_id, doc, topic)
    except CodecError as exc:
        exc.device_id = device_id
        raise


def decode_light_command(topic: str, payload: bytes, *, root: str = DEFAULT_ROOT) -> LightCommand:
    """Decode a shelf-light command (`lights/{location_code}/set`)."""
    prefix = root.strip("/") + "/lights/"
    if not topic.startswith(prefix) or not topic.endswith("/set"):
        raise CodecError(f"not a light topic under {root}: {topic[:120]}")
    location = topic[len(prefix) : -len("/set")]
    if not location or "/" in location:
        raise CodecError(f"not a light topic under {root}: {topic[:120]}")
    doc = _load_object(payload)
    on, color, seconds = doc.get("on"), doc.get("color"), doc.get("seconds")
    if type(on) is not bool:
        raise CodecError("on must be true or false")
    if type(color) is not str or not color:
        raise CodecError("color must be a non-empty string")
    if type(seconds) is not int or seconds < 0:
        raise CodecError("seconds must be a non-negative integer")
    return LightCommand(location, on, color, seconds)


# -- encoding ----------------------------------------------------------------------------


def format_ts(ts: datetime) -> str:
    """RFC 3339 text of an aware datetime; naive datetimes are refused (ambiguous on the wire)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("timestamps on the wire need an offset; got a naive datetime")
    return ts.isoformat()


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode_tag_reads(event: TagReads) -> bytes:
    """Payload of a reader's `reads` message."""
    return _dump(
        {
            "ts": format_ts(event.ts),
            "seq": event.seq,
            "reads": [
                {"epc": r.epc, "antenna": r.antenna, "rssi": r.rssi, "count": r.count}
                for r in event.reads
            ],
        }
    )


def encode_scan(event: Scan) -> bytes:
    """Payload of a scanner's `scans` message."""
    doc: dict[str, Any] = {"ts": format_ts(event.ts), "seq": event.seq, "code": event.code}
    if event.operator is not None:
        doc["operator"] = event.operator
    return _dump(doc)


def encode_climate(event: ClimateReading) -> bytes:
    """Payload of a sensor's `climate` message."""
    return _dump(
        {
            "ts": format_ts(event.ts),
            "seq": event.seq,
            "temperature_c": event.temperature_c,
            "humidity_pct": event.humidity_pct,
        }
    )


def encode_sensor_event(event: SensorEvent) -> bytes:
    """Payload of a binary room sensor's `events` message."""
    return _dump({"ts": format_ts(event.ts), "seq": event.seq, "kind": event.kind,
                  "active": event.active})


def encode_status(event: DeviceStatus) -> bytes:
    """Payload of a device's retained `status` message (and its last will)."""
    return _dump({"state": event.state, "ts": format_ts(event.ts)})


def encode_box_twin(*, code: str, location: str | None, status: str, ts: datetime) -> bytes:
    """Payload of a box's retained twin state, published by the server."""
    return _dump({"code": code, "location": location, "status": status, "ts": format_ts(ts)})


def encode_alarm(
    *,
    id: str | int,
    kind: str,
    severity: str,
    subject: str,
    message: str,
    state: str,
    ts: datetime,
) -> bytes:
    """Payload of an alarm raise or clear, published by the server."""
    if state not in ("active", "acknowledged", "cleared"):
        raise ValueError(f"alarm state must be active, acknowledged or cleared, got {state!r}")
    return _dump(
        {
            "id": id,
            "kind": kind,
            "severity": severity,
            "subject": subject,
            "message": message,
            "state": state,
            "ts": format_ts(ts),
        }
    )


def encode_scan_result(*, code: str, ok: bool, action: str, message: str, box: str | None,
                       location: str | None, ts: datetime, reason: str | None = None) -> bytes:
    """Payload of the server's answer to a scan, for the scanner's screen or beeper."""
    return _dump({"code": code, "ok": ok, "action": action, "reason": reason,
                  "message": message, "box": box, "location": location, "ts": format_ts(ts)})


def encode_loan_reminder(*, id: int, box: str, borrower: str, due_on: str, stage: int,
                         ts: datetime) -> bytes:
    """Payload of an overdue loan's reminder, published by the server."""
    return _dump({"id": id, "box": box, "borrower": borrower, "due_on": due_on, "stage": stage,
                  "ts": format_ts(ts)})


def encode_lending_news(doc: dict[str, Any]) -> bytes:
    """Payload of a lending request's step or a hold's readiness (JSON-ready data)."""
    return _dump(doc)


def encode_light_command(command: LightCommand) -> bytes:
    """Payload of a shelf-light command, published by the server."""
    return _dump({"on": command.on, "color": command.color, "seconds": command.seconds})


def encode(event: Event, *, root: str = DEFAULT_ROOT) -> tuple[str, bytes]:
    """(topic, payload) a device publishes for an event."""
    t = topics(root)
    if isinstance(event, TagReads):
        return t.reads(event.device_id), encode_tag_reads(event)
    if isinstance(event, Scan):
        return t.scans(event.device_id), encode_scan(event)
    if isinstance(event, ClimateReading):
        return t.climate(event.device_id), encode_climate(event)
    if isinstance(event, SensorEvent):
        return t.sensor_events(event.device_id), encode_sensor_event(event)
    if isinstance(event, DeviceStatus):
        return t.status(event.device_id), encode_status(event)
    raise TypeError(f"no wire form for {type(event).__name__}")
