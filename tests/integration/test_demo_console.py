"""What an operator sees at the console: `simulate` finds the broker of a demo running beside it."""

from __future__ import annotations

import subprocess
import sys

from server.db import make_engine, migrate
from server.device_link import embedded_broker_address, start_device_link
from server.settings import Settings
from tests.conftest import SCHEME


def _simulate(data_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "simulate", "--api", "http://127.0.0.1:9",
         "--password", "x", *args],
        env={"PATH": "/usr/bin:/bin", "ARCHIVE_TWIN_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=120)


def test_simulate_uses_the_embedded_broker_of_the_server_on_its_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path, mqtt_url=None)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    nothing = _simulate(tmp_path)
    assert nothing.returncode == 2
    assert "no broker" in nothing.stderr and str(tmp_path) in nothing.stderr

    link = start_device_link(settings, engine, SCHEME)
    try:
        assert embedded_broker_address(settings) == link.mqtt_url
        # it gets past the broker question and names the broker it chose (then it would wait
        # for the API, which is not there: it is stopped once it has said so)
        running = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "simulate", "--api", "http://127.0.0.1:9",
             "--password", "x"],
            env={"PATH": "/usr/bin:/bin", "ARCHIVE_TWIN_DATA_DIR": str(tmp_path)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = running.stdout.readline() if running.stdout else ""
        finally:
            running.kill()
            running.wait(timeout=30)
        assert first.strip() == f"using the embedded broker of the server on {tmp_path}: {link.mqtt_url}"
    finally:
        link.stop()
        engine.dispose()
    assert embedded_broker_address(settings) is None  # a stopped server leaves no address behind
