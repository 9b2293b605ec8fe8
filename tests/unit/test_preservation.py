"""Preservation metrics against the published reference values (IPI, Simpson, Lawrence)."""

from __future__ import annotations

import pytest

from server.services import preservation as p


@pytest.mark.parametrize(("t", "rh", "years"), [(20, 50, 44.6), (25, 60, 18.7), (10, 40, 214.7)])
def test_preservation_index_matches_the_ipi_table(t, rh, years):
    assert p.pi_years(t, rh) == pytest.approx(years, abs=0.05)


def test_twpi_is_the_time_weighted_harmonic_mean():
    assert p.twpi_years([(12 * 3600, 20, 50), (12 * 3600, 30, 70)]) == pytest.approx(13.8, abs=0.05)
    # the arithmetic mean would flatter the room: the bad half dominates
    assert p.twpi_years([(12 * 3600, 20, 50), (12 * 3600, 30, 70)]) < (44.6 + p.pi_years(30, 70)) / 2
    assert p.twpi_years([]) is None


def test_equilibrium_moisture_content_simpson_1998():
    assert p.emc_pct(20, 50) == pytest.approx(9.27, abs=0.01)


def test_dew_point_magnus_lawrence():
    assert p.dew_point_c(20, 50) == pytest.approx(9.26, abs=0.01)


def test_mould_risk_needs_damp_and_a_livable_temperature():
    assert p.days_to_mould(20, 64.9) is None
    assert p.days_to_mould(1.5, 90) is None and p.days_to_mould(46, 90) is None
    assert p.days_to_mould(25, 90) < p.days_to_mould(25, 70) < p.days_to_mould(15, 70)
    week_damp = [(7 * 86400, 25, 85)]
    assert p.mould_risk(week_damp) > p.mould_risk([(86400, 25, 85)]) > 0
    # a dry day starts the count again
    assert p.mould_risk([(86400, 25, 85), (86400, 20, 50)]) == 0
    assert p.mould_risk([(3 * 86400, 20, 50)]) == 0


def test_ratings():
    assert p.rate_natural_aging(80) == "good" and p.rate_natural_aging(50) == "ok"
    assert p.rate_natural_aging(13.8) == "risk" and p.rate_natural_aging(None) is None
    assert p.rate_mechanical(p.emc_pct(20, 50)) == "good"
    assert p.rate_mechanical(p.emc_pct(25, 85)) == "risk"
    assert p.rate_mould(0) == "good" and p.rate_mould(0.2) == "ok" and p.rate_mould(1.2) == "risk"
