"""Preservation metrics as closed forms (the IPI / dpcalc family): pure functions, no database.

Temperatures in °C, relative humidity in %. Each metric has a rating: good, ok or risk.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# Padfield (2004), fitted to the Image Permanence Institute's Preservation Index table.
_PI_EA = 95220.0  # activation energy term, J/mol
_PI_RH = 134.9
_GAS_R = 8.314


def pi_years(t: float, rh: float) -> float:
    """Preservation Index in years: how long paper of the IPI's reference kind lasts at t/rh."""
    return math.exp((_PI_EA - _PI_RH * rh) / (_GAS_R * (t + 273.15)) + 0.0284 * rh - 28.023) / 365


def twpi_years(spans: Iterable[tuple[float, float, float]]) -> float | None:
    """Time-weighted PI over (seconds, t, rh) spans: the time-weighted harmonic mean of PI.

    Decay adds up as rates, so the mean is taken over 1/PI; None when there is no time.
    """
    total = rate = 0.0
    for seconds, t, rh in spans:
        if seconds > 0:
            total += seconds
            rate += seconds / pi_years(t, rh)
    return total / rate if rate > 0 else None


def emc_pct(t: float, rh: float) -> float:
    """Equilibrium moisture content of wood (Simpson 1998, Hailwood–Horrobin), in %."""
    h = rh / 100
    w = 349 + 1.29 * t + 0.0135 * t * t
    k = 0.805 + 0.000736 * t - 0.00000273 * t * t
    k1 = 6.27 - 0.00938 * t - 0.000303 * t * t
    k2 = 1.91 + 0.0407 * t - 0.000293 * t * t
    kh = k * h
    return 1800 / w * (kh / (1 - kh) + (k1 * kh + 2 * k1 * k2 * kh * kh)
                       / (1 + k1 * kh + k1 * k2 * kh * kh))


_MAGNUS_A, _MAGNUS_B = 17.625, 243.04  # Alduchov & Eskridge, as Lawrence (2005) gives them


def dew_point_c(t: float, rh: float) -> float:
    """Dew point by the Magnus formula (Lawrence 2005 coefficients), in °C."""
    gamma = math.log(max(rh, 0.01) / 100) + _MAGNUS_A * t / (_MAGNUS_B + t)
    return _MAGNUS_B * gamma / (_MAGNUS_A - gamma)


MOULD_RH_MIN = 65.0
MOULD_T_RANGE = (2.0, 45.0)


def days_to_mould(t: float, rh: float) -> float | None:
    """Days of constant t/rh until mould spores germinate; None where no mould grows.

    A smooth approximation of the IPI isopleths (from months at 65 %RH to days at 90 %RH,
    faster when warm); below 65 %RH, under 2 °C or over 45 °C there is no risk.
    """
    lo, hi = MOULD_T_RANGE
    if rh < MOULD_RH_MIN or not lo <= t <= hi:
        return None
    warmth = min(t, 30.0)  # growth is fastest around 30 °C and no faster above
    return math.exp(7.6 - 0.12 * warmth - 0.1 * (rh - MOULD_RH_MIN))


def mould_risk(spans: Iterable[tuple[float, float, float]]) -> float:
    """Accumulated mould risk over (seconds, t, rh) spans: 1.0 means germination is reached.

    Each span adds its share of the days to germination; a day below 65 %RH starts the
    count again, as IPI's dew point calculator does.
    """
    risk = dry = 0.0
    for seconds, t, rh in spans:
        days = days_to_mould(t, rh)
        if days is None:
            dry += seconds
            if dry >= 86400:
                risk = 0.0
            continue
        dry = 0.0
        risk += seconds / 86400 / days
    return risk


def rate_natural_aging(pi: float | None) -> str | None:
    """IPI's rating of the PI: good from 75 years, ok from 45, risk below."""
    if pi is None:
        return None
    return "good" if pi >= 75 else "ok" if pi >= 45 else "risk"


def rate_mechanical(emc: float | None) -> str | None:
    """IPI's rating of the EMC: good between 5 and 12.5 %, ok up to 14 %, else risk."""
    if emc is None:
        return None
    if 6.3 <= emc <= 12.5:
        return "good"
    return "ok" if 5.0 <= emc <= 14.0 else "risk"


def rate_mould(risk: float | None) -> str | None:
    """good: no risk accumulated; ok: under half way to germination; risk beyond."""
    if risk is None:
        return None
    return "good" if risk <= 0 else "ok" if risk < 0.5 else "risk"
