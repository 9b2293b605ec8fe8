"""Shelf lights: obey `lights/{location}/set` commands (on, colour, for how long)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devices.codecs import mqtt_json
from devices.codecs.errors import CodecError
from devices.events import LightCommand

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LightState:
    """A shelf light as it is now."""

    on: bool
    color: str
    until: float | None  # monotonic time it switches itself off; None: stays as it is


class ShelfLights:
    """Every shelf light of the room, keyed by location code."""

    def __init__(self, root: str = mqtt_json.DEFAULT_ROOT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = root
        self.clock = clock
        self.commands = 0
        self.refused = 0
        self._states: dict[str, LightState] = {}
        self._lock = threading.Lock()

    def obey(self, command: LightCommand) -> LightState:
        """Apply one command; `seconds` > 0 switches the light off again after that long."""
        until = self.clock() + command.seconds if command.on and command.seconds > 0 else None
        state = LightState(command.on, command.color, until)
        with self._lock:
            self._states[command.location_code] = state
            self.commands += 1
        log.info("shelf light %s %s%s", command.location_code,
                 f"on ({command.color})" if command.on else "off",
                 f" for {command.seconds}s" if until else "")
        return state

    def on_message(self, topic: str, payload: bytes) -> None:
        """The MQTT handler for the lights filter."""
        try:
            self.obey(mqtt_json.decode_light_command(topic, payload, root=self.root))
        except CodecError as exc:
            with self._lock:
                self.refused += 1
            log.warning("shelf light ignored a command on %s: %s", topic, exc.reason)

    def state(self, location_code: str) -> LightState | None:
        """The light at a location now (a timed light that ran out is off)."""
        with self._lock:
            state = self._states.get(location_code)
            if state is not None and state.until is not None and self.clock() >= state.until:
                state = self._states[location_code] = LightState(False, state.color, None)
            return state

    def lit(self) -> list[str]:
        """Locations whose light is on now."""
        with self._lock:
            codes = list(self._states)
        return [c for c in codes if (s := self.state(c)) is not None and s.on]
