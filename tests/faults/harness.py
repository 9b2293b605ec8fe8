"""The fault suite's parts: a private Mosquitto, the server as a real process, devices, counters.

Everything here speaks only the outside contract (CONTRACT.md): the `archive-twin` command,
HTTP, MQTT topics and payloads. The database is read directly, but only to count what a
user could count through the API too (climate rows, devices' read totals, rejects), so the
suite survives a rewrite of the server's insides.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                          if Path("/usr/sbin/mosquitto").exists() else None)
ARCHIVE_TWIN = Path(sys.executable).with_name("archive-twin")
ROOT = "archive/v1"
SECRET = "fault-suite-secret-key-long-enough-0123456789"
ADMIN = ("faults-admin", "faults-admin-password")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll predicate until it holds or timeout passes; True when it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# -- the broker ------------------------------------------------------------------------------


class Mosquitto:
    """A private Mosquitto on a free port that a test may stop, kill -9 and start again.

    Persistence is on, so sessions, subscriptions and queued QoS 1 messages outlive a graceful
    restart (saved on exit). With `save_every_change` it also writes its database after every
    change (autosave_on_changes with a threshold of 1), which is the most a broker can do to
    keep what it acknowledged across a kill -9; it still acknowledges a PUBLISH before that
    save, so a kill in between loses what was acknowledged in that instant. No queue limit:
    the default (1000 per client) would make the broker itself drop messages while the server
    is down, which is not what these tests measure.
    """

    def __init__(self, work: Path, *, save_every_change: bool = False) -> None:
        if MOSQUITTO is None:
            raise RuntimeError("mosquitto is not installed")
        self.work = work
        self.port = free_port()
        self.save_every_change = save_every_change
        self.proc: subprocess.Popen | None = None
        work.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {work}/",
            "max_queued_messages 0",
            "persistent_client_expiration 1d",
            "log_type error", "log_type warning", "log_type notice",
            f"log_dest file {work / 'mosquitto.log'}",
        ]
        lines += (["autosave_interval 1", "autosave_on_changes true"] if save_every_change
                  else ["autosave_interval 600"])
        if os.geteuid() == 0:  # as root it would switch to user mosquitto, who cannot write here
            lines.append(f"user {getpass.getuser()}")
        self.conf = work / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        """mqtt://127.0.0.1:port"""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again, on the same port and data)."""
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if not wait_until(lambda: _listening(self.port) or self.proc.poll() is not None, 10, 0.02) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto did not start: {self.log()[-2000:]}")

    def stop(self) -> None:
        """Graceful stop: mosquitto saves its database on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """kill -9: no goodbye, no last save."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        """What mosquitto logged."""
        path = self.work / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


# -- the server ------------------------------------------------------------------------------


class Server:
    """`archive-twin serve` as a subprocess on a free port, against one database and broker."""

    def __init__(self, *, database_url: str, mqtt_url: str, work: Path, workers: int = 1,
                 extra_env: dict[str, str] | None = None) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.workers = workers
        self.database_url = database_url
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        # a client id of our own: persistent sessions of other tests (or runs) never collide
        client_id = f"faults-{uuid.uuid4().hex[:10]}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_TWIN_")},
            "ARCHIVE_TWIN_DATABASE_URL": database_url,
            "ARCHIVE_TWIN_MQTT_URL": mqtt_url,
            "ARCHIVE_TWIN_MQTT_TOPIC_ROOT": ROOT,
            "ARCHIVE_TWIN_MQTT_CLIENT_ID": client_id,
            "ARCHIVE_TWIN_DATA_DIR": str(work / "data"),
            "ARCHIVE_TWIN_SECRET_KEY": SECRET,
            "ARCHIVE_TWIN_BASE_URL": "http://archive.test",
            "ARCHIVE_TWIN_EPC_COMPANY_PREFIX": "0614141",
            "ARCHIVE_TWIN_SIMULATE": "false",
            **(extra_env or {}),
        }
        if workers > 1:
            self.env.setdefault("ARCHIVE_TWIN_MQTT_SHARED_GROUP", f"faults-{uuid.uuid4().hex[:6]}")
        self.client_id = client_id
        self._token: str | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run one `archive-twin` command against this server's settings; its output."""
        done = subprocess.run([str(ARCHIVE_TWIN), *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"archive-twin {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def init(self) -> None:
        """`archive-twin init` and an admin to sign in as."""
        self.cli("init")
        self.cli("users", "add", ADMIN[0], "--role", "admin", "--password", ADMIN[1])

    def start(self, timeout: float = 40.0) -> None:
        """Start serving and wait until /healthz says the broker link is up."""
        log = open(self.work / f"serve-{self.starts}.log", "wb")  # noqa: SIM115 (closed by the child's end)
        self.starts += 1
        self.proc = subprocess.Popen(
            [str(ARCHIVE_TWIN), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches every worker
        )
        log.close()

        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: "
                                   f"{self.log()[-3000:]}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=1)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and answer.json().get("broker") == "connected"

        if not wait_until(up, timeout, 0.2):
            raise RuntimeError(f"the server did not come up: {self.log()[-3000:]}")
        if self.workers > 1:
            # /healthz answers from whichever worker is ready first; give the other its turn
            time.sleep(3)

    def kill(self) -> None:
        """kill -9 of the serve process and its workers, mid-whatever."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), kill -9 if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def log(self) -> str:
        """Everything the server printed, across its starts."""
        return "".join((self.work / f"serve-{n}.log").read_text(errors="replace")
                       for n in range(self.starts) if (self.work / f"serve-{n}.log").exists())

    # -- HTTP ---------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The admin's bearer token (signed in once)."""
        if self._token is None:
            answer = httpx.post(f"{self.url}/api/auth/token", timeout=10,
                                data={"username": ADMIN[0], "password": ADMIN[1]})
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201),
            timeout: float = 60, **kwargs) -> httpx.Response:
        """One API call as the admin; fails the test's setup on an unexpected status."""
        answer = httpx.request(method, f"{self.url}{path}", timeout=timeout,
                               headers={"Authorization": f"Bearer {self.token}"}, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in wanted:
            raise AssertionError(f"{method} {path} answered {answer.status_code}: {answer.text[:500]}")
        return answer

    def location(self, name: str, kind: str, parent: str | None = None, **extra) -> str:
        """A new location's code."""
        body = {"name": name, "kind": kind, "parent": parent, **extra}
        return self.api("POST", "/api/locations", json=body).json()["code"]

    def box(self, home: str | None = None) -> dict:
        """A new box (code, epc, ...)."""
        return self.api("POST", "/api/boxes", json={"home": home} if home else {}).json()

    def device(self, device_id: str, type: str, **extra) -> None:
        """Register a device."""
        self.api("POST", "/api/devices", json={"id": device_id, "type": type, **extra})


# -- devices ---------------------------------------------------------------------------------


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class Device:
    """A device's MQTT client as the contract asks: QoS 1, a persistent session, retries.

    paho keeps every unacknowledged QoS 1 message and sends it again (DUP) when it reconnects,
    so a device resends exactly what the broker did not acknowledge.
    """

    def __init__(self, mqtt_url: str, client_id: str | None = None) -> None:
        self.client_id = client_id or f"dev-{uuid.uuid4().hex[:10]}"
        self.published = 0
        self.acked = 0
        self.ack_times: list[float] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=paho.MQTTv5)
        client.max_inflight_messages_set(20)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_publish = self._on_publish
        client.on_connect = lambda *_a: self._connected.set()
        client.on_disconnect = lambda *_a: self._connected.clear()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        client.connect_async("127.0.0.1", _port_of(mqtt_url), keepalive=5, clean_start=False,
                             properties=props)
        client.loop_start()
        self.client = client
        if not self._connected.wait(10):
            raise RuntimeError(f"device {self.client_id} could not connect to {mqtt_url}")

    def _on_publish(self, _client, _userdata, _mid, _reason, _properties) -> None:
        with self._lock:
            self.acked += 1
            self.ack_times.append(time.monotonic())

    def send(self, topic: str, payload: bytes | str) -> None:
        """Publish QoS 1; paho queues it while the broker is away."""
        self.client.publish(topic, payload, qos=1)
        self.published += 1

    def wait_acked(self, timeout: float) -> bool:
        """Wait until the broker acknowledged everything sent."""
        return wait_until(lambda: self.acked >= self.published, timeout, 0.05)

    def acked_within(self, start: float, end: float) -> int:
        """How many acknowledgements arrived between two monotonic times."""
        with self._lock:
            return sum(1 for t in self.ack_times if start < t <= end)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def stamp(base: datetime, n: int) -> str:
    """The n-th message's ts: one millisecond apart, so every message is distinct."""
    return (base + timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z")


def reads_message(seq: int, ts: str, reads: Iterable[tuple[str, int, int]]) -> bytes:
    """A shelf reader's message: reads are (epc, antenna, count)."""
    return json.dumps({"ts": ts, "seq": seq, "reads": [
        {"epc": epc, "antenna": antenna, "rssi": -50.0, "count": count}
        for epc, antenna, count in reads]}).encode()


def climate_message(seq: int, ts: str) -> bytes:
    """A climate sensor's reading."""
    return json.dumps({"ts": ts, "seq": seq, "temperature_c": 19.5 + (seq % 10) / 10,
                       "humidity_pct": 50.0}).encode()


def base_time() -> datetime:
    """A start for device clocks a little in the past (never ahead of the server)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)


@dataclass
class Stream:
    """Devices publishing reads and climate readings, in a thread of their own."""

    mqtt_url: str
    reader: str
    sensor: str
    epcs: list[str]
    messages: int
    climate_every: int = 5  # one climate reading per this many reader messages
    reads_per_message: int = 10
    rate: float | None = None  # messages per second; None: as fast as the broker takes them
    reads_published: int = 0
    climate_published: int = 0
    base: datetime = field(default_factory=base_time)
    thread: threading.Thread | None = None
    device: Device | None = None

    def start(self) -> Stream:
        """Connect and start publishing."""
        self.device = Device(self.mqtt_url)
        self.thread = threading.Thread(target=self._run, name="device-stream", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        began = time.monotonic()
        reads_topic = f"{ROOT}/readers/{self.reader}/reads"
        climate_topic = f"{ROOT}/sensors/{self.sensor}/climate"
        for seq in range(1, self.messages + 1):
            reads = [(self.epcs[(seq + k) % len(self.epcs)], 1, 1)
                     for k in range(self.reads_per_message)]
            self.device.send(reads_topic, reads_message(seq, stamp(self.base, seq), reads))
            self.reads_published += len(reads)
            if seq % self.climate_every == 0:
                self.device.send(climate_topic, climate_message(seq, stamp(self.base, seq)))
                self.climate_published += 1
            if self.rate:
                ahead = seq / self.rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
            elif seq % 200 == 0:
                # keep paho's queue short, so "published" means handed to the broker soon
                wait_until(lambda: self.device.published - self.device.acked < 2000, 30, 0.005)

    def join(self, timeout: float = 60) -> None:
        """Wait until every message was handed over and the broker acknowledged it."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the device stream did not finish"
        assert self.device.wait_acked(timeout), (
            f"the broker acknowledged {self.device.acked} of {self.device.published} messages")

    def close(self) -> None:
        """Disconnect."""
        if self.device is not None:
            self.device.close()


# -- counting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What arrived of one stream."""

    published: int
    accounted: int
    lost: int
    doubled: int

    def __str__(self) -> str:
        return (f"published {self.published}, accounted {self.accounted}, lost {self.lost}, "
                f"doubled {self.doubled}")


class Counter:
    """Counts what the twin holds, straight from its database (what the API would show)."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    def reads_total(self, device: str) -> int:
        """The reads the twin took in from one reader (GET /api/devices' `reads_total`)."""
        with self.engine.connect() as conn:
            value = conn.execute(text("SELECT reads_total FROM devices WHERE id = :d"),
                                 {"d": device}).scalar()
        return int(value or 0)

    def climate(self, sensor: str) -> tuple[int, int]:
        """(stored rows, distinct readings) of one sensor; one row per message."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT COUNT(*) FROM climate_samples WHERE sensor = :s"),
                                {"s": sensor}).scalar()
            distinct = conn.execute(text(
                "SELECT COUNT(*) FROM (SELECT DISTINCT ts FROM climate_samples "
                "WHERE sensor = :s) AS d"), {"s": sensor}).scalar()
        return int(rows), int(distinct)

    def rejects(self) -> list[tuple[str | None, str, str]]:
        """(device, topic, reason) of every kept reject."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                text("SELECT device, topic, reason FROM device_rejects ORDER BY id"))]

    def reads_tally(self, device: str, published: int) -> Tally:
        """Reads are summed per device: the difference says lost or doubled (net)."""
        got = self.reads_total(device)
        return Tally(published, got, max(0, published - got), max(0, got - published))

    def climate_tally(self, sensor: str, published: int) -> Tally:
        """Climate rows are one per message: lost and doubled are exact."""
        rows, distinct = self.climate(sensor)
        return Tally(published, rows, published - distinct, rows - distinct)

    def settle(self, reader: str, sensor: str | None, *, want_reads: int, want_climate: int,
               timeout: float = 30.0, quiet_s: float = 2.0) -> None:
        """Wait until the counts reach what was published and stay put, or stop changing."""
        last, since = None, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = (self.reads_total(reader), self.climate(sensor) if sensor else (0, 0))
            if now != last:
                last, since = now, time.monotonic()
            reached = now[0] >= want_reads and now[1][0] >= want_climate
            if time.monotonic() - since >= (quiet_s if reached else quiet_s * 2):
                return
            time.sleep(0.1)

    def dispose(self) -> None:
        """Close the engine's connections."""
        self.engine.dispose()


# -- watchers --------------------------------------------------------------------------------


class TopicWatcher:
    """A subscriber that keeps every message on a filter with its arrival time."""

    def __init__(self, mqtt_url: str, topic_filter: str) -> None:
        self.messages: list[tuple[float, str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=f"watch-{uuid.uuid4().hex[:10]}", protocol=paho.MQTTv5)
        client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
        client.on_subscribe = lambda *_a: self._subscribed.set()
        client.on_message = self._on_message
        client.connect("127.0.0.1", _port_of(mqtt_url), keepalive=10)
        client.loop_start()
        self.client = client
        if not self._subscribed.wait(10):
            raise RuntimeError(f"could not subscribe to {topic_filter}")

    def _on_message(self, _client, _userdata, message) -> None:
        with self._lock:
            self.messages.append((time.monotonic(), message.topic, message.payload,
                                  bool(message.retain)))

    def latest(self) -> dict[str, dict]:
        """The last payload seen per topic, as JSON."""
        with self._lock:
            found = {}
            for _, topic, payload, _ in self.messages:
                with contextlib.suppress(ValueError):
                    found[topic] = json.loads(payload)
            return found

    def where(self, predicate: Callable[[str, dict], bool]) -> list[tuple[float, str, dict]]:
        """(arrival, topic, payload) of the messages whose JSON payload matches."""
        with self._lock:
            out = []
            for at, topic, payload, _ in self.messages:
                try:
                    doc = json.loads(payload)
                except ValueError:
                    continue
                if isinstance(doc, dict) and predicate(topic, doc):
                    out.append((at, topic, doc))
            return out

    def count(self) -> int:
        """Messages so far."""
        with self._lock:
            return len(self.messages)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


class EventStream:
    """An open `GET /events` (Server-Sent Events), as a signed-in dashboard page holds it."""

    def __init__(self, server: Server) -> None:
        self.events: list[tuple[float, str | None, str | None, str]] = []  # at, id, event, data
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._stop = threading.Event()
        self.failure: str | None = None
        # The dashboard keeps the API's token in its sign-in cookie (dashboard/sign_in.py).
        self.client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=None),
                                   cookies={"archive_twin_session": server.token})
        self.thread = threading.Thread(target=self._run, name="sse", daemon=True)
        self.thread.start()
        if not self._open.wait(10):
            raise RuntimeError(f"GET /events did not open: {self.failure}")

    def _run(self) -> None:
        try:
            with self.client.stream("GET", "/events",
                                    headers={"Accept": "text/event-stream"}) as answer:
                if answer.status_code != 200:
                    self.failure = f"{answer.status_code}: {answer.read()[:200]!r}"
                    return
                self._open.set()
                event_id = event = None
                data: list[str] = []
                for line in answer.iter_lines():
                    if self._stop.is_set():
                        return
                    if line == "":
                        if data:
                            with self._lock:
                                self.events.append((time.monotonic(), event_id, event,
                                                    "\n".join(data)))
                        event_id = event = None
                        data = []
                    elif line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
        except Exception as exc:  # the stream ends when the test closes it
            if not self._stop.is_set():
                self.failure = repr(exc)

    def where(self, predicate: Callable[[dict], bool]) -> list[float]:
        """Arrival times of events some dict inside whose JSON data matches."""
        with self._lock:
            out = []
            for at, _id, _event, data in self.events:
                try:
                    doc = json.loads(data)
                except ValueError:
                    continue
                if any(predicate(d) for d in _dicts(doc)):
                    out.append(at)
            return out

    def close(self) -> None:
        """Hang up."""
        self._stop.set()
        self.client.close()


def _dicts(doc) -> Iterable[dict]:
    """Every dict inside a JSON document (the event's own shape is the server's to choose)."""
    if isinstance(doc, dict):
        yield doc
        for value in doc.values():
            yield from _dicts(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _dicts(value)


# -- a room to publish into ------------------------------------------------------------------


@dataclass(frozen=True)
class Room:
    """What a test set up: a room, a shelf, boxes, a shelf reader on it, a climate sensor."""

    room: str
    shelf: str
    boxes: list[str]
    epcs: list[str]
    reader: str
    sensor: str


def furnish(server: Server, *, boxes: int = 10, sensor_interval_s: int | None = None) -> Room:
    """One room with one shelf, boxes with no place yet, a shelf reader and a climate sensor."""
    room = server.location("Room F", "room")
    shelf = server.location("Shelf F1", "shelf", room)
    made = [server.box() for _ in range(boxes)]
    reader = f"shelf-{uuid.uuid4().hex[:6]}"
    sensor = f"th-{uuid.uuid4().hex[:6]}"
    server.device(reader, "reader", role="shelf", antennas={"1": shelf})
    extra = {"report_interval_s": sensor_interval_s} if sensor_interval_s else {}
    server.device(sensor, "sensor", room=room, **extra)
    return Room(room, shelf, [b["code"] for b in made], [b["epc"] for b in made], reader, sensor)
