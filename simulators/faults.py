"""Faults on demand: what can go wrong in the room, and what each does to the wire."""

from __future__ import annotations

import random
import threading

HVAC_FAILURE = "hvac-failure"
SENSOR_DROPOUT = "sensor-dropout"
SERIAL_GARBAGE = "serial-garbage"
UNAUTHORIZED_REMOVAL = "unauthorized-removal"

FAULTS: dict[str, str] = {
    HVAC_FAILURE: "humidity climbs towards 75 % over minutes and the temperature drifts up",
    SENSOR_DROPOUT: "a climate sensor stops publishing (the server marks it offline)",
    SERIAL_GARBAGE: "random bytes and broken frames on the serial lines",
    UNAUTHORIZED_REMOVAL: "a box leaves through the door now, without a loan",
}
ONE_SHOT = frozenset({UNAUTHORIZED_REMOVAL})


class UnknownFault(ValueError):
    """A fault name the room does not know."""


def check(name: str) -> str:
    """The fault's name if it is known; UnknownFault with the known names otherwise."""
    if name not in FAULTS:
        raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    return name


class Faults:
    """The faults in force, each optionally aimed at one target (a device id, a box code)."""

    def __init__(self) -> None:
        self._active: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def activate(self, name: str, target: str | None = None) -> None:
        """Put a lasting fault in force (one-shot faults are not kept)."""
        check(name)
        if name in ONE_SHOT:
            return
        with self._lock:
            self._active[name] = target

    def clear(self, name: str) -> bool:
        """End a fault; True when it was in force."""
        check(name)
        with self._lock:
            return self._active.pop(name, False) is not False

    def active(self, name: str, target: str | None = None) -> bool:
        """True when the fault is in force (for this target, when it was aimed at one)."""
        with self._lock:
            if name not in self._active:
                return False
            aimed = self._active[name]
            return aimed is None or target is None or aimed == target

    def target(self, name: str) -> str | None:
        """Whom the fault is aimed at, if anyone."""
        with self._lock:
            return self._active.get(name)

    def names(self) -> list[str]:
        """The faults in force."""
        with self._lock:
            return sorted(self._active)


def line_garbage(rng: random.Random, size: int | None = None) -> bytes:
    """Line noise: random bytes such as a loose connector or a wrong baud rate produce."""
    size = size if size is not None else rng.randint(3, 24)
    return bytes(rng.randrange(256) for _ in range(size))


def break_frame(frame: bytes, rng: random.Random) -> bytes:
    """A damaged copy of a frame: one flipped byte after the header, or cut short."""
    if len(frame) < 3 or rng.random() < 0.5:
        return frame[: max(1, len(frame) // 2)]
    damaged = bytearray(frame)
    at = rng.randrange(1, len(frame))
    damaged[at] ^= 1 << rng.randrange(8)
    return bytes(damaged)
