"""The statistics page (统计): each figure as a bar chart with its table, exports, the annual report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from markupsafe import Markup

from dashboard import charts
from dashboard.pages import MOVERS, Page, PageRefused, page_for, render
from server.clock import now
from server.services import statistics
from server.services.errors import Invalid, NotFound
from server.services.statistics import Figure

router = APIRouter(include_in_schema=False)
StatsPage = Annotated[Page, Depends(page_for(*MOVERS))]
Year = Annotated[int | None, Query(ge=1000, le=2999)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# 门类 codes of DA/T 13-2022 that have a name in words; other codes are shown as they are.
CATEGORIES: tuple[str, ...] = ("WS", "KJ", "RS", "KU", "ZY", "ZP", "LY", "LX", "SJ", "YJ",
                               "WY", "MT", "SW")
# What the page shows, in order: (figure, breakdown, uses the chosen year).
SHOWN: tuple[tuple[str, str, bool], ...] = (
    *(("holdings", by, False) for by in statistics.HOLDINGS_BY),
    ("loans", "month", True),
    ("loans", "group", True),
    ("occupancy", "room", False),
)


def words(page: Page, figure: Figure, key: Any, row: dict[str, Any] | None = None) -> str:
    """A figure's key in the page's language (a value nobody named yet, as it is)."""
    t = page.t
    if key is None:
        return t("stats.not_given")
    by = figure.by
    if figure.name == "occupancy":
        return str(row.get("name") or key) if row else str(key)
    if by == "classification":
        return page.term("class", key)
    if by == "retention":
        return t("stats.retention_custom") if key == "custom" else page.term("retention", key)
    if by == "status":
        return t("stats.unboxed") if key == "unboxed" else page.term("status", key)
    if by == "group":
        return t("stats.unknown_person") if key == "unknown" else page.term("role", key)
    if by == "category" and key in CATEGORIES:
        return f"{key} · {t('stats.category.' + key)}"
    if by == "month" and page.lang == "zh":
        year, _, month = str(key).partition("-")
        return f"{year}年{int(month)}月" if month.isdigit() else str(key)
    return str(key)


def headers(page: Page, figure: Figure) -> dict[str, str]:
    """Column names in the page's language."""
    t = page.t
    return {"key": t("stats.col.key"), "label": t(f"stats.by.{figure.name}.{figure.by}"),
            "count": t(f"stats.col.count.{figure.name}"), "open": t("stats.col.open"),
            "name": t("stats.col.name"), "capacity": t("stats.col.capacity"),
            "free": t("stats.col.free"), "percent": t("stats.col.percent"),
            "total": t("stats.total")}


@dataclass(frozen=True)
class Shown:
    """One figure on the page: its chart, its table and where to export it."""

    ident: str
    heading: str
    figure: Figure
    chart: Markup
    columns: list[tuple[str, str]]  # (column, heading) for the table
    lines: list[dict[str, Any]]  # rows with "label" added
    exports: str  # the query string of its export links


def show(page: Page, figure: Figure, *, year: int | None) -> Shown:
    """A figure ready for the template."""
    t = page.t
    ident = f"chart-{figure.name}-{figure.by}"
    heading = t(f"stats.title.{figure.name}.{figure.by}")
    lines = [{**row, "label": words(page, figure, row.get("key"), row)} for row in figure.rows]
    if figure.name == "occupancy":
        bars = [charts.Bar(line["label"], line["count"], limit=line["capacity"] or None,
                           text=t("stats.of_capacity", boxes=f"{line['count']:,}",
                                  capacity=f"{line['capacity']:,}"))
                for line in lines]
    else:
        bars = [charts.Bar(line["label"], line["count"]) for line in lines]
    description = t("stats.chart_desc", total=f"{figure.total:,}", rows=len(lines))
    chart = charts.bar_chart(bars, ident=ident, title=heading, description=description,
                             empty=t("stats.empty"),
                             colour=list(statistics.FIGURES).index(figure.name))
    names = headers(page, figure)
    columns = [("label", names["label"])] + [
        (c, names[c]) for c in figure.columns if c not in ("key", "name")]
    query = f"by={figure.by}" + (f"&year={year}" if year is not None else "")
    return Shown(ident, heading, figure, chart, columns, lines, query)


@router.get("/statistics")
def statistics_page(page: StatsPage, year: Year = None) -> Response:
    """Every figure as a chart with its table; loans for the chosen year (this year at first)."""
    chosen = year or now().year
    clearance = page.person.clearance
    shown = []
    for name, by, yearly in SHOWN:
        figure = statistics.figure(page.session, name, by=by, clearance=clearance,
                                   year=chosen if yearly else None)
        shown.append(show(page, figure, year=chosen if yearly else None))
    return render(page, "statistics.html", shown=shown, year=chosen,
                  clearance=page.term("class", clearance))


def _exported(page: Page, name: str, by: str | None, year: int | None) -> tuple[Figure, list]:
    try:
        figure = statistics.figure(page.session, name, by=by, year=year,
                                   clearance=page.person.clearance)
    except (NotFound, Invalid) as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    lines = statistics.table(figure, headers=headers(page, figure),
                             words=lambda key: words(page, figure, key))
    if figure.name == "occupancy":  # the room's name is already a column
        lines = [line[:1] + line[2:] for line in lines]
    return figure, lines


def _filename(figure: Figure, year: int | None, ext: str) -> dict[str, str]:
    part = f"-{year}" if year is not None else ""
    return {"Content-Disposition":
            f'attachment; filename="statistics-{figure.name}-{figure.by}{part}.{ext}"'}


@router.get("/statistics/report.pdf")
def report_pdf(page: StatsPage, year: Year = None) -> Response:
    """The annual report (年报) for a year as a PDF, in the page's language."""
    from dashboard import annual_report  # it builds on this module's words and headers

    chosen = year or now().year
    body = annual_report.render_pdf(page, year=chosen)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="annual-report-{chosen}.pdf"'})


@router.get("/statistics/{name}.csv")
def export_csv(page: StatsPage, name: str, by: str | None = None, year: Year = None) -> Response:
    """One figure as CSV, with its keys in words in the page's language."""
    figure, lines = _exported(page, name, by, year)
    return Response(statistics.to_csv(lines), media_type="text/csv; charset=utf-8",
                    headers=_filename(figure, year, "csv"))


@router.get("/statistics/{name}.xlsx")
def export_xlsx(page: StatsPage, name: str, by: str | None = None, year: Year = None) -> Response:
    """One figure as an Excel workbook, with its keys in words in the page's language."""
    figure, lines = _exported(page, name, by, year)
    title = page.t(f"stats.title.{figure.name}.{figure.by}")
    return Response(statistics.to_xlsx(lines, title=title), media_type=XLSX,
                    headers=_filename(figure, year, "xlsx"))
