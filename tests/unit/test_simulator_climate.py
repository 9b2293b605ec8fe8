"""The climate model: daily cycle, sensor noise and the drift of a failing HVAC."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from simulators.climate import ClimateNorm, HvacFailure, SensorClimate, daily_cycle, drift_step
from simulators.clock import SimClock

DAY = datetime(2024, 7, 1).astimezone()


def test_the_day_is_warmest_and_driest_in_the_afternoon():
    afternoon = daily_cycle(DAY.replace(hour=15))
    night = daily_cycle(DAY.replace(hour=3))
    assert afternoon == (21.5, 46.0)
    assert night == (18.5, 54.0)
    hours = [daily_cycle(DAY + timedelta(hours=h)) for h in range(24)]
    assert all(18.5 <= t <= 21.5 and 46.0 <= h <= 54.0 for t, h in hours)


def test_a_failing_hvac_drives_humidity_towards_75_percent_over_minutes():
    excess = (0.0, 0.0)
    failure = HvacFailure()
    after_a_minute = drift_step(excess, 60, True, failure)
    assert 0 < after_a_minute[1] < 10
    for _ in range(30):
        excess = drift_step(excess, 60, True, failure)
    assert 24.0 < excess[1] <= 25.0 and 2.8 < excess[0] <= 3.0
    for _ in range(30):
        excess = drift_step(excess, 60, False, failure)
    assert excess[1] < 1.0  # repaired: the room dries out again


def test_a_sensor_measures_the_cycle_with_a_little_noise_in_tenths():
    sensor = SensorClimate(ClimateNorm(), rng=random.Random(1))
    readings = [sensor.measure(DAY.replace(hour=15), i * 30.0, False) for i in range(200)]
    temperatures = [t for t, _ in readings]
    humidities = [h for _, h in readings]
    assert min(temperatures) > 21.0 and max(temperatures) < 22.0
    assert min(humidities) > 44.0 and max(humidities) < 48.0
    assert all(round(t, 1) == t for t in temperatures)
    assert len(set(humidities)) > 5  # it is noisy, not constant


def test_humidity_climbs_when_the_hvac_fails_and_stays_physical():
    sensor = SensorClimate(rng=random.Random(2))
    start = sensor.measure(DAY, 0.0, False)[1]
    later = [sensor.measure(DAY, s, True)[1] for s in range(60, 3600, 60)]
    assert later[-1] > start + 20
    assert all(0.0 <= h <= 100.0 for h in later)


def test_the_simulated_clock_runs_faster_than_the_wall():
    wall = [100.0]
    clock = SimClock(60, DAY, monotonic=lambda: wall[0])
    wall[0] += 30  # half a minute of wall time is half an hour in the room
    assert clock.elapsed() == 1800
    assert clock.now() == DAY + timedelta(minutes=30)
    assert clock.wall_seconds(600) == 10
