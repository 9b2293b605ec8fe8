"""Benchmark: seed 100,000 boxes and 1,000,000 records, then measure the real server over HTTP.

Run: python -m tests.bench.bench_records [--records N] [--boxes N] [--clients 32]
(SQLite always; PostgreSQL too when ARCHIVE_TWIN_TEST_DATABASE_URL is set — that database is
emptied.) Targets on a 2-core machine: scan p99 <= 20 ms, search p95 <= 200 ms, 1M records
seeded in <= 120 s, server RSS <= 300 MB. run() returns the figures as a dict, with
`matches`: how many records each search query matches ("10000+" where counting stops).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import text
from sqlmodel import Session

from server.db import make_engine, migrate
from server.services import people, sample_archive
from server.services.codes import CodeScheme
from tests.bench import http_clients

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"scan_p99_ms": 20.0, "search_p95_ms": 200.0, "seed_s": 120.0, "rss_mb": 300.0}
PASSWORD = "bench-password-1234"
CLIENT_PROCESSES = 4  # the clients' own work must not queue behind one interpreter lock
# uvicorn worker processes measured on each database: one, and one per core as
# docs/operations.md recommends (peak RSS counts every process of the server).
WORKERS = (1, 2)
# Paced load: each of the 32 clients scans every 0.25 s (128 scans/s in all) or searches
# every 5 s (6.4 searches/s); the saturated runs send back to back.
SCAN_EVERY_S = 0.25
SEARCH_EVERY_S = 5.0
# A mix of Latin and Chinese queries over the sample titles (office, subject, kind of document,
# year). Some are deliberately broad: 档案 and 通知 each match 4-7 % of the archive, which
# every hit must be ranked for; the run prints how many records each query matches.
SEARCHES = (
    "ledger", "minutes", "records management", "Finance", "fire inspection", "annual budget",
    "report 2003", "KJ·2003", "通知", "档案", "会议纪要", "安全生产", "职工花名册", "招标采购 合同",
    "预算", "纪要", "审计处 请示", "消防检查 2010",
)


def _size(boxes: int, records: int) -> sample_archive.SampleSize:
    # Enough slots (two boxes each) for every box: 2 rooms × units × 2 sides × 10 × 10 × 5.
    units = max(1, -(-boxes // (2 * 2 * 10 * 10 * 5 * 2)))
    return sample_archive.SampleSize(units_per_room=units, sections=10, shelves=10,
                                     slots_per_shelf=5, slot_capacity=2, boxes=boxes,
                                     records=records)


def _empty(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(url: str, boxes: int, records: int) -> dict[str, Any]:
    """Migrate an empty database, seed it by the bulk path and add a user; returns timings."""
    _empty(url)
    migrate(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        counts = sample_archive.seed(session, scheme=CodeScheme(), size=_size(boxes, records),
                                     rng=random.Random(2024))
        session.commit()
    seconds = time.perf_counter() - started
    with Session(engine) as session:
        people.create_user(session, username="bench", password=PASSWORD, role="admin")
        session.commit()
    if engine.dialect.name == "postgresql":
        # What an operator does after a bulk load (docs/operations.md): without it autovacuum
        # works through the million new rows while the benchmark measures.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"seed_s": round(seconds, 1), **counts}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, data_dir: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """uvicorn with the real app in a subprocess; returns it and its base URL once healthy."""
    port = _free_port()
    env = {**os.environ, "ARCHIVE_TWIN_DATABASE_URL": url, "ARCHIVE_TWIN_DATA_DIR": str(data_dir),
           "ARCHIVE_TWIN_DEVICES_ENABLED": "false",
           "ARCHIVE_TWIN_SECRET_KEY": "bench-secret-key-long-enough-123"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.app:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(workers)],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not come up within 60 s")


class PeakRss:
    """Samples the resident memory of a process and its children every 50 ms; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                tree = [self._process, *self._process.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in tree:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 2**20, 1)


def measure(base: str, token: str, paths: list[str], clients: int,
            every_s: float | None = None) -> dict[str, float]:
    """Send every path once over `clients` concurrent keep-alive clients.

    With `every_s` each client sends one request per interval (people at handhelds and
    search boxes); without it each sends the next as soon as it has an answer (saturation).
    The clients are spread over CLIENT_PROCESSES processes and use the standard library's
    HTTP client, so what is measured is the server, not the clients' interpreter.
    """
    shares = [(i, paths[i::clients]) for i in range(clients)]
    groups = [shares[g::CLIENT_PROCESSES] for g in range(CLIENT_PROCESSES)]
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=mp.get_context("spawn")) as pool:
        results = [future.result() for future in
                   [pool.submit(http_clients.run, base, token, group, clients, every_s)
                    for group in groups if group]]
    elapsed = max(end for _, _, end in results) - min(begin for _, begin, _ in results)
    times = sorted(t for (share, _), _, _ in results for t in share)
    errors = sum(e for (_, e), _, _ in results)

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, int(p / 100 * len(times)))], 1)

    return {"requests": len(times), "errors": errors, "p50_ms": pct(50), "p95_ms": pct(95),
            "p99_ms": pct(99), "mean_ms": round(statistics.fmean(times), 1),
            "per_s": round(len(times) / elapsed, 1)}


def _matches(base: str, token: str) -> dict[str, str]:
    """How many records each benchmark query matches ("10000+" past the count's cap)."""
    shown = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:
        for q in SEARCHES:
            body = client.get("/api/records", params={"q": q, "limit": 1}).json()
            shown[q] = f"{body['total']}{'+' if body.get('total_is_estimate') else ''}"
    return shown


def bench_database(url: str, *, boxes: int, records: int, clients: int,
                   scans: int, searches: int) -> dict[str, Any]:
    """Seed, serve and measure one database."""
    figures = seed(url, boxes, records)
    rng = random.Random(7)
    scheme = CodeScheme()
    scan_paths = []
    for _ in range(scans):
        number = rng.randrange(1, boxes + 1)
        # what handhelds and readers send: the printed code, the tag's EPC, sloppy typing
        code = rng.choice((scheme.box_code(number), scheme.box_epc(number),
                           f" {scheme.box_code(number).lower()} "))
        scan_paths.append(f"/api/scan/{httpx.URL(path=code).raw_path.decode()}")
    search_paths = [
        "/api/records?" + str(httpx.QueryParams({"q": rng.choice(SEARCHES), "limit": 20}))
        for _ in range(searches)
    ]
    figures["servers"] = {}
    for workers in WORKERS:
        name = f"{workers} worker{'s' if workers > 1 else ''}"
        figures["servers"][name] = _serve_and_measure(
            url, workers, scan_paths, search_paths, clients=clients, figures=figures)
    return figures


def _serve_and_measure(url: str, workers: int, scan_paths: list[str], search_paths: list[str],
                       *, clients: int, figures: dict[str, Any]) -> dict[str, Any]:
    """Start uvicorn with this many workers on the seeded database and measure it."""
    measured: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        process, base = start_server(url, Path(data_dir), workers)
        rss = PeakRss(process.pid)
        try:
            token = httpx.post(f"{base}/api/auth/token",
                               data={"username": "bench", "password": PASSWORD}).json()
            token = token["access_token"]
            measure(base, token, scan_paths[:200] + search_paths[:50], clients)  # warm up
            figures.setdefault("matches", _matches(base, token))
            measured["scan"] = measure(base, token, scan_paths, clients, SCAN_EVERY_S)
            measured["search"] = measure(base, token, search_paths, clients, SEARCH_EVERY_S)
            measured["scan_saturated"] = measure(base, token, scan_paths[: len(scan_paths) // 2],
                                                 clients)
            measured["search_saturated"] = measure(
                base, token, search_paths[: len(search_paths) // 2], clients)
        finally:
            measured["rss_mb"] = rss.stop()
            process.terminate()
            process.wait(timeout=30)
    records = figures["records"]
    seed_s = figures["seed_s"] * max(1.0, 1_000_000 / max(records, 1))
    measured["met"] = {
        "scan_p99": measured["scan"]["p99_ms"] <= TARGETS["scan_p99_ms"],
        "search_p95": measured["search"]["p95_ms"] <= TARGETS["search_p95_ms"],
        "seed": seed_s <= TARGETS["seed_s"],
        "rss": measured["rss_mb"] <= TARGETS["rss_mb"],
    }
    print(json.dumps({f"{workers} worker(s)": measured}, ensure_ascii=False), flush=True)
    return measured


def run(*, boxes: int = 100_000, records: int = 1_000_000, clients: int = 32,
        scans: int = 6400, searches: int = 320, sqlite_path: str | None = None) -> dict:
    """Run the benchmark on SQLite (and PostgreSQL when configured); print and return figures."""
    results: dict[str, Any] = {"boxes": boxes, "records": records, "clients": clients,
                               "targets": TARGETS}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{sqlite_path or Path(scratch) / 'bench.sqlite3'}"
        results["sqlite"] = bench_database(url, boxes=boxes, records=records, clients=clients,
                                           scans=scans, searches=searches)
        print(json.dumps({"sqlite": results["sqlite"]}, ensure_ascii=False, indent=2), flush=True)
    pg = os.environ.get("ARCHIVE_TWIN_TEST_DATABASE_URL")
    if pg:
        results["postgresql"] = bench_database(pg, boxes=boxes, records=records,
                                               clients=clients, scans=scans, searches=searches)
        print(json.dumps({"postgresql": results["postgresql"]}, ensure_ascii=False, indent=2),
              flush=True)
    return results


def main() -> None:
    """Command line: sizes and concurrency."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boxes", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--scans", type=int, default=6400)
    parser.add_argument("--searches", type=int, default=320)
    args = parser.parse_args()
    run(boxes=args.boxes, records=args.records, clients=args.clients, scans=args.scans,
        searches=args.searches)


if __name__ == "__main__":
    main()
