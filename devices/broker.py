"""The embedded MQTT broker for `demo` and `serve` when no broker is configured.

A `mosquitto` binary on PATH is preferred: it speaks MQTT v5, keeps persistent
sessions on disk and is what production runs. Without it, amqtt (pure Python,
MQTT 3.1.1 only) runs in a thread of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

Engine = Literal["mosquitto", "amqtt"]


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_listening(host: str, port: int, timeout: float, alive=lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


@dataclass
class Broker:
    """A running embedded broker; `url` is what MqttLink and paho clients connect to."""

    engine: Engine
    host: str
    port: int
    data_dir: Path
    _stop: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        """`mqtt://host:port` of the listener."""
        return f"mqtt://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop the broker and wait for it to go."""
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()
            logger.info("embedded %s broker on %s stopped", self.engine, self.url)

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_broker(
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: Path | None = None,
    *,
    engine: Engine | None = None,
) -> Broker:
    """Start mosquitto if it is on PATH, else amqtt; port=0 picks a free port."""
    if engine is None:
        engine = "mosquitto" if shutil.which("mosquitto") else "amqtt"
    owned_dir = data_dir is None
    work = Path(tempfile.mkdtemp(prefix="archive-twin-broker-")) if data_dir is None else Path(data_dir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        if engine == "mosquitto":
            broker = _start_mosquitto(host, port, work)
        else:
            broker = _start_amqtt(host, port, work)
    except BaseException:
        if owned_dir:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if owned_dir:
        inner = broker._stop

        def stop_and_clean() -> None:
            inner()
            shutil.rmtree(work, ignore_errors=True)

        broker._stop = stop_and_clean
    logger.info("embedded %s broker listening on %s (data in %s)", engine, broker.url, work)
    return broker


# -- mosquitto ---------------------------------------------------------------------------


def _mosquitto_config(host: str, port: int, work: Path) -> str:
    lines = [
        f"listener {port} {host}",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {work}/",
        "autosave_interval 30",
        # 3.1.1 clients have no session expiry of their own; keep their sessions a week.
        "persistent_client_expiration 7d",
        "max_queued_messages 100000",
        "log_type error",
        "log_type warning",
        "log_type notice",
        f"log_dest file {work / 'mosquitto.log'}",
    ]
    if os.geteuid() == 0:
        # Run as root, mosquitto switches to user "mosquitto", which cannot write our data dir.
        lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


def _start_mosquitto(host: str, port: int, work: Path) -> Broker:
    binary = shutil.which("mosquitto")
    if binary is None:
        raise BrokerError("mosquitto is not on PATH")
    attempts = 3 if port == 0 else 1
    last_log = ""
    for _ in range(attempts):
        chosen = port or free_port(host)
        conf = work / "mosquitto.conf"
        conf.write_text(_mosquitto_config(host, chosen, work))
        proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # its own session: Ctrl+C in a terminal must not kill the broker before the
            # server and the simulated devices have said goodbye through it
            start_new_session=True,
        )
        if _wait_listening(host, chosen, 10.0, alive=lambda p=proc: p.poll() is None):

            def stop(p: subprocess.Popen = proc) -> None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                if p.stderr:
                    p.stderr.close()

            return Broker("mosquitto", host, chosen, work, stop)
        # Another process may have taken the port between our probe and mosquitto's bind.
        proc.kill()
        _, err = proc.communicate()
        log = work / "mosquitto.log"
        last_log = (err or b"").decode(errors="replace") + (
            log.read_text(errors="replace")[-2000:] if log.exists() else ""
        )
    raise BrokerError(f"mosquitto did not start on {host}:{port or 'a free port'}: {last_log}")


# -- amqtt -------------------------------------------------------------------------------


def _amqtt_config(host: str, port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            # amqtt's own anonymous plugin marks every session anonymous, and amqtt drops
            # queued QoS 1 messages for anonymous sessions; ours admits all, marks none.
            "devices.broker.AdmitEveryone": {},
        },
    }


def _admit_everyone_plugin() -> type:
    from dataclasses import dataclass as plugin_config

    from amqtt.plugins.base import BaseAuthPlugin

    class AdmitEveryone(BaseAuthPlugin):
        """Accept every client without marking its session anonymous."""

        @plugin_config
        class Config:
            pass

        async def authenticate(self, *, session: Any) -> bool:
            return True

    return AdmitEveryone


def __getattr__(name: str) -> Any:
    # amqtt loads plugins by dotted path; building the class on first use keeps amqtt
    # out of the import of this module when mosquitto is what runs.
    if name == "AdmitEveryone":
        cls = _admit_everyone_plugin()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def _start_amqtt(host: str, port: int, work: Path) -> Broker:
    from amqtt.broker import Broker as AmqttBroker

    chosen = port or free_port(host)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, Any] = {}

    async def boot() -> None:
        broker = AmqttBroker(_amqtt_config(host, chosen), loop=loop)
        await broker.start()
        holder["broker"] = broker

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(boot())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name=f"amqtt-{chosen}", daemon=True)
    thread.start()
    started.wait(15)
    if failure or "broker" not in holder:
        raise BrokerError(f"amqtt did not start on {host}:{chosen}: {failure[:1]}")

    def stop() -> None:
        future = asyncio.run_coroutine_threadsafe(holder["broker"].shutdown(), loop)
        try:
            future.result(timeout=10)
        except Exception:
            logger.warning("amqtt shutdown did not finish cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return Broker("amqtt", host, chosen, work, stop)
