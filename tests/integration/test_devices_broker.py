"""The embedded broker: mosquitto with persistence when on PATH, amqtt (MQTT 3.1.1) otherwise."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime

import pytest

from devices.broker import start_embedded_broker
from devices.codecs import mqtt_json
from devices.events import DeviceStatus, Scan
from devices.mqtt import MqttLink


def cid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def scan(seq: int, code: str) -> Scan:
    return Scan("sc", datetime.now(UTC), seq, code)


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not on PATH")
def test_mosquitto_keeps_retained_state_and_sessions_across_restarts(
    tmp_path, topic_root, make_sink
):
    broker = start_embedded_broker(data_dir=tmp_path)
    assert broker.engine == "mosquitto" and broker.port > 0
    port = broker.port
    session_id = cid("srv")
    try:
        with MqttLink(broker.url, client_id=session_id, root=topic_root):
            pass  # creates the persistent session and its subscriptions
        with MqttLink(broker.url, client_id=cid("dev"), root=topic_root, subscribe=False) as dev:
            status = DeviceStatus("s1", "online", datetime.now(UTC))
            dev.publish(*mqtt_json.encode(status, root=topic_root), retain=True).wait_for_publish(5)
            dev.publish(*mqtt_json.encode(scan(1, "B00000001"), root=topic_root)).wait_for_publish(
                5
            )
        broker.stop()

        broker = start_embedded_broker(port=port, data_dir=tmp_path)
        events = make_sink()
        with MqttLink(broker.url, client_id=session_id, root=topic_root, on_event=events) as link:
            assert link.protocol_in_use == "5"
            got = events.wait_for(lambda items: len(items) >= 2)
            assert {type(e) for e in got} == {DeviceStatus, Scan}
            assert next(e for e in got if isinstance(e, Scan)).code == "B00000001"
    finally:
        broker.stop()
    assert (tmp_path / "mosquitto.conf").exists()


def test_amqtt_fallback_speaks_3_1_1_and_keeps_queued_messages(topic_root, make_sink):
    broker = start_embedded_broker(engine="amqtt")
    session_id = cid("srv")
    try:
        first = make_sink()
        link = MqttLink(broker.url, client_id=session_id, root=topic_root, on_event=first)
        link.start()
        assert link.protocol_in_use == "3.1.1"  # found out by itself: amqtt ignores v5
        with MqttLink(
            broker.url, client_id=cid("dev"), root=topic_root, subscribe=False, protocol="3.1.1"
        ) as dev:
            dev.publish(*mqtt_json.encode(scan(1, "B00000001"), root=topic_root)).wait_for_publish(
                5
            )
            first.wait_for(lambda items: len(items) == 1)
            link.stop()
            # amqtt notices the disconnect a moment later; a message published before that
            # is written to the closing connection and lost, which is not what is tested here
            time.sleep(1.0)
            for seq in (2, 3):
                dev.publish(
                    *mqtt_json.encode(scan(seq, f"B0000000{seq}"), root=topic_root)
                ).wait_for_publish(5)
        again = make_sink()
        with MqttLink(
            broker.url, client_id=session_id, root=topic_root, on_event=again, protocol="3.1.1"
        ):
            again.wait_for(lambda items: len(items) == 2)
            assert [e.seq for e in again.items] == [2, 3]
    finally:
        broker.stop()
