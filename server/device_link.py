"""The server's link to the room: the (embedded) broker, the MQTT link, serial ports, ingest."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from devices.broker import Broker, start_embedded_broker
from devices.mqtt import MqttLink
from devices.serial import ClimatePort, RfidReaderPort, ScannerPort, SerialDevice
from server.ingest import Ingest
from server.services.climate_rules import Rules
from server.services.codes import CodeScheme
from server.settings import Settings

log = logging.getLogger(__name__)
ADDRESS_FILE = "address"  # under <data dir>/broker: where the embedded broker listens now

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
    broker_address_file: Path | None = None

    @property
    def connected(self) -> bool:
        """True while the broker accepts our session."""
        return self.link.connected

    @property
    def mqtt_url(self) -> str:
        """The broker devices should publish to."""
        return self.link.url

    def stop(self) -> None:
        """Stop ports, ingest (after it applied and acknowledged what it holds), the link."""
        for port in self.ports:
            port.stop()
        # Apply and acknowledge what is queued while the link can still acknowledge it; what
        # arrives after that is applied but not acknowledged: the broker keeps it in our
        # session, hands it over again next time, and it is dropped as a duplicate then.
        self.ingest.drain()
        self.link.stop()
        self.ingest.stop()
        if self.broker is not None:
            if self.broker_address_file is not None:
                self.broker_address_file.unlink(missing_ok=True)
            self.broker.stop()


def embedded_broker_address(settings: Settings) -> str | None:
    """The address of the embedded broker a server on this data dir runs now, if one does.

    The server writes it to `<data dir>/broker/address` while its embedded broker listens, so
    `archive-twin simulate` beside a running demo finds the broker without being told.
    """
    try:
        url = (settings.data_dir / "broker" / ADDRESS_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    host, _, port = url.removeprefix("mqtt://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except (OSError, ValueError):
        return None  # left behind by a server that did not stop cleanly
    return url


def climate_rules_of(settings: Settings) -> Rules:
    """The climate alarm rules' settings."""
    return Rules(stale_s=settings.climate_stale_s, disagreement_c=settings.climate_disagreement_c,
                 disagreement_pct=settings.climate_disagreement_pct,
                 default_profile=settings.climate_default_profile)


def start_device_link(settings: Settings, engine: Engine, scheme: CodeScheme) -> DeviceLink:
    """Start ingest, the broker link (and an embedded broker when none is configured), ports."""
    broker = None
    address_file: Path | None = None
    url = settings.mqtt_url
    if not url:
        broker = start_embedded_broker(data_dir=settings.data_dir / "broker")
        url = broker.url
        address_file = settings.data_dir / "broker" / ADDRESS_FILE
        address_file.write_text(url + "\n", encoding="utf-8")
        log.info("no ARCHIVE_TWIN_MQTT_URL: devices publish to the embedded broker at %s", url)
    ingest = Ingest(engine, scheme=scheme, root=settings.mqtt_topic_root,
                    server_ids=frozenset({settings.mqtt_client_id}),
                    clock_ahead_s=settings.device_clock_ahead_s,
                    climate_rules=climate_rules_of(settings))
    client_id = settings.mqtt_client_id
    if settings.mqtt_shared_group:
        # members of a shared subscription each need their own session
        client_id = f"{client_id}-{socket.gethostname()}-{os.getpid()}"
    link = MqttLink(
        url, client_id=client_id, root=settings.mqtt_topic_root, on_event=ingest.submit,
        on_reject=ingest.submit, shared_group=settings.mqtt_shared_group,
        status_device_id=settings.mqtt_client_id, acknowledge="by_handler",
        receive_maximum=settings.mqtt_receive_maximum,
    )
    ingest.start()
    try:
        link.start()
    except Exception:
        ingest.stop()
        if broker is not None:
            broker.stop()
        raise
    ports = []
    for spec in settings.serial_devices:
        kind, device_id, port = parse_serial_spec(spec)
        device = SERIAL_KINDS[kind](port, device_id, on_event=ingest.submit, on_reject=ingest.submit)
        device.start()
        ports.append(device)
    return DeviceLink(ingest=ingest, link=link, broker=broker, ports=ports,
                      broker_address_file=address_file if broker is not None else None)
