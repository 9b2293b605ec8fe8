"""Benchmark: do 32 clients guessing passwords slow the scans of the people at work?

Run: python -m tests.bench.bench_signin_flood [--seconds 20]
The real server (uvicorn, one worker, SQLite) is measured over HTTP: paced scan lookups
(16 clients, each every 0.1 s) alone, then with 32 anonymous clients posting wrong passwords
as fast as they are answered, in the same run. Twice: with the sign-in brakes as shipped (the
guessers share one address, so they are braked after the free failures and refused before any
hashing), and with the brakes off (every guess is hashed; only the per-worker limit on
concurrent argon2 hashes protects the scans). The figure is the ratio of scan p99 with and
without the flood.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from server.services.codes import CodeScheme
from tests.bench import http_clients
from tests.bench.bench_records import PASSWORD, ROOT, _free_port, measure, seed

SCAN_CLIENTS = 16
SCAN_EVERY_S = 0.1
GUESSERS = 32
GUESS_PROCESSES = 2
TARGET_RATIO = 2.0  # scan p99 with the flood at most twice what it is without


def _serve(url: str, data_dir: Path, extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "ARCHIVE_TWIN_DATABASE_URL": url, "ARCHIVE_TWIN_DATA_DIR": str(data_dir),
           "ARCHIVE_TWIN_DEVICES_ENABLED": "false",
           "ARCHIVE_TWIN_SECRET_KEY": "bench-secret-key-long-enough-123", **extra}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.app:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
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


def _flooded(base: str, token: str, paths: list[str], seconds: float) -> dict[str, Any]:
    """Scan while GUESSERS clients guess passwords; the scans' figures and the guesses' answers."""
    with ProcessPoolExecutor(GUESS_PROCESSES, mp_context=mp.get_context("spawn")) as pool:
        guessing = [pool.submit(http_clients.guess, base, GUESSERS // GUESS_PROCESSES, seconds)
                    for _ in range(GUESS_PROCESSES)]
        time.sleep(1.0)  # let the flood start
        scans = measure(base, token, paths, SCAN_CLIENTS, SCAN_EVERY_S)
        answers: dict[str, int] = {}
        for future in guessing:
            for key, n in future.result().items():
                answers[key] = answers.get(key, 0) + n
    return {"scan": scans, "guesses": answers,
            "guesses_per_s": round(sum(answers.values()) / seconds, 1)}


def run(*, seconds: float = 20.0, boxes: int = 5000) -> dict[str, Any]:
    """Measure both ways on SQLite; return the figures."""
    scheme = CodeScheme()
    rng = random.Random(5)
    per_run = int(seconds * SCAN_CLIENTS / SCAN_EVERY_S * 0.8)
    paths = [f"/api/scan/{scheme.box_code(rng.randrange(1, boxes + 1))}" for _ in range(per_run)]
    results: dict[str, Any] = {"scan_clients": SCAN_CLIENTS, "scan_every_s": SCAN_EVERY_S,
                               "guessers": GUESSERS, "seconds": seconds,
                               "target_ratio": TARGET_RATIO}
    modes = {"brakes on": {},
             "brakes off": {"ARCHIVE_TWIN_SIGN_IN_FREE_FAILURES": "100000000",
                            "ARCHIVE_TWIN_SIGN_IN_FREE_FAILURES_PER_ADDRESS": "100000000"}}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'flood.sqlite3'}"
        seed(url, boxes, boxes)
        for name, extra in modes.items():
            process, base = _serve(url, Path(scratch), extra)
            try:
                token = httpx.post(f"{base}/api/auth/token", data={
                    "username": "bench", "password": PASSWORD}).json()["access_token"]
                measure(base, token, paths[:200], SCAN_CLIENTS)  # warm up
                quiet = measure(base, token, paths, SCAN_CLIENTS, SCAN_EVERY_S)
                flood = _flooded(base, token, paths, seconds)
            finally:
                process.terminate()
                process.wait(timeout=30)
            ratio = round(flood["scan"]["p99_ms"] / max(quiet["p99_ms"], 0.1), 2)
            results[name] = {"quiet": quiet, "flood": flood, "p99_ratio": ratio,
                             "within_target": ratio <= TARGET_RATIO}
            print(json.dumps({name: results[name]}), flush=True)
            if name == "brakes on":
                # the next server starts with the failures of this one forgotten
                import sqlite3

                with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                    conn.execute("DELETE FROM sign_in_throttle")
    return results


def main() -> None:
    """Command line: how long each flood lasts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(run(seconds=args.seconds), indent=2))


if __name__ == "__main__":
    main()
