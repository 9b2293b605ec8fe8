"""MqttLink against a real broker: decoding, rejects, persistent sessions, resubscription."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from devices.broker import start_embedded_broker
from devices.codecs import mqtt_json
from devices.events import ClimateReading, DeviceStatus, Reject, Scan, TagRead, TagReads
from devices.mqtt import MqttLink, MqttLinkError, parse_mqtt_url

EPC = "30340BD3D4C6B44000000001"


def now() -> datetime:
    return datetime.now(UTC)


def cid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def publisher(mqtt_url, topic_root):
    link = MqttLink(mqtt_url, client_id=cid("pub"), root=topic_root, subscribe=False)
    link.start()
    yield link
    link.stop()


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.05)


def send(link: MqttLink, topic: str, payload: bytes, retain: bool = False) -> None:
    link.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_device_messages_arrive_as_typed_events(mqtt_url, topic_root, publisher, make_sink):
    events, rejects = make_sink(), make_sink()
    sub = MqttLink(
        mqtt_url, client_id=cid("srv"), root=topic_root, on_event=events, on_reject=rejects
    )
    sub.start()
    try:
        assert sub.connected
        for event in (
            TagReads(
                "r1", now(), 1, (TagRead(EPC, 1, -60.5, 2), TagRead(EPC[:-1] + "2", 3, -70.0, 1))
            ),
            Scan("hand-1", now(), 5, "B00000123", "ana"),
            ClimateReading("s1", now(), 9, 19.5, 52.0),
            DeviceStatus("s1", "online", now()),
        ):
            send(publisher, *mqtt_json.encode(event, root=topic_root))
        got = events.wait_for(lambda items: len(items) == 4)
        reads, scan, climate, status = got
        assert isinstance(reads, TagReads) and reads.device_id == "r1"
        assert [(r.epc, r.antenna, r.count) for r in reads.reads] == [
            (EPC, 1, 2),
            (EPC[:-1] + "2", 3, 1),
        ]
        assert isinstance(scan, Scan) and scan.code == "B00000123" and scan.operator == "ana"
        assert isinstance(climate, ClimateReading) and climate.humidity_pct == 52.0
        assert isinstance(status, DeviceStatus) and status.state == "online"
        assert rejects.items == []
        assert sub.counters.events == 4
    finally:
        sub.stop()


def test_malformed_message_becomes_a_reject_and_good_ones_still_arrive(
    mqtt_url, topic_root, publisher, make_sink
):
    events, rejects = make_sink(), make_sink()
    sub = MqttLink(
        mqtt_url, client_id=cid("srv"), root=topic_root, on_event=events, on_reject=rejects
    )
    sub.start()
    t = mqtt_json.topics(topic_root)
    try:
        send(publisher, *mqtt_json.encode(Scan("sc", now(), 1, "B00000001"), root=topic_root))
        send(publisher, t.scans("sc"), b'{"ts": "yesterday", "code": "B00000002"}')
        send(publisher, t.reads("r7"), b"\x00\xffnot json at all" * 40)
        send(publisher, *mqtt_json.encode(Scan("sc", now(), 2, "B00000003"), root=topic_root))
        events.wait_for(lambda items: len(items) == 2)
        rejects.wait_for(lambda items: len(items) == 2)
        assert [e.code for e in events.items] == ["B00000001", "B00000003"]
        bad_ts, bad_json = rejects.items
        assert isinstance(bad_ts, Reject)
        assert bad_ts.source == t.scans("sc") and bad_ts.device_id == "sc"
        assert "ts" in bad_ts.reason
        assert bad_json.device_id == "r7"
        assert len(bad_json.raw) == 256 and bad_json.raw.startswith(b"\x00\xffnot json")
        assert sub.counters.rejects == 2 and sub.counters.events == 2
    finally:
        sub.stop()


def test_a_failing_event_handler_becomes_a_reject_and_the_link_keeps_going(
    mqtt_url, topic_root, publisher, make_sink
):
    seen, rejects = make_sink(), make_sink()

    def fussy(event):
        seen(event)
        if event.code == "B00000666":
            raise RuntimeError("database is on fire")

    sub = MqttLink(
        mqtt_url, client_id=cid("srv"), root=topic_root, on_event=fussy, on_reject=rejects
    )
    sub.start()
    try:
        for n, code in enumerate(["B00000666", "B00000001"]):
            send(publisher, *mqtt_json.encode(Scan("sc", now(), n, code), root=topic_root))
        seen.wait_for(lambda items: len(items) == 2)
        (reject,) = rejects.wait_for(lambda items: len(items) == 1)
        assert "database is on fire" in reject.reason
        assert sub.connected
    finally:
        sub.stop()


def test_persistent_session_receives_what_was_published_while_away(
    mqtt_url, topic_root, publisher, make_sink
):
    client_id = cid("srv-persistent")
    first = make_sink()
    sub = MqttLink(mqtt_url, client_id=client_id, root=topic_root, on_event=first)
    sub.start()
    send(publisher, *mqtt_json.encode(Scan("sc", now(), 1, "B00000001"), root=topic_root))
    first.wait_for(lambda items: len(items) == 1)
    sub.stop()

    for seq in (2, 3, 4):
        send(
            publisher, *mqtt_json.encode(Scan("sc", now(), seq, f"B0000000{seq}"), root=topic_root)
        )

    again = make_sink()
    sub = MqttLink(mqtt_url, client_id=client_id, root=topic_root, on_event=again)
    sub.start()
    try:
        again.wait_for(lambda items: len(items) == 3)
        assert [e.seq for e in again.items] == [2, 3, 4]
    finally:
        sub.stop()


def test_status_is_retained_online_and_offline_on_stop_and_on_crash(
    mqtt_url, topic_root, make_sink
):
    watcher_events = make_sink()
    watcher = MqttLink(mqtt_url, client_id=cid("watch"), root=topic_root, on_event=watcher_events)
    watcher.start()
    try:
        device = MqttLink(
            mqtt_url,
            client_id=cid("dev"),
            root=topic_root,
            subscribe=False,
            status_device_id="gate-1",
        )
        device.start()
        watcher_events.wait_for(lambda items: [e.state for e in items] == ["online"])
        device.stop()
        watcher_events.wait_for(lambda items: [e.state for e in items] == ["online", "offline"])

        # A late subscriber sees the retained state.
        late = make_sink()
        with MqttLink(mqtt_url, client_id=cid("late"), root=topic_root, on_event=late):
            (status,) = late.wait_for(lambda items: len(items) == 1)
            assert (status.device_id, status.state) == ("gate-1", "offline")

        # A crash (the TCP connection dies without DISCONNECT) publishes the last will.
        crashing = MqttLink(
            mqtt_url,
            client_id=cid("dev"),
            root=topic_root,
            subscribe=False,
            status_device_id="gate-2",
        )
        crashing.start()
        watcher_events.wait_for(lambda items: any(e.device_id == "gate-2" for e in items))
        client = crashing._client
        client.loop_stop()
        client.socket().close()
        watcher_events.wait_for(
            lambda items: (
                [e.state for e in items if e.device_id == "gate-2"] == ["online", "offline"]
            ),
            timeout=15,
        )
    finally:
        watcher.stop()


def test_shared_subscription_splits_messages_between_workers(
    mqtt_broker, topic_root, publisher, make_sink
):
    if not mqtt_broker.speaks_v5:
        pytest.skip("amqtt has no shared subscriptions")
    group = uuid.uuid4().hex[:8]
    both = make_sink()
    worker_a = MqttLink(
        mqtt_broker.url,
        client_id=cid("wa"),
        root=topic_root,
        on_event=lambda e: both(("a", e)),
        shared_group=group,
    )
    worker_b = MqttLink(
        mqtt_broker.url,
        client_id=cid("wb"),
        root=topic_root,
        on_event=lambda e: both(("b", e)),
        shared_group=group,
    )
    worker_a.start()
    worker_b.start()
    try:
        for seq in range(40):
            publisher.publish(
                *mqtt_json.encode(Scan("sc", now(), seq, "B00000001"), root=topic_root)
            )
        got = both.wait_for(lambda items: len(items) >= 40)
        assert sorted(e.seq for _, e in got) == list(range(40))  # each went to one worker only
        assert {worker for worker, _ in got} == {"a", "b"}
    finally:
        worker_a.stop()
        worker_b.stop()


def test_link_resubscribes_after_the_broker_restarts_without_its_session(
    topic_root, tmp_path, make_sink
):
    broker = start_embedded_broker(data_dir=tmp_path / "first")
    port = broker.port
    events = make_sink()
    sub = MqttLink(broker.url, client_id=cid("srv"), root=topic_root, on_event=events)
    sub.start()
    try:
        with MqttLink(broker.url, client_id=cid("pub"), root=topic_root, subscribe=False) as pub:
            send(pub, *mqtt_json.encode(Scan("sc", now(), 1, "B00000001"), root=topic_root))
        events.wait_for(lambda items: len(items) == 1)

        broker.stop()
        # A fresh data dir: the new broker knows nothing of the old session's subscriptions.
        broker = start_embedded_broker(port=port, data_dir=tmp_path / "second")
        with MqttLink(broker.url, client_id=cid("pub"), root=topic_root, subscribe=False) as pub:
            # Wait until the link is back before publishing, else QoS 1 has nowhere to go.
            wait_until(lambda: sub.connected and sub.counters.connects >= 2, timeout=20)
            send(pub, *mqtt_json.encode(Scan("sc", now(), 2, "B00000002"), root=topic_root))
            events.wait_for(lambda items: len(items) == 2)
        assert [e.seq for e in events.items] == [1, 2]
    finally:
        sub.stop()
        broker.stop()


def test_start_fails_clearly_when_no_broker_listens():
    from devices.broker import free_port

    link = MqttLink(f"mqtt://127.0.0.1:{free_port()}", client_id=cid("lonely"))
    with pytest.raises(MqttLinkError, match="could not connect"):
        link.start(timeout=1.5)
    assert not link.connected


def test_broker_urls_carry_credentials_and_tls():
    addr = parse_mqtt_url("mqtt://ingest:p%40ss@broker.example:1884")
    assert (addr.host, addr.port, addr.username, addr.password, addr.tls) == (
        "broker.example",
        1884,
        "ingest",
        "p@ss",
        False,
    )
    assert parse_mqtt_url("mqtts://broker.example").port == 8883
    with pytest.raises(ValueError):
        parse_mqtt_url("http://broker.example")


def test_server_side_publications_reach_plain_subscribers(mqtt_url, topic_root, make_sink):
    import paho.mqtt.client as paho

    received = make_sink()
    t = mqtt_json.topics(topic_root)
    watcher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=cid("paho"))

    def on_message(_client, _userdata, msg) -> None:
        # amqtt replays other clients' retained messages on connect; keep to this test's root.
        if msg.topic.startswith(topic_root + "/"):
            received((msg.topic, json.loads(msg.payload), msg.retain))

    watcher.on_message = on_message
    host, port = parse_mqtt_url(mqtt_url).host, parse_mqtt_url(mqtt_url).port
    with MqttLink(mqtt_url, client_id=cid("srv"), root=topic_root, subscribe=False) as server:
        send(
            server,
            t.box_twin("B00000001"),
            mqtt_json.encode_box_twin(
                code="B00000001", location="L00000002", status="in", ts=now()
            ),
            retain=True,
        )
        watcher.connect(host, port)
        watcher.subscribe(t.twin_filter(), qos=1)
        watcher.loop_start()
        try:
            ((topic, doc, retained),) = received.wait_for(lambda items: len(items) == 1)
            assert topic == t.box_twin("B00000001") and retained
            assert doc["location"] == "L00000002"
        finally:
            watcher.loop_stop()
            watcher.disconnect()
