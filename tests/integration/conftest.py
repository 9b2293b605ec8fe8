"""Integration fixtures: a real MQTT broker for the session, a private topic root per test."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devices.broker import start_embedded_broker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestBroker:
    """The broker the session's tests talk to."""

    url: str
    engine: str  # "external", "mosquitto" or "amqtt"

    @property
    def speaks_v5(self) -> bool:
        """CI's external broker is Mosquitto; amqtt speaks 3.1.1 only."""
        return self.engine != "amqtt"


def _announce(config: pytest.Config, line: str) -> None:
    logger.info(line)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        # Fixture output is captured; which broker ran belongs in the visible run log.
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@pytest.fixture(scope="session")
def mqtt_broker(pytestconfig: pytest.Config, tmp_path_factory) -> Iterator[TestBroker]:
    """ARCHIVE_TWIN_TEST_MQTT_URL if set, else a private mosquitto, else amqtt."""
    url = os.environ.get("ARCHIVE_TWIN_TEST_MQTT_URL")
    if url:
        _announce(pytestconfig, f"MQTT tests use the external broker {url}")
        yield TestBroker(url, "external")
        return
    broker = start_embedded_broker(data_dir=tmp_path_factory.mktemp("mqtt-broker"))
    _announce(pytestconfig, f"MQTT tests use a private {broker.engine} broker at {broker.url}")
    try:
        yield TestBroker(broker.url, broker.engine)
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mqtt_url(mqtt_broker: TestBroker) -> str:
    """URL of the session's broker (`mqtt://host:port`)."""
    return mqtt_broker.url


@pytest.fixture
def topic_root() -> str:
    """A topic root no other test uses, so retained messages never leak between tests."""
    return f"test/{uuid.uuid4().hex}/archive/v1"


class Sink:
    """Thread-safe collector for events and rejects delivered by device threads."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0) -> list[Any]:
        """Wait until predicate(items) holds; fail the test with what did arrive otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"gave up waiting after {timeout}s; got {self.items!r:.2000}")
                self._cond.wait(left)
            return list(self.items)

    def of(self, kind: type) -> list[Any]:
        """The collected items of one type, in arrival order."""
        with self._cond:
            return [i for i in self.items if isinstance(i, kind)]


@pytest.fixture
def make_sink() -> Callable[[], Sink]:
    """Factory of collectors to pass as on_event / on_reject."""
    return Sink
