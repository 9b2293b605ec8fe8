"""A room's monthly climate report: per day min/max/mean and time in band, TWPI, alarms; CSV and PDF."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from server.models.alarms import Alarm
from server.models.climate import ClimateProfile
from server.models.places import Location
from server.services import climate_history, climate_profiles, preservation
from server.services.errors import Invalid


@dataclass(frozen=True, slots=True)
class Day:
    day: datetime
    summary: climate_history.Summary
    in_band_s: float


@dataclass(frozen=True, slots=True)
class MonthReport:
    room: Location
    profile: ClimateProfile
    month: str
    since: datetime
    until: datetime
    days: list[Day]
    total: climate_history.Summary
    in_band_s: float
    alarms: list[Alarm]

    @property
    def pct_in_band(self) -> float | None:
        return 100 * self.in_band_s / self.total.seconds if self.total.seconds else None


def month_span(month: str) -> tuple[datetime, datetime]:
    """[first day, first day of the next month) in UTC for YYYY-MM."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("month must be YYYY-MM, not {month!r}", month=month, field="month") from None
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


def month_report(session: Session, room: Location, month: str, *, stale_s: float = 900.0,
                 default_profile: str = "paper") -> MonthReport:
    """Everything the month's report says, from the hourly roll-ups (raw where not rolled up)."""
    since, until = month_span(month)
    profile = climate_profiles.of_room(session, room, default=default_profile)
    spans = climate_history.spans(session, room, since, until, stale_s=stale_s,
                                  default_profile=default_profile)
    days = []
    day = since
    while day < until:
        mine = [s for s in spans if day <= s.start < day + timedelta(days=1)]
        days.append(Day(day, climate_history.summarise(mine), sum(s.in_band_s for s in mine)))
        day += timedelta(days=1)
    raised = list(session.exec(select(Alarm).where(
        Alarm.subject == room.code, col(Alarm.raised_at) >= since, col(Alarm.raised_at) < until)
        .order_by(col(Alarm.raised_at))).all())
    return MonthReport(room, profile, month, since, until, days, climate_history.summarise(spans),
                       sum(s.in_band_s for s in spans), raised)


def _f(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def as_csv(report: MonthReport) -> str:
    """The report as CSV: one row per day, then the month, then its alarms."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["room", "month", "profile", "band_temperature_c", "band_humidity_pct"])
    p = report.profile
    w.writerow([report.room.code, report.month, p.name,
                f"{p.temperature_min:g}-{p.temperature_max:g}", f"{p.humidity_min:g}-{p.humidity_max:g}"])
    w.writerow([])
    w.writerow(["day", "temperature_min", "temperature_max", "temperature_mean", "humidity_min",
                "humidity_max", "humidity_mean", "hours_known", "pct_in_band",
                "hours_out_of_band", "twpi_years"])
    for d in report.days:
        s = d.summary
        w.writerow([d.day.date().isoformat(), _f(s.t_min), _f(s.t_max), _f(s.temperature_c),
                    _f(s.rh_min), _f(s.rh_max), _f(s.humidity_pct), _f(s.seconds / 3600, 2),
                    _f(100 * d.in_band_s / s.seconds if s.seconds else None),
                    _f(s.hours_out_of_band, 2), _f(s.twpi_years)])
    t = report.total
    w.writerow(["month", _f(t.t_min), _f(t.t_max), _f(t.temperature_c), _f(t.rh_min),
                _f(t.rh_max), _f(t.humidity_pct), _f(t.seconds / 3600, 2), _f(report.pct_in_band),
                _f(t.hours_out_of_band, 2), _f(t.twpi_years)])
    w.writerow([])
    w.writerow(["alarm", "kind", "severity", "state", "raised_at", "cleared_at", "message"])
    for a in report.alarms:
        w.writerow([a.id, a.kind, a.severity, a.state, a.raised_at.isoformat(),
                    a.cleared_at.isoformat() if a.cleared_at else "", a.message])
    return out.getvalue()


def as_pdf(report: MonthReport, *, fonts: tuple[str, str]) -> bytes:
    """The report as one A4 page: summary, a chart of the daily ranges with the band, alarms."""
    from reportlab.lib.colors import Color, black
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    regular, _bold = fonts
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    width, height = A4
    x0, y = 40.0, height - 50
    p, t = report.profile, report.total
    c.setFont(regular, 15)  # the bold face carries Latin only
    c.drawString(x0, y, f"Climate report · 温湿度月报 — {report.room.name} ({report.room.code}), "
                        f"{report.month}")
    y -= 22
    c.setFont(regular, 9.5)
    lines = [
        f"Profile 标准: {p.name} — {p.temperature_min:g}–{p.temperature_max:g} °C, "
        f"{p.humidity_min:g}–{p.humidity_max:g} %RH (JGJ 25-2010)",
        f"Time in band 达标时间: {_f(report.pct_in_band)} % of {_f(t.seconds / 3600, 0)} h with readings; "
        f"out of band 超标: {_f(t.hours_out_of_band, 1)} h; mould-risk hours 霉变风险: "
        f"{_f(t.mould_risk_hours, 1)} h",
        f"Extremes 极值: {_f(t.t_min)}–{_f(t.t_max)} °C, {_f(t.rh_min)}–{_f(t.rh_max)} %RH; "
        f"mean 平均: {_f(t.temperature_c)} °C, {_f(t.humidity_pct)} %RH",
        f"TWPI: {_f(t.twpi_years)} years 年"
        + (f"; EMC {_f(preservation.emc_pct(t.temperature_c, t.humidity_pct))} %"
           if t.temperature_c is not None and t.humidity_pct is not None else ""),
    ]
    for line in lines:
        c.drawString(x0, y, line)
        y -= 14
    ch, cw = 150.0, width - 2 * x0 - 30
    # chart: daily humidity range (bars) with the band shaded, daily temperature range below
    for label, lo_key, hi_key, band, scale in (
        ("%RH", "rh_min", "rh_max", (p.humidity_min, p.humidity_max), (20.0, 90.0)),
        ("°C", "t_min", "t_max", (p.temperature_min, p.temperature_max), (0.0, 35.0)),
    ):
        y -= 10
        top = y
        bottom = y - ch
        lo_v, hi_v = scale

        def ypos(v: float, lo_v=lo_v, hi_v=hi_v, bottom=bottom) -> float:
            v = min(max(v, lo_v), hi_v)
            return bottom + (v - lo_v) / (hi_v - lo_v) * ch

        c.setFillColor(Color(0.75, 0.9, 0.75))
        c.rect(x0 + 30, ypos(band[0]), cw, ypos(band[1]) - ypos(band[0]), stroke=0, fill=1)
        c.setStrokeColor(black)
        c.setFillColor(black)
        c.rect(x0 + 30, bottom, cw, ch, stroke=1, fill=0)
        c.setFont(regular, 8)
        for v in (lo_v, band[0], band[1], hi_v):
            c.drawRightString(x0 + 26, ypos(v) - 3, f"{v:g}")
        c.drawString(x0, top + 4, label)
        step = cw / max(1, len(report.days))
        c.setFillColor(Color(0.2, 0.35, 0.8))
        for i, d in enumerate(report.days):
            lo, hi = getattr(d.summary, lo_key), getattr(d.summary, hi_key)
            if lo is None or hi is None:
                continue
            bx = x0 + 30 + i * step + step * 0.2
            c.rect(bx, ypos(lo), step * 0.6, max(1.0, ypos(hi) - ypos(lo)), stroke=0, fill=1)
        c.setFillColor(black)
        for i, d in enumerate(report.days):
            if i % 5 == 0:
                c.drawString(x0 + 30 + i * step, bottom - 10, d.day.strftime("%d"))
        y = bottom - 24
    c.setFont(regular, 10)
    c.drawString(x0, y, f"Alarms 告警 ({len(report.alarms)})")
    y -= 14
    c.setFont(regular, 8.5)
    for a in report.alarms[:30]:
        c.drawString(x0, y, f"{a.raised_at.strftime('%Y-%m-%d %H:%M')}  {a.kind}  {a.severity}  "
                            f"{a.state}  {a.message[:90]}")
        y -= 12
        if y < 40:
            break
    c.showPage()
    c.save()
    return buf.getvalue()


def previous_month(at: datetime) -> str:
    """YYYY-MM of the month before the one `at` falls in."""
    return (at.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def file_month(session: Session, room: Location, month: str, folder: Path, *,
               fonts: tuple[str, str], stale_s: float = 900.0,
               default_profile: str = "paper") -> list[Path]:
    """Write a room's month as CSV and PDF into folder, unless there already; the new files.

    Each file is written beside its name and renamed into place, so a reader never sees half
    a report and a second run finds the files and does nothing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"climate-{room.code}-{month}"
    wanted = [p for p in (stem.with_suffix(".csv"), stem.with_suffix(".pdf")) if not p.exists()]
    if not wanted:
        return []
    report = month_report(session, room, month, stale_s=stale_s, default_profile=default_profile)
    for path in wanted:
        data = as_csv(report).encode("utf-8") if path.suffix == ".csv" else as_pdf(
            report, fonts=fonts)
        part = path.with_suffix(path.suffix + ".part")
        part.write_bytes(data)
        os.replace(part, path)
    return wanted
