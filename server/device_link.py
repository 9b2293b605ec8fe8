"""The server's link to the room: the (embedded) broker, the MQTT link, serial ports, ingest."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from devices.broker import Broker, start_embedded_broker
from devices.codecs import mqtt_json
from devices.events import LightCommand
from devices.mqtt import MqttLink
from devices.serial import ClimatePort, RfidReaderPort, ScannerPort, SerialDevice
from server.ingest import Ingest
from server.services.codes import CodeScheme
from server.services.live import Change, Feed, feed
from server.settings import Settings

log = logging.getLogger(__name__)

SERIAL_KINDS = {"scanner": ScannerPort, "rfid": RfidReaderPort, "climate": ClimatePort}


class SerialSpecError(ValueError):
    """A serial device setting that cannot be understood."""


def parse_serial_spec(spec: str) -> tuple[str, str, str]:
    """"KIND:DEVICE_ID:PORT" → (kind, device id, port); the port may itself hold colons."""
    kind, _, rest = spec.partition(":")
    device_id, _, port = rest.partition(":")
    if kind not in SERIAL_KINDS or not device_id or not port:
        raise SerialSpecError(
            f"serial device {spec!r} should read KIND:DEVICE_ID:PORT with KIND one of "
            f"{', '.join(SERIAL_KINDS)}, e.g. scanner:hh-01:/dev/ttyUSB0"
        )
    return kind, device_id, port


@dataclass
class DeviceLink:
    """Everything that connects the server to devices, started and stopped together."""

    ingest: Ingest
    link: MqttLink
    broker: Broker | None = None
    ports: list[SerialDevice] = field(default_factory=list)
    forwarder: TwinForwarder | None = None

    @property
    def connected(self) -> bool:
        """True while the broker accepts our session."""
        return self.link.connected

    @property
    def mqtt_url(self) -> str:
        """The broker devices should publish to."""
        return self.link.url

    def stop(self) -> None:
        """Stop ports, the MQTT link, ingest (after it applied what it holds), the broker."""
        for port in self.ports:
            port.stop()
        # The link first: what it has not acknowledged stays in the broker's session for next
        # time; what it has is in ingest's queue, which stop() applies before it ends.
        self.link.stop()
        self.ingest.stop()
        if self.forwarder is not None:
            self.forwarder.stop()
        if self.broker is not None:
            self.broker.stop()


def start_device_link(settings: Settings, engine: Engine, scheme: CodeScheme) -> DeviceLink:
    """Start ingest, the broker link (and an embedded broker when none is configured), ports."""
    broker = None
    url = settings.mqtt_url
    if not url:
        broker = start_embedded_broker(data_dir=settings.data_dir / "broker")
        url = broker.url
        log.info("no ARCHIVE_TWIN_MQTT_URL: devices publish to the embedded broker at %s", url)
    ingest = Ingest(engine, scheme=scheme, root=settings.mqtt_topic_root,
                    server_ids=frozenset({settings.mqtt_client_id}))
    client_id = settings.mqtt_client_id
    if settings.mqtt_shared_group:
        # members of a shared subscription each need their own session
        client_id = f"{client_id}-{socket.gethostname()}-{os.getpid()}"
    link = MqttLink(
        url, client_id=client_id, root=settings.mqtt_topic_root, on_event=ingest.submit,
        on_reject=ingest.submit, shared_group=settings.mqtt_shared_group,
        status_device_id=settings.mqtt_client_id,
    )
    ingest.publish = lambda topic, payload, retain: link.publish(topic, payload, retain=retain)
    ingest.start()
    try:
        link.start()
    except Exception:
        ingest.stop()
        if broker is not None:
            broker.stop()
        raise
    forwarder = TwinForwarder(link, feed, root=settings.mqtt_topic_root)
    forwarder.start()
    ports = []
    for spec in settings.serial_devices:
        kind, device_id, port = parse_serial_spec(spec)
        device = SERIAL_KINDS[kind](port, device_id, on_event=ingest.submit, on_reject=ingest.submit)
        device.start()
        ports.append(device)
    return DeviceLink(ingest=ingest, link=link, broker=broker, ports=ports, forwarder=forwarder)


class TwinForwarder:
    """Publishes the twin's news on MQTT: retained box state and alarms, whoever caused them."""

    def __init__(self, link: MqttLink, live: Feed, *, root: str) -> None:
        self.link = link
        self.live = live
        self.topics = mqtt_json.topics(root)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twin-forwarder", daemon=True)

    def start(self) -> None:
        """Start forwarding (returns once it is watching the feed)."""
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        """Stop forwarding."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        with self.live.watch() as changes:
            self._ready.set()
            while not self._stop.is_set():
                try:
                    change = changes.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    self._forward(change)
                except Exception:  # a bad change is logged; forwarding goes on
                    log.exception("could not publish %s news %r", change.kind, change.data)

    def _forward(self, change: Change) -> None:
        if change.kind not in ("box", "alarm", "light"):
            return
        if not self.link.connected:
            log.debug("broker link down; %s news not published: %r", change.kind, change.data)
            return
        data = change.data
        if change.kind == "box":
            payload = mqtt_json.encode_box_twin(
                code=data["code"], location=data["location"], status=data["status"],
                ts=datetime.fromisoformat(data["ts"]))
            self.link.publish(self.topics.box_twin(data["code"]), payload, retain=True)
        elif change.kind == "alarm":
            payload = mqtt_json.encode_alarm(
                id=data["id"], kind=data["kind"], severity=data["severity"],
                subject=data["subject"], message=data["message"], state=data["state"],
                ts=datetime.fromisoformat(data["ts"]))
            self.link.publish(self.topics.alarm(data["id"]), payload)
        elif change.kind == "light":
            command = LightCommand(data["location"], data["on"], data["color"], data["seconds"])
            self.link.publish(self.topics.light(data["location"]),
                              mqtt_json.encode_light_command(command))
