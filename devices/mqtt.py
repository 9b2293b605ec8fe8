"""The one module that owns the MQTT transport (paho-mqtt 2.x).

Messages become typed events at this boundary; nothing raised while handling a
message escapes a paho callback: it becomes a Reject (topic, first bytes, reason)
handed to `on_reject` and counted. The session is persistent (fixed client id,
MQTT v5 session expiry or 3.1.1 clean_session=False) so QoS 1 messages published
while the link is down arrive when it comes back; subscriptions are renewed on
every connect; the link's availability is a retained status plus a last will.

With `acknowledge="by_handler"` a QoS 1 message is acknowledged (PUBACK) only when the
handler calls the `Ack` it was given, i.e. once its effect is committed: the broker keeps
and redelivers whatever was not acknowledged when the process died. On MQTT v5 the link
asks the broker for a window of `receive_maximum` unacknowledged messages (brokers default
to about 20, which would cap ingest at one window per commit).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.codecs import mqtt_json
from devices.codecs.errors import CodecError
from devices.events import RAW_KEEP, DeviceStatus, Reject

logger = logging.getLogger(__name__)

Protocol = Literal["auto", "5", "3.1.1"]
Acknowledge = Literal["on_receipt", "by_handler"]
EventHandler = Callable[..., None]  # (event) or, acknowledging by handler, (event, ack)
RejectHandler = Callable[..., None]  # (reject) or (reject, ack)

# How long a v5 CONNECT may go unanswered before we assume a 3.1.1-only broker
# (amqtt neither answers nor refuses a v5 CONNECT).
_V5_GRACE_S = 1.5
# CONNACK reason codes meaning "I do not speak this protocol version".
_UNSUPPORTED_PROTOCOL = {1, 132}


class MqttLinkError(RuntimeError):
    """The link could not reach or use the broker."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and how to reach a broker, from `mqtt://[user:password@]host:port`."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Split a broker URL (`mqtt://`, `mqtts://`; `tcp://` and `ssl://` also accepted)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
        raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {url!r}")
    tls = scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"broker URL has a bad port: {url!r}") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


@dataclass(slots=True)
class LinkCounters:
    """What went through the link since it was made."""

    received: int = 0
    events: int = 0
    rejects: int = 0
    published: int = 0
    connects: int = 0
    disconnects: int = 0
    ignored: int = 0  # messages on topics we never subscribed to


def _now() -> datetime:
    return datetime.now(UTC)


class Ack:
    """Acknowledge one received message to the broker (call once its effect is kept)."""

    __slots__ = ("_generation", "_link", "_mid", "_qos")

    def __init__(self, link: MqttLink, mid: int, qos: int, generation: int) -> None:
        self._link, self._mid, self._qos, self._generation = link, mid, qos, generation

    def __call__(self) -> None:
        """Send the PUBACK, unless the connection it came on is gone."""
        if self._qos == 0:
            return
        client = self._link._client
        # After a reconnect the broker resends what we did not acknowledge, under the same
        # packet id; an acknowledgement from the old connection could then acknowledge
        # another message that reuses the id. The resent copy is acknowledged instead (and
        # dropped as a duplicate).
        if client is None or self._generation != self._link._generation:
            return
        client.ack(self._mid, self._qos)


class MqttLink:
    """A paho client speaking the archive's contract topics, with a persistent session."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        root: str = mqtt_json.DEFAULT_ROOT,
        on_event: EventHandler | None = None,
        on_reject: RejectHandler | None = None,
        subscribe: bool = True,
        shared_group: str | None = None,
        status_device_id: str | None = None,
        protocol: Protocol = "auto",
        session_expiry_s: int = 7 * 24 * 3600,
        keepalive_s: int = 30,
        acknowledge: Acknowledge = "on_receipt",
        receive_maximum: int = 4000,
    ) -> None:
        if not client_id:
            raise ValueError("a persistent session needs a fixed, non-empty client_id")
        self.address = parse_mqtt_url(url)
        self.url = url
        self.client_id = client_id
        self.root = root
        self.topics = mqtt_json.topics(root)
        self.on_event = on_event
        self.on_reject = on_reject
        self.shared_group = shared_group
        self.status_device_id = status_device_id
        self.protocol: Protocol = protocol
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self.acknowledge: Acknowledge = acknowledge
        self.receive_maximum = receive_maximum
        self._generation = 0  # one more on every connect; see Ack
        self.counters = LinkCounters()
        self.filters: tuple[str, ...] = ()
        if subscribe:
            prefix = f"$share/{shared_group}/" if shared_group else ""
            self.filters = tuple(prefix + f for f in self.topics.device_filters())
        self._client: paho.Client | None = None
        self._v5 = protocol != "3.1.1"
        self._connected = threading.Event()
        self._ready = threading.Event()  # connected and subscriptions acknowledged
        self._refused = threading.Event()  # the broker does not speak our protocol version
        self._denied = threading.Event()  # the broker refused us for another reason
        self._last_error = "no answer from the broker"
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the broker has accepted our session."""
        return self._connected.is_set()

    @property
    def protocol_in_use(self) -> str:
        """'5' or '3.1.1': what the link speaks (after any fallback)."""
        return "5" if self._v5 else "3.1.1"

    def start(self, timeout: float = 10.0) -> None:
        """Connect and start the network thread; return once connected or raise MqttLinkError."""
        with self._lock:
            if self._client is not None:
                return
            deadline = time.monotonic() + timeout
            if self.protocol == "auto":
                outcome = self._attempt(v5=True, deadline=deadline, silent_limit=_V5_GRACE_S)
                if outcome in ("silent", "refused"):
                    logger.info(
                        "broker %s:%s does not speak MQTT v5; using 3.1.1",
                        self.address.host,
                        self.address.port,
                    )
                    outcome = self._attempt(v5=False, deadline=max(deadline, time.monotonic() + 3))
            else:
                outcome = self._attempt(v5=self.protocol == "5", deadline=deadline)
            if outcome == "connected":
                return
            raise MqttLinkError(
                f"could not connect to MQTT broker {self.address.host}:{self.address.port} "
                f"as {self.client_id!r} within {timeout:.0f}s: {self._last_error}"
            )

    def _attempt(self, *, v5: bool, deadline: float, silent_limit: float | None = None) -> str:
        """One connection try with one protocol; keeps the client running when it works.

        Returns "connected", "refused" (protocol version refused), "silent" (the TCP
        connection was made but no CONNACK came within silent_limit) or "failed".
        """
        self._v5 = v5
        self._connected.clear()
        self._ready.clear()
        self._refused.clear()
        self._denied.clear()
        socket_failed = threading.Event()

        def on_connect_fail(_client, _userdata) -> None:
            socket_failed.set()
            self._last_error = "connection refused or host unreachable"

        client = self._make_client(v5)
        client.on_connect_fail = on_connect_fail
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry_s
            if self.acknowledge == "by_handler":
                props.ReceiveMaximum = self.receive_maximum
            client.connect_async(
                self.address.host,
                self.address.port,
                self.keepalive_s,
                clean_start=False,
                properties=props,
            )
        else:
            client.connect_async(self.address.host, self.address.port, self.keepalive_s)
        self._client = client
        client.loop_start()
        began = time.monotonic()
        outcome = "failed"
        while time.monotonic() < deadline:
            # Returning before SUBACK would let a caller publish into a subscription
            # that does not exist yet.
            if self._ready.wait(0.05):
                return "connected"
            if self._refused.is_set():
                outcome = "refused"
                break
            if self._denied.is_set():  # e.g. bad credentials: retrying will not help
                break
            if (
                silent_limit is not None
                and not socket_failed.is_set()
                and time.monotonic() - began > silent_limit
            ):
                self._last_error = "the broker accepted TCP but never answered CONNECT"
                outcome = "silent"
                break
        client.loop_stop()
        client.disconnect()
        self._client = None
        return outcome

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline (retained), disconnect cleanly and stop the network thread."""
        with self._lock:
            client, self._client = self._client, None
            if client is None:
                return
            if self.status_device_id and self._connected.is_set():
                try:
                    info = client.publish(
                        self.topics.status(self.status_device_id),
                        self._status_payload("offline"),
                        qos=1,
                        retain=True,
                    )
                    info.wait_for_publish(timeout)
                except (RuntimeError, ValueError):
                    logger.warning("could not publish offline status before stopping")
            gone = threading.Event()
            client.on_disconnect = lambda *_args: gone.set()
            client.disconnect()
            # Stopping the loop before DISCONNECT is on the wire would leave the broker
            # thinking we are still here, and it would deliver our queued messages to a
            # dead socket instead of keeping them for the next start.
            gone.wait(timeout)
            client.loop_stop()
            self._connected.clear()

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- publishing ------------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        """Publish a message; QoS 1 messages are queued while the link is down."""
        client = self._client
        if client is None:
            raise MqttLinkError("the link is not started")
        info = client.publish(topic, payload, qos=qos, retain=retain)
        self.counters.published += 1
        return info

    # -- paho plumbing ---------------------------------------------------------------

    def _make_client(self, v5: bool) -> paho.Client:
        manual = self.acknowledge == "by_handler"
        if v5:
            client = paho.Client(
                paho.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5,
                manual_ack=manual,
            )
        else:
            client = paho.Client(
                paho.CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=paho.MQTTv311,
                clean_session=False,
                manual_ack=manual,
            )
        # Our callbacks already catch everything; this is the second line of defence.
        client.suppress_exceptions = True
        # paho's own logger is not attached: it reports a normal stop as an ERROR
        # ("Client is not connected"); this module logs what matters itself.
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if self.status_device_id:
            client.will_set(
                self.topics.status(self.status_device_id),
                self._status_payload("offline"),
                qos=1,
                retain=True,
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _status_payload(self, state: Literal["online", "offline"]) -> bytes:
        assert self.status_device_id is not None
        return mqtt_json.encode_status(DeviceStatus(self.status_device_id, state, _now()))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if reason_code.is_failure:
                self._last_error = f"broker refused the connection: {reason_code}"
                if reason_code.value in _UNSUPPORTED_PROTOCOL:
                    self._refused.set()
                else:
                    self._denied.set()
                logger.warning("MQTT connect refused by %s: %s", self.url, reason_code)
                return
            self.counters.connects += 1
            self._generation += 1
            if self.filters:
                # Resubscribe on every connect: a broker that lost our session lost these too.
                client.subscribe([(f, 1) for f in self.filters])
            else:
                self._ready.set()
            if self.status_device_id:
                client.publish(
                    self.topics.status(self.status_device_id),
                    self._status_payload("online"),
                    qos=1,
                    retain=True,
                )
            logger.info(
                "MQTT link %s connected to %s:%s (MQTT %s, session present: %s)",
                self.client_id,
                self.address.host,
                self.address.port,
                self.protocol_in_use,
                flags.session_present,
            )
            self._connected.set()
        except Exception:
            logger.exception("error while handling MQTT connect")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        try:
            refused = [
                (f, rc) for f, rc in zip(self.filters, reason_codes, strict=False) if rc.is_failure
            ]
            for topic_filter, rc in refused:
                logger.error("broker refused subscription %s: %s", topic_filter, rc)
        except Exception:
            logger.exception("error while handling SUBACK")
        finally:
            self._ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set():
            self.counters.disconnects += 1
            logger.warning("MQTT link %s disconnected: %s", self.client_id, reason_code)
        self._connected.clear()
        self._ready.clear()

    def _on_message(self, client, userdata, message) -> None:
        self.counters.received += 1
        topic = "?"
        payload = b""
        ack = None
        if self.acknowledge == "by_handler":
            ack = Ack(self, message.mid, message.qos, self._generation)
        try:
            topic = message.topic
            payload = message.payload
            if mqtt_json.split_device_topic(topic, self.root) is None:
                # Not ours to judge: amqtt, for one, replays retained messages of other
                # clients' subscriptions to a reconnecting session.
                self.counters.ignored += 1
                logger.debug("ignored unsolicited message on %s", topic)
                if ack is not None:
                    ack()
                return
            event = mqtt_json.decode(topic, payload, root=self.root)
        except CodecError as exc:
            self._reject(topic, exc.device_id, payload, exc.reason, ack)
            return
        except Exception as exc:
            self._reject(topic, None, payload, f"could not decode: {exc!r}", ack)
            return
        try:
            if self.on_event is not None:
                if ack is None:
                    self.on_event(event)
                else:
                    self.on_event(event, ack)
            elif ack is not None:
                ack()
            self.counters.events += 1
        except Exception as exc:
            logger.exception("event handler failed for %s", topic)
            device_id = getattr(event, "device_id", None)
            self._reject(topic, device_id, payload, f"handler failed: {exc!r}", ack)

    def _reject(self, topic: str, device_id: str | None, payload: bytes, reason: str,
                ack: Ack | None = None) -> None:
        self.counters.rejects += 1
        raw = bytes(payload[:RAW_KEEP])
        logger.warning("rejected MQTT message on %s (%s): %r", topic, reason, raw[:64])
        if self.on_reject is None:
            if ack is not None:
                ack()
            return
        try:
            reject = Reject(topic, device_id, raw, reason, _now())
            if ack is None:
                self.on_reject(reject)
            else:
                self.on_reject(reject, ack)
        except Exception:
            # Not acknowledged: the broker offers it again after a reconnect.
            logger.exception("reject handler failed for %s", topic)
