"""Simulated time: the room's day can run faster than the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class SimClock:
    """A clock running `speed` times faster than the wall clock from `start`."""

    def __init__(
        self,
        speed: float = 1.0,
        start: datetime | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.start = start or datetime.now().astimezone()
        self._monotonic = monotonic
        self._began = monotonic()

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (self._monotonic() - self._began) * self.speed

    def now(self) -> datetime:
        """The simulated date and time (aware)."""
        return self.start + timedelta(seconds=self.elapsed())

    def wall_seconds(self, simulated: float) -> float:
        """How many wall-clock seconds a simulated span takes."""
        return simulated / self.speed


def wire_now() -> datetime:
    """The real time with the local offset, as devices stamp their messages."""
    # Wire timestamps stay real even when the day runs fast: the server judges
    # freshness (placement windows, silence) against its own wall clock.
    return datetime.now().astimezone()
