"""Benchmark HTTP clients: threads with the standard library's keep-alive client.

Kept apart from the benchmarks so that a client process started with "spawn" imports
nothing but the standard library.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse


def run(base: str, token: str, shares: list[tuple[int, list[str]]], clients: int,
        every_s: float | None) -> tuple[tuple[list[float], int], float, float]:
    """One client process: a thread per client, each with its own keep-alive connection."""
    parsed = urllib.parse.urlsplit(base)
    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []
    errors = 0

    def one(index: int, share: list[str]) -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        begin = time.perf_counter() + (every_s or 0) * index / clients
        for n, path in enumerate(share):
            if every_s:
                time.sleep(max(0.0, begin + n * every_s - time.perf_counter()))
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            times.append((time.perf_counter() - started) * 1000)
            errors += not ok
        connection.close()

    threads = [threading.Thread(target=one, args=share) for share in shares]
    begun = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (times, errors), begun, time.time()


def guess(base: str, clients: int, seconds: float) -> dict[str, int]:
    """One guessing process: `clients` threads posting wrong passwords for `seconds`."""
    parsed = urllib.parse.urlsplit(base)
    answers: dict[str, int] = {}
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def one(index: int) -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        n = 0
        while time.monotonic() < until:
            n += 1
            body = urllib.parse.urlencode({"username": f"guess-{index}-{n % 50}",
                                           "password": f"wrong-{n}"})
            try:
                connection.request("POST", "/api/auth/token", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
                answer = connection.getresponse()
                answer.read()
                key = str(answer.status)
            except (OSError, http.client.HTTPException):
                connection.close()
                key = "error"
            with lock:
                answers[key] = answers.get(key, 0) + 1
        connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
