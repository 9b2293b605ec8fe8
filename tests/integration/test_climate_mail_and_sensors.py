"""Alarm changes by e-mail through a real SMTP server, and 十防 events through a real broker."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session

from devices.broker import free_port
from server.alarm_mail import AlarmMailer
from server.models.devices import DeviceCreate
from server.models.places import LocationCreate
from server.services import alarms, devices, locations, mail
from tests.conftest import SCHEME


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.cond:
            self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8",
                                                                                   "replace")))
            self.cond.notify_all()
        return "250 OK"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[tuple[list[str], str]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n and time.monotonic() < deadline:
                self.cond.wait(0.1)
            return list(self.messages)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", inbox
    controller.stop()


def test_mail_send_reaches_a_real_smtp_server(settings, smtp):
    url, inbox = smtp
    assert mail.send(settings, "x@example.org", "nothing", "body") is False  # not configured
    configured = settings.model_copy(update={"smtp_url": url})
    assert mail.send(configured, ["fac@example.org"], "Room 1: 湿度过高", "68 %RH") is True
    [(to, content)] = inbox.wait_for(1)
    assert to == ["fac@example.org"] and "68 %RH" in content


def test_every_alarm_change_is_mailed(db, settings, smtp):
    url, inbox = smtp
    configured = settings.model_copy(update={"smtp_url": url,
                                             "alarm_mail_to": ["facilities@example.org"]})
    mailer = AlarmMailer(configured, db)
    mailer.start()
    try:
        with Session(db) as s:
            alarm, _ = alarms.raise_alarm(s, kind="humidity_high", subject="L00000001",
                                          message="Room 1: 68.0 %RH is above 60 %RH")
            s.commit()
            alarms.acknowledge(s, alarm.id, actor="fac", note="dehumidifier on")
            s.commit()
            alarms.clear(s, alarm.id, actor="fac", role="facilities")
            s.commit()
        got = inbox.wait_for(3)
    finally:
        mailer.stop()
    assert len(got) == 3
    subjects = [c.split("Subject: ", 1)[1].split("\n", 1)[0] for _, c in got]
    assert ["raised" in subjects[0], "acknowledged" in subjects[1], "cleared" in subjects[2]] == [
        True, True, True]
    assert all(to == ["facilities@example.org"] for to, _ in got)


def test_binary_sensor_events_over_a_real_broker_raise_and_clear(
        db, session, settings, mqtt_url, topic_root, auth):
    from fastapi.testclient import TestClient

    from server.app import create_app

    room = locations.create_location(session, LocationCreate(name="Room 1", kind="room"),
                                     scheme=SCHEME, actor="t")
    devices.register(session, DeviceCreate(id="leak-7", type="sensor", room=room.code), actor="t")
    session.commit()
    live = settings.model_copy(update={"devices_enabled": True, "mqtt_url": mqtt_url,
                                       "mqtt_topic_root": topic_root, "jobs_enabled": False,
                                       "mqtt_client_id": f"srv-{topic_root[5:15]}"})
    heard: list[dict] = []
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda c, u, m: heard.append(json.loads(m.payload))
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    watcher.connect(host, int(port))
    watcher.subscribe(f"{topic_root}/alarms/+", qos=1)
    watcher.loop_start()
    try:
        with TestClient(create_app(live)) as client:
            time.sleep(1.0)
            device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            device.connect(host, int(port))
            device.loop_start()
            ts = datetime.now(UTC) - timedelta(seconds=2)
            for seq, active in ((1, True), (2, False)):
                device.publish(f"{topic_root}/sensors/leak-7/events", json.dumps({
                    "ts": (ts + timedelta(seconds=seq)).isoformat(), "seq": seq, "kind": "leak",
                    "active": active}), qos=1).wait_for_publish(5)
                deadline = time.monotonic() + 15
                want = "active" if active else "cleared"
                while time.monotonic() < deadline and not any(
                        h.get("state") == want for h in heard):
                    time.sleep(0.1)
            device.loop_stop()
            device.disconnect()
            listed = client.get("/api/alarms", headers=auth("facilities"),
                                params={"kind": "leak"}).json()
    finally:
        watcher.loop_stop()
        watcher.disconnect()
    assert [(h["kind"], h["subject"], h["state"], h["severity"]) for h in heard] == [
        ("leak", room.code, "active", "critical"), ("leak", room.code, "cleared", "critical")]
    assert listed["total"] == 1 and listed["items"][0]["state"] == "cleared"
