"""The outbox's one way out to MQTT: every piece of news, in commit order, from where it stopped.

Runs in the leader only (server/leader.py), so several workers publish each change once.
It reads the news after its cursor, publishes it with QoS 1, waits until the broker has
acknowledged all of it, and only then moves its cursor on: a crash or a broker outage at
any point means publishing again from the cursor (a retained state sent twice is the same
state), never a change left out.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlmodel import Session

from devices.codecs import mqtt_json
from devices.events import DeviceState, DeviceStatus, LightCommand
from devices.mqtt import MqttLink
from server.services import news

log = logging.getLogger(__name__)

CURSOR = "mqtt"
BATCH = 1000
ACK_TIMEOUT_S = 10.0


class TwinPublisher:
    """Publishes committed news on the contract's topics: box twins, alarms, lights, scans."""

    def __init__(self, engine: Engine, link: MqttLink, *, root: str) -> None:
        self.engine = engine
        self.link = link
        self.topics = mqtt_json.topics(root)
        self.published = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start publishing from where the last publisher stopped."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="twin-publisher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in hand (its cursor is kept only if it was all acknowledged)."""
        self._stop.set()
        news.bell.ring()
        if self._thread is not None:
            self._thread.join(ACK_TIMEOUT_S + 5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            rung = news.bell.rung
            try:
                sent = self.publish_some()
            except Exception:  # the database or the broker is away: try again shortly
                log.exception("could not publish the twin's news; trying again")
                self._stop.wait(1.0)
                continue
            if not sent:
                news.bell.wait(rung, 0.25)

    def publish_some(self) -> int:
        """Publish the next batch of news; how many were delivered (0 when none or no link)."""
        with Session(self.engine) as session:
            fresh = news.after(session, news.cursor(session, CURSOR), limit=BATCH)
        if not fresh:
            return 0
        if not self.link.connected:
            self._stop.wait(0.5)
            return 0
        pending = []
        for item in fresh:
            wire = self.wire(item.news())
            if wire is not None:
                topic, payload, retain = wire
                pending.append(self.link.publish(topic, payload, qos=1, retain=retain))
        for info in pending:
            info.wait_for_publish(ACK_TIMEOUT_S)
            if not info.is_published():
                raise TimeoutError("the broker did not acknowledge the twin's news in time")
        with Session(self.engine) as session:
            news.advance(session, CURSOR, fresh[-1].id)
            session.commit()
        self.published += len(pending)
        return len(fresh)

    def wire(self, item: news.News) -> tuple[str, bytes, bool] | None:
        """The topic, payload and retain flag a piece of news goes out as (None: pages only)."""
        t = self.topics
        if isinstance(item, news.BoxChanged):
            return (t.box_twin(item.code),
                    mqtt_json.encode_box_twin(code=item.code, location=item.location,
                                              status=item.status, ts=item.ts), True)
        if isinstance(item, news.AlarmChanged):
            return (t.alarm(item.id),
                    mqtt_json.encode_alarm(id=item.id, kind=item.kind_of, severity=item.severity,
                                           subject=item.subject, message=item.message,
                                           state=item.state, ts=item.ts), False)
        if isinstance(item, news.LightSet):
            command = LightCommand(item.location, item.on, item.color, item.seconds)
            return t.light(item.location), mqtt_json.encode_light_command(command), False
        if isinstance(item, news.DeviceChanged) and item.decided:
            state: DeviceState = "online" if item.state == "online" else "offline"
            return t.status(item.id), mqtt_json.encode_status(DeviceStatus(item.id, state,
                                                                           item.ts)), True
        if isinstance(item, news.ScanAnswered):
            return (t.scan_results(item.device),
                    mqtt_json.encode_scan_result(
                        code=item.code, ok=item.ok, action=item.action, message=item.message,
                        box=item.box, location=item.location, ts=item.ts,
                        reason=item.reason), False)
        if isinstance(item, news.LoanReminded):
            return (t.loan_reminder(item.id),
                    mqtt_json.encode_loan_reminder(id=item.id, box=item.box,
                                                   borrower=item.borrower, due_on=item.due_on,
                                                   stage=item.stage, ts=item.ts), False)
        if isinstance(item, news.RequestChanged):
            return t.lending_request(item.id), mqtt_json.encode_lending_news(item.data()), False
        if isinstance(item, news.HoldReady):
            return t.hold_ready(item.id), mqtt_json.encode_lending_news(item.data()), False
        return None

