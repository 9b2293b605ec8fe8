"""Paho clients for simulated devices: retained online status, last will, subscriptions.

Each gate, sensor and scanner gets its own client, as real ones would; all shelf readers
share one client (dozens of connections add nothing to the simulation but threads). The
shared client announces every shelf reader online and, on a clean stop, offline; it can
carry one last will only, so if the simulator dies the server finds the shelf readers
silent (3x their report interval) and marks them offline itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho

from devices.codecs import mqtt_json
from devices.events import DeviceStatus
from simulators.clock import wire_now

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


class BrokerUnreachable(RuntimeError):
    """The simulated device could not connect to the broker."""


def broker_address(url: str) -> tuple[str, int, str | None, str | None, bool]:
    """(host, port, username, password, tls) from `mqtt://[user:password@]host:port`."""
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl")
    if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return (
        parts.hostname,
        parts.port or (8883 if tls else 1883),
        unquote(parts.username) if parts.username is not None else None,
        unquote(parts.password) if parts.password is not None else None,
        tls,
    )


class DeviceClient:
    """One MQTT connection speaking for one device, or for several (the shelf readers)."""

    def __init__(
        self,
        url: str,
        client_id: str,
        topics: mqtt_json.Topics,
        speaks_for: list[str],
        *,
        will: bool = True,
    ) -> None:
        self.client_id = client_id
        self.topics = topics
        self.speaks_for = list(speaks_for)
        self.will = will and len(self.speaks_for) == 1
        self._handlers: dict[str, MessageHandler] = {}
        self._connected = threading.Event()
        host, port, username, password, tls = broker_address(url)
        self._address = (host, port)
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=paho.MQTTv311, clean_session=True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        if username is not None:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def _status_of(self, device_id: str, state: Literal["online", "offline"]) -> bytes:
        return mqtt_json.encode_status(DeviceStatus(device_id, state, wire_now()))

    def start(self, timeout: float = 10.0) -> None:
        """Connect and wait until the broker accepted us."""
        if self.will:
            self._client.will_set(self.topics.status(self.speaks_for[0]),
                                  self._status_of(self.speaks_for[0], "offline"),
                                  qos=1, retain=True)
        self._client.connect_async(*self._address, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise BrokerUnreachable(
                f"{self.client_id}: no answer from the broker at {self._address[0]}:"
                f"{self._address[1]} within {timeout:.0f}s")

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Hear a topic filter (renewed on every reconnect)."""
        self._handlers[topic_filter] = handler
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos=1)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 (paho queues it while the connection is down)."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline for every device (retained), then disconnect."""
        if self._connected.is_set():
            last = None
            for device_id in self.speaks_for:
                last = self._client.publish(self.topics.status(device_id),
                                            self._status_of(device_id, "offline"),
                                            qos=1, retain=True)
            if last is not None:
                try:
                    last.wait_for_publish(timeout)
                except (RuntimeError, ValueError):
                    log.warning("%s: offline status not confirmed", self.client_id)
        gone = threading.Event()
        self._client.on_disconnect = lambda *_args: gone.set()
        self._client.disconnect()
        # Stopping the network thread before DISCONNECT is out would make the broker
        # publish our last will as though we had crashed.
        gone.wait(timeout)
        self._client.loop_stop()
        self._connected.clear()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("%s: broker refused the connection: %s", self.client_id, reason_code)
            return
        for device_id in self.speaks_for:
            client.publish(self.topics.status(device_id), self._status_of(device_id, "online"),
                           qos=1, retain=True)
        for topic_filter in self._handlers:
            client.subscribe(topic_filter, qos=1)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set():
            log.info("%s: disconnected (%s)", self.client_id, reason_code)
        self._connected.clear()

    def _on_message(self, client, userdata, message) -> None:
        try:
            for topic_filter, handler in self._handlers.items():
                if paho.topic_matches_sub(topic_filter, message.topic):
                    handler(message.topic, message.payload)
        except Exception:  # a bad message must not kill the network thread
            log.exception("%s: could not handle a message on %s", self.client_id, message.topic)
