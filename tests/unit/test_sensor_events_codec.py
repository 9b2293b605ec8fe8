"""十防 binary room sensors on the wire: `sensors/{id}/events`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devices.codecs import mqtt_json
from devices.codecs.errors import CodecError
from devices.events import SensorEvent


def test_an_event_decodes_and_encodes_back():
    event = mqtt_json.decode("archive/v1/sensors/leak-1/events",
                             b'{"ts": "2026-03-01T08:00:00+08:00", "seq": 4, "kind": "leak", '
                             b'"active": true}')
    assert event == SensorEvent("leak-1", datetime(2026, 3, 1, 0, tzinfo=UTC), 4, "leak", True,
                                "archive/v1/sensors/leak-1/events")
    topic, payload = mqtt_json.encode(event)
    assert topic == "archive/v1/sensors/leak-1/events"
    assert mqtt_json.decode(topic, payload) == event


@pytest.mark.parametrize(("payload", "reason"), [
    (b'{"ts": "2026-03-01T08:00:00Z", "seq": 1, "kind": "fire", "active": true}', "kind must be"),
    (b'{"ts": "2026-03-01T08:00:00Z", "seq": 1, "kind": "door", "active": 1}', "true or false"),
    (b'{"ts": "2026-03-01T08:00:00Z", "seq": 1, "kind": "door"}', "active is missing"),
    (b'{"seq": 1, "kind": "door", "active": false}', "ts must be"),
])
def test_a_malformed_event_says_why(payload, reason):
    with pytest.raises(CodecError, match=reason):
        mqtt_json.decode("archive/v1/sensors/door-1/events", payload)


def test_the_server_subscribes_to_events():
    assert "archive/v1/sensors/+/events" in mqtt_json.topics().device_filters()
    assert mqtt_json.encode_alarm(id=1, kind="leak", severity="critical", subject="L00000001",
                                  message="m", state="acknowledged",
                                  ts=datetime(2026, 1, 1, tzinfo=UTC)).count(b"acknowledged") == 1
