"""Benchmark: tag reads through a real broker into the real server until the database shows them.

Run: python -m tests.bench.bench_ingest [--boxes N] [--seconds S]
The server (`archive-twin serve`, devices on) runs in its own process; publishers run in
other processes. Measured, on SQLite and (when ARCHIVE_TWIN_TEST_DATABASE_URL is set, that
database is emptied) PostgreSQL, with a private Mosquitto started from PATH (or the broker
in ARCHIVE_TWIN_BENCH_MQTT_URL):
- batched (100 reads a message) and single-read messages: reads/s from the first publish to
  the moment `devices.reads_total` accounts for every read published;
- in the same run a bare paho subscriber that only parses the same JSON: the ceiling;
- count equality: reads published = reads accounted for;
- gate read → `unauthorized_removal` alarm on MQTT: latency p50/p99.
Targets (2 cores): ≥ 100,000 reads/s batched, ≥ 5,000 messages/s single, ≥ 0.5 of the
ceiling, alarm p99 ≤ 1 s. run() returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from sqlalchemy import text, update
from sqlmodel import Session, select

from devices.broker import start_embedded_broker
from devices.mqtt import parse_mqtt_url
from server.db import make_engine, migrate
from server.models.devices import DeviceCreate
from server.models.holdings import Box
from server.models.places import Location
from server.services import devices, sample_archive
from server.services.codes import CodeScheme

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"batched_reads_per_s": 100_000, "single_messages_per_s": 5_000,
           "fraction_of_ceiling": 0.5, "alarm_p99_s": 1.0}
SCHEME = CodeScheme()
ANTENNAS = 16
STALL_S = 15.0


def _client(url: str, name: str) -> paho.Client:
    address = parse_mqtt_url(url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}")
    if address.username:
        client.username_pw_set(address.username, address.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port)
    return client


def seed(url: str, boxes: int) -> list[str]:
    """A room with shelves, `boxes` boxes already on them, a shelf reader and a gate; the EPCs."""
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        size = sample_archive.SampleSize(units_per_room=1, sections=4, shelves=4,
                                         slots_per_shelf=1, slot_capacity=boxes, boxes=boxes,
                                         records=0)
        sample_archive.seed(session, scheme=SCHEME, size=size)
        shelves = session.exec(
            select(Location).where(Location.kind == "shelf").order_by(Location.id).limit(ANTENNAS)
        ).all()
        room = session.exec(select(Location).where(Location.kind == "room")).first()
        devices.register(session, DeviceCreate(
            id="bench-shelf", type="reader", role="shelf",
            antennas={str(n): s.code for n, s in enumerate(shelves, start=1)}), actor="bench")
        devices.register(session, DeviceCreate(id="bench-gate", type="reader", role="gate",
                                               room=room.code), actor="bench")
        # Every box on the shelf its antenna covers, so the run measures steady-state ingest.
        epcs = []
        for i, (box_id, epc) in enumerate(session.exec(select(Box.id, Box.epc).order_by(Box.id))):
            epcs.append(epc)
            session.exec(update(Box).where(Box.id == box_id).values(
                location_id=shelves[i % len(shelves)].id, status="on_shelf"))
        session.commit()
    engine.dispose()
    return epcs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, mqtt_url: str, root: str, data_dir: Path,
                 workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "ARCHIVE_TWIN_DATABASE_URL": db_url, "ARCHIVE_TWIN_MQTT_URL": mqtt_url,
           "ARCHIVE_TWIN_MQTT_TOPIC_ROOT": root, "ARCHIVE_TWIN_DATA_DIR": str(data_dir),
           "ARCHIVE_TWIN_SECRET_KEY": "bench-secret-key-0123456789-abcdef-long",
           "ARCHIVE_TWIN_MQTT_CLIENT_ID": f"bench-server-{uuid.uuid4().hex[:6]}",
           "ARCHIVE_TWIN_JOBS_ENABLED": "false"}
    if workers > 1:
        env["ARCHIVE_TWIN_MQTT_SHARED_GROUP"] = "ingest"
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                                "--workers", str(workers)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).json().get("broker") == "connected":
                return process, base
        except (httpx.HTTPError, ValueError):
            pass
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode()[-2000:])
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not come up")


def _payload(seq: int, epcs: list[str], start: int, per_message: int) -> bytes:
    reads = [{"epc": epcs[(start + k) % len(epcs)], "antenna": 1 + (start + k) % ANTENNAS,
              "rssi": -48.5, "count": 2} for k in range(per_message)]
    ts = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json.dumps({"ts": ts, "seq": seq, "reads": reads}, separators=(",", ":")).encode()


def _publisher(url: str, topic: str, epcs: list[str], per_message: int, messages: int,
               first_seq: int, ready, go) -> None:
    client = _client(url, "bench-pub")
    client.loop_start()
    payloads = [_payload(first_seq + i, epcs, (first_seq + i) * per_message, per_message)
                for i in range(messages)]
    ready.set()
    go.wait()
    infos = [client.publish(topic, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


def _bare_subscriber(url: str, topic: str, expected_reads: int, ready, result) -> None:
    """The ceiling: paho on the same stream, parsing the JSON and counting, nothing else."""
    client = _client(url, "bench-bare")
    seen = {"reads": 0, "first": None, "last": None}

    def on_message(_c, _u, message) -> None:
        doc = json.loads(message.payload)
        if seen["first"] is None:
            seen["first"] = time.time()
        seen["reads"] += len(doc["reads"])
        seen["last"] = time.time()

    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.subscribe(topic, qos=1)
    client.loop_start()
    deadline = time.time() + 300
    while seen["reads"] < expected_reads and time.time() < deadline:
        time.sleep(0.01)
    client.loop_stop()
    result.put((seen["reads"], seen["first"], seen["last"]))


def _accounted(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT COALESCE(SUM(reads_total), 0) FROM devices WHERE id = 'bench-shelf'")).scalar())


def throughput(db_url: str, mqtt_url: str, root: str, epcs: list[str], *, per_message: int,
               messages: int, publishers: int, first_seq: int) -> dict[str, Any]:
    """Publish from separate processes; time until the database accounts for every read."""
    topic = f"{root}/readers/bench-shelf/reads"
    ctx = mp.get_context("spawn")
    engine = make_engine(db_url)
    before = _accounted(engine)
    expected = messages * per_message
    bare_ready, go, result = ctx.Event(), ctx.Event(), ctx.Queue()
    bare = ctx.Process(target=_bare_subscriber, args=(mqtt_url, topic, expected, bare_ready, result))
    bare.start()
    bare_ready.wait(30)
    share = messages // publishers
    readies, procs = [], []
    for n in range(publishers):
        ready = ctx.Event()
        proc = ctx.Process(target=_publisher, args=(
            mqtt_url, topic, epcs, per_message, share, first_seq + n * share, ready, go))
        proc.start()
        readies.append(ready)
        procs.append(proc)
    for ready in readies:
        ready.wait(120)
    started = time.time()
    go.set()
    # Stop when every read is accounted for, or when nothing moved for STALL_S (then the
    # shortfall is reported: reads lost somewhere, e.g. a broker queue limit).
    accounted, progress_at = before, time.time()
    while True:
        now_accounted = _accounted(engine)
        if now_accounted != accounted:
            accounted, progress_at = now_accounted, time.time()
        if accounted - before >= share * publishers * per_message:
            break
        if time.time() - progress_at > STALL_S:
            break
        time.sleep(0.02)
    done = time.time() if accounted - before >= share * publishers * per_message else progress_at
    for proc in procs:
        proc.join(60)
    bare_reads, _first, bare_last = result.get(timeout=120)
    bare.join(10)
    engine.dispose()
    published = share * publishers * per_message
    ours = published / (done - started)
    ceiling = bare_reads / max(1e-9, bare_last - started) if bare_last else 0.0
    return {
        "reads_per_message": per_message,
        "messages": share * publishers,
        "reads_published": published,
        "reads_accounted": accounted - before,
        "counts_equal": accounted - before == published,
        "seconds": round(done - started, 3),
        "reads_per_s": round(ours),
        "messages_per_s": round(ours / per_message),
        "ceiling_reads_per_s": round(ceiling),
        "fraction_of_ceiling": round(ours / ceiling, 3) if ceiling else None,
    }


def alarm_latency(mqtt_url: str, root: str, epcs: list[str], count: int) -> dict[str, Any]:
    """Gate reads of boxes with no loan; time until each alarm arrives on MQTT."""
    arrived: dict[str, float] = {}
    listener = _client(mqtt_url, "bench-alarms")
    ready = mp.Event()
    listener.on_subscribe = lambda *_: ready.set()

    def on_message(_c, _u, message) -> None:
        doc = json.loads(message.payload)
        if doc.get("state") == "active":
            arrived.setdefault(doc["subject"], time.time())

    listener.on_message = on_message
    listener.subscribe(f"{root}/alarms/+", qos=1)
    listener.loop_start()
    ready.wait(10)
    gate = _client(mqtt_url, "bench-gate")
    gate.loop_start()
    sent: dict[str, float] = {}
    from labels.identifiers import identify

    for n, epc in enumerate(epcs[-count:]):
        code = identify(epc, company_prefix=SCHEME.company_prefix).code
        payload = json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": n, "reads": [
            {"epc": epc, "antenna": 1, "rssi": -50.0, "count": 2}]}).encode()
        sent[code] = time.time()
        gate.publish(f"{root}/readers/bench-gate/reads", payload, qos=1)
        time.sleep(0.02)
    deadline = time.time() + 30
    while len(arrived) < len(sent) and time.time() < deadline:
        time.sleep(0.05)
    gate.loop_stop()
    listener.loop_stop()
    latencies = sorted(arrived[c] - sent[c] for c in sent if c in arrived)
    if not latencies:
        return {"alarms_sent": len(sent), "alarms_arrived": 0}
    return {
        "alarms_sent": len(sent),
        "alarms_arrived": len(latencies),
        "p50_s": round(statistics.median(latencies), 4),
        "p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 4),
        "max_s": round(latencies[-1], 4),
    }


def bench_database(db_url: str, mqtt_url: str, *, boxes: int, batched_messages: int,
                   single_messages: int, workers: int = 1) -> dict[str, Any]:
    """The whole ingest benchmark on one database."""
    epcs = seed(db_url, boxes)
    root = f"bench/{uuid.uuid4().hex[:8]}/archive/v1"
    with tempfile.TemporaryDirectory() as data_dir:
        server, _ = start_server(db_url, mqtt_url, root, Path(data_dir), workers)
        if workers > 1:
            time.sleep(3)  # every worker's link up, not only the first to answer /healthz
        try:
            batched = throughput(db_url, mqtt_url, root, epcs, per_message=100,
                                 messages=batched_messages, publishers=2, first_seq=1)
            single = throughput(db_url, mqtt_url, root, epcs, per_message=1,
                                messages=single_messages, publishers=4, first_seq=10_000_000)
            alarms = alarm_latency(mqtt_url, root, epcs, 200)
        finally:
            server.terminate()
            server.wait(30)
    return {"workers": workers, "batched": batched, "single": single, "gate_alarm": alarms}


def _reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run(*, boxes: int = 20_000, batched_messages: int = 4_000,
        single_messages: int = 30_000) -> dict[str, Any]:
    """Run on SQLite, and on PostgreSQL when configured; the figures."""
    # A private Mosquitto configured as docs/operations.md says (deep queues); the system one
    # on this machine keeps Mosquitto's default of 1,000 queued messages per client and drops
    # the rest when a subscriber falls behind. ARCHIVE_TWIN_BENCH_MQTT_URL picks another.
    broker = None
    mqtt_url = os.environ.get("ARCHIVE_TWIN_BENCH_MQTT_URL")
    if not mqtt_url:
        broker = start_embedded_broker()
        mqtt_url = broker.url
    figures: dict[str, Any] = {"broker": mqtt_url, "targets": TARGETS, "boxes": boxes}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [("sqlite", f"sqlite:///{Path(tmp) / 'bench-ingest.sqlite3'}", 1),
                    ("sqlite, 2 workers", f"sqlite:///{Path(tmp) / 'bench-ingest-2.sqlite3'}", 2)]
            pg = os.environ.get("ARCHIVE_TWIN_TEST_DATABASE_URL")
            if pg:
                runs += [("postgresql", pg, 1), ("postgresql, 2 workers", pg, 2)]
            for name, url, workers in runs:
                _reset(url)
                figures[name] = bench_database(url, mqtt_url, boxes=boxes,
                                               batched_messages=batched_messages,
                                               single_messages=single_messages, workers=workers)
    finally:
        if broker is not None:
            broker.stop()
    for name in [k for k, v in figures.items() if isinstance(v, dict) and "batched" in v]:
        if name in figures:
            f = figures[name]
            f["targets_met"] = {
                "batched_reads_per_s": f["batched"]["reads_per_s"] >= TARGETS["batched_reads_per_s"],
                "single_messages_per_s": f["single"]["messages_per_s"] >= TARGETS["single_messages_per_s"],
                "fraction_of_ceiling": (f["batched"]["fraction_of_ceiling"] or 0)
                >= TARGETS["fraction_of_ceiling"],
                "alarm_p99_s": f["gate_alarm"].get("p99_s", 99) <= TARGETS["alarm_p99_s"],
                "counts_equal": f["batched"]["counts_equal"] and f["single"]["counts_equal"],
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=20_000)
    parser.add_argument("--batched-messages", type=int, default=4_000)
    parser.add_argument("--single-messages", type=int, default=30_000)
    args = parser.parse_args()
    figures = run(boxes=args.boxes, batched_messages=args.batched_messages,
                  single_messages=args.single_messages)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
