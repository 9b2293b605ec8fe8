"""Climate of a paper store: a daily cycle, sensor noise and the drift of a failing HVAC."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ClimateNorm:
    """The room's usual climate: mean, daily swing and sensor noise (1 sigma)."""

    temperature_c: float = 20.0
    temperature_swing_c: float = 1.5
    humidity_pct: float = 50.0
    humidity_swing_pct: float = 4.0
    peak_hour: float = 15.0  # warmest (and driest) hour of the day
    noise_c: float = 0.1
    noise_pct: float = 0.4


@dataclass(frozen=True, slots=True)
class HvacFailure:
    """Where a room drifts when its air handling fails, and how fast (simulated seconds)."""

    extra_c: float = 3.0
    extra_pct: float = 25.0  # 50 % RH climbs to about 75 %
    time_constant_s: float = 300.0


def daily_cycle(at: datetime, norm: ClimateNorm = ClimateNorm()) -> tuple[float, float]:
    """(temperature, humidity) without noise at a time of day; humidity falls as it warms."""
    hour = at.hour + at.minute / 60 + at.second / 3600
    wave = math.cos(2 * math.pi * (hour - norm.peak_hour) / 24)
    return (
        norm.temperature_c + norm.temperature_swing_c * wave,
        norm.humidity_pct - norm.humidity_swing_pct * wave,
    )


def drift_step(
    excess: tuple[float, float], dt_s: float, failing: bool, failure: HvacFailure = HvacFailure()
) -> tuple[float, float]:
    """The HVAC excess (°C, % RH) after dt_s simulated seconds: towards the failure or back to 0."""
    target = (failure.extra_c, failure.extra_pct) if failing else (0.0, 0.0)
    pull = 1.0 - math.exp(-max(dt_s, 0.0) / failure.time_constant_s)
    return (
        excess[0] + (target[0] - excess[0]) * pull,
        excess[1] + (target[1] - excess[1]) * pull,
    )


class SensorClimate:
    """What one sensor measures: the daily cycle, the HVAC drift and its own noise."""

    def __init__(
        self,
        norm: ClimateNorm = ClimateNorm(),
        failure: HvacFailure = HvacFailure(),
        rng: random.Random | None = None,
    ) -> None:
        self.norm = norm
        self.failure = failure
        self.rng = rng or random.Random()
        self.excess = (0.0, 0.0)
        self._last: float | None = None

    def measure(self, at: datetime, elapsed_s: float, failing: bool) -> tuple[float, float]:
        """(temperature_c, humidity_pct) at simulated time `at` (`elapsed_s` since start)."""
        if self._last is not None:
            self.excess = drift_step(self.excess, elapsed_s - self._last, failing, self.failure)
        self._last = elapsed_s
        base_t, base_h = daily_cycle(at, self.norm)
        temperature = base_t + self.excess[0] + self.rng.gauss(0.0, self.norm.noise_c)
        humidity = base_h + self.excess[1] + self.rng.gauss(0.0, self.norm.noise_pct)
        # The sensors report tenths (XY-MD02 registers are ×10).
        return round(temperature, 1), round(min(100.0, max(0.0, humidity)), 1)
