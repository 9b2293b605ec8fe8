"""`make bench`: run every benchmark, print the figures, write docs/benchmarks.md.

Each benchmark is a module here with run() -> dict. This machine is shared and noisy, so the
figures carry their own baselines (a bare paho subscriber for ingest) and the date they
were taken; compare runs, not single numbers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
# The figures themselves, so that running one benchmark keeps the others' last figures.
FIGURES = DOC.with_suffix(".json")
BENCHES = ("bench_labels", "bench_ingest", "bench_records", "bench_climate", "bench_signin_flood",
           "bench_statistics")
BENCHES_CMD = "python -m tests.bench [NAME ...]"


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| measure | figure | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(results: dict[str, dict], seconds: dict[str, float], taken: dict[str, str]) -> str:
    """docs/benchmarks.md from the figures."""
    out = [
        "# Benchmarks",
        "",
        f"`make bench` ({BENCHES_CMD}) on {platform.machine()} "
        f"({platform.python_implementation()} {platform.python_version()}), a shared 2-core "
        "machine. Figures move from run to run; the ingest ceiling is measured in the same run "
        "as its baseline. The raw figures are in benchmarks.json.",
        "",
        *[f"- {name}: taken {when}, ran {seconds[name]:.0f} s" for name, when in taken.items()],
        "",
    ]
    labels = results.get("bench_labels")
    if labels:
        out += ["## Labels (1,000 box labels)", "", _table([
            ("PDF, A4 3×8 sheets", f"{labels['pdf']['seconds']} s, peak {labels['pdf']['peak_mib']} MiB",
             f"≤ {labels['pdf']['target_seconds']} s", _yes(labels['pdf']['within_target'])),
            ("ZPL, 203 dpi with RFID", f"{labels['zpl']['seconds']} s, peak {labels['zpl']['peak_mib']} MiB",
             f"≤ {labels['zpl']['target_seconds']} s", _yes(labels['zpl']['within_target'])),
        ]), ""]
    ingest = results.get("bench_ingest")
    if ingest:
        out += ["## Ingest (tag reads through Mosquitto into the database)", "",
                f"A private Mosquitto; {ingest['boxes']:,} boxes on one shelf reader's 16 "
                "antennas; publishers in separate processes; the server is `archive-twin serve` "
                "(with 2 workers: `--workers 2` and a shared subscription). Everything shares the "
                "machine's 2 cores: broker, publishers, the bare subscriber and the server.", ""]
        for db in [k for k, v in ingest.items() if isinstance(v, dict) and "batched" in v]:
            f = ingest[db]
            b, s, g, met = f["batched"], f["single"], f["gate_alarm"], f["targets_met"]
            out += [f"### {db}", "", _table([
                ("batched (100 reads/message)", f"{b['reads_per_s']:,} reads/s", "≥ 100,000",
                 _yes(met["batched_reads_per_s"])),
                ("bare paho subscriber, same stream", f"{b['ceiling_reads_per_s']:,} reads/s", "", ""),
                ("fraction of the ceiling", f"{b['fraction_of_ceiling']}", "≥ 0.5",
                 _yes(met["fraction_of_ceiling"])),
                ("single-read messages", f"{s['messages_per_s']:,} messages/s "
                 f"(ceiling {s['ceiling_reads_per_s']:,})", "≥ 5,000", _yes(met["single_messages_per_s"])),
                ("reads published = accounted", f"{b['reads_published']:,} = {b['reads_accounted']:,}; "
                 f"{s['reads_published']:,} = {s['reads_accounted']:,}", "equal", _yes(met["counts_equal"])),
                ("gate read → alarm on MQTT", f"p50 {g.get('p50_s')} s, p99 {g.get('p99_s')} s "
                 f"({g.get('alarms_arrived')}/{g.get('alarms_sent')})", "p99 ≤ 1 s", _yes(met["alarm_p99_s"])),
            ]), ""]
    before = results.get("bench_ingest_before")
    if ingest and before:
        out += _ingest_compared(before, ingest, taken.get("bench_ingest_before", "?"))
    records = results.get("bench_records")
    if records:
        out += _records(records)
    climate = results.get("bench_climate")
    if climate:
        out += _climate(climate)
    flood = results.get("bench_signin_flood")
    if flood:
        out += _flood(flood)
    statistics = results.get("bench_statistics")
    if statistics:
        out += _statistics(statistics)
    return "\n".join(out)


def _climate(f: dict) -> list[str]:
    t, met, a = f["targets"], f["met"], f["alarm"]
    year = 50 * 288 * 365
    return [f"## Climate ({f['rows']:,} readings: {f['days']} days × {f['sensors']} sensors "
            f"every 5 min, {f['database']})", "",
            f"The issue asks for a year ({year:,} rows); this run seeded {f['days']} days "
            "(`ARCHIVE_TWIN_BENCH_CLIMATE_DAYS`, or `--days 365`) to stay within a few minutes "
            "on the shared machine. Roll-up time grows with the rows; the report and the "
            "exposure read the hourly roll-ups, so they do not.", "",
            _table([
                ("seeding (bulk insert)", f"{f['seed_s']} s", "", ""),
                ("roll-up, first run", f"{f['rollup_s']} s for {f['rollup_hours']:,} room-hours",
                 "", ""),
                ("roll-up, run again", f"{f['rollup_rerun_s']} s", "", ""),
                ("a room's monthly report (CSV and PDF)", f"{f['report_s']} s",
                 f"≤ {t['report_s']:g} s", _yes(met["report"])),
                ("a box's exposure over the whole span", f"{f['exposure_ms']} ms",
                 f"≤ {t['exposure_ms']:g} ms", _yes(met["exposure"])),
                ("alarm committed after the reading ending its hold",
                 f"p50 {a['p50_s']} s, p99 {a['p99_s']} s ({a['trials']} trials)",
                 f"p99 ≤ {t['alarm_p99_s']:g} s", _yes(met["alarm"])),
            ]), ""]


def _flood(flood: dict) -> list[str]:
    """Scans while anonymous clients guess passwords (issue 14)."""
    out = ["## Scans during a sign-in flood", "",
           f"The real server (uvicorn, 1 worker, SQLite); {flood['scan_clients']} clients each "
           f"scan every {flood['scan_every_s']} s, first alone, then while {flood['guessers']} "
           f"anonymous clients post wrong passwords as fast as they are answered for "
           f"{flood['seconds']:g} s, in the same run. `brakes on`: as shipped (the guessers "
           "share an address, so they are refused with 429 before any hashing); `brakes off`: "
           "every guess is hashed, and only the limit of one argon2 hash at a time per worker "
           "protects the scans. The scan lookup alone takes far longer here than in the records "
           "benchmark when other work shares the machine; compare the ratio in the same run, "
           "never single figures across runs.", "",
           "| brakes | scan p99 alone | scan p99 in the flood | ratio | guesses/s (answers) "
           "| target | met |", "|---|---|---|---|---|---|---|"]
    for name in ("brakes on", "brakes off"):
        f = flood.get(name)
        if not f:
            continue
        answers = ", ".join(f"{k}: {v:,}" for k, v in sorted(f["flood"]["guesses"].items()))
        out.append(f"| {name} | {f['quiet']['p99_ms']} ms | {f['flood']['scan']['p99_ms']} ms "
                   f"| {f['p99_ratio']} | {f['flood']['guesses_per_s']:,} ({answers}) "
                   f"| ≤ {flood['target_ratio']} | {_yes(f['within_target'])} |")
    out.append("")
    return out


def _statistics(figures: dict) -> list[str]:
    """Statistics (issue 13): each figure counted by the service, in ms."""
    target = figures["target_ms"]
    out = ["## Statistics (each figure counted from SQL)", "",
           f"{figures['records']:,} records and {figures['boxes']:,} boxes seeded as for the "
           "records benchmark, plus loans over three years; each figure counted "
           f"{figures['repeats']} times after a warm-up through server/services/statistics.py, "
           "for an admin (every record) and for staff (clearance internal). The median must "
           f"be within {target:.0f} ms; the slowest repeat is shown beside it.", ""]
    for db in ("sqlite", "postgresql"):
        f = figures.get(db)
        if not f:
            continue
        rows = [(name, f"median {m['median_ms']} ms, slowest {m['max_ms']} ms "
                 f"({m['rows']} rows, total {m['total']:,})", f"≤ {target:.0f} ms",
                 _yes(m["median_ms"] <= target)) for name, m in f["figures"].items()]
        out += [f"### {db}", "", f"Seeded {f['records']:,} records in {f['seed_s']} s, "
                f"{f['loans']:,} loans in {f['loans_s']} s.", "", _table(rows), ""]
    return out


def _ingest_compared(before: dict, after: dict, when: str) -> list[str]:
    """Ingest figures before and after acknowledging only what is committed (issue 9)."""
    out = ["### Before and after: acknowledged after commit, duplicates in the database, outbox",
           "",
           f"Before: {before.get('note', 'the earlier run')}, taken {when}. After: this run. "
           "The machine is shared, so compare the fraction of the ceiling (the bare subscriber "
           "measured in the same run) more than the raw rates.", "",
           "| run | batched reads/s | fraction of ceiling | single messages/s | single fraction "
           "| gate→alarm p99 |", "|---|---|---|---|---|---|"]
    for db in [k for k, v in after.items() if isinstance(v, dict) and "batched" in v]:
        was, now = before.get(db), after[db]
        if not isinstance(was, dict) or "batched" not in was:
            continue

        def pair(key: str, sub: str, fig: dict = now, old: dict = was) -> str:
            return f"{old[key][sub]:,} → {fig[key][sub]:,}"

        single = (f"{was['single']['fraction_of_ceiling']} → "
                  f"{now['single']['fraction_of_ceiling']}")
        alarm = f"{was['gate_alarm'].get('p99_s')} → {now['gate_alarm'].get('p99_s')} s"
        out.append(f"| {db} | {pair('batched', 'reads_per_s')} | "
                   f"{pair('batched', 'fraction_of_ceiling')} | "
                   f"{pair('single', 'messages_per_s')} | {single} | {alarm} |")
    out.append("")
    return out


def _records(records: dict) -> list[str]:
    targets = records["targets"]
    out = ["## Records (scan lookup and search over HTTP)", "",
           f"{records['boxes']:,} boxes and {records['records']:,} records seeded by the bulk "
           f"path; the real server (uvicorn) measured over HTTP by {records['clients']} "
           "concurrent keep-alive clients in 4 processes. Paced: each client scans every 0.25 s "
           "(128 scans/s in all) or searches every 5 s, a mix of Latin and Chinese queries; "
           "saturated: each sends the next request as soon as it has an answer. Peak RSS is "
           "the sum over the server's processes.", ""]
    for db in ("sqlite", "postgresql"):
        f = records.get(db)
        if not f:
            continue
        seeded = f["seed_s"] * max(1.0, 1_000_000 / max(f["records"], 1))
        rows = [(f"{f['records']:,} records seeded", f"{f['seed_s']} s",
                 f"≤ {targets['seed_s']:.0f} s for 1,000,000", _yes(seeded <= targets["seed_s"]))]
        for name, m in f["servers"].items():
            scan, search, met = m["scan"], m["search"], m["met"]
            rows += [
                (f"{name}: scan lookup", f"p50 {scan['p50_ms']} ms, p99 {scan['p99_ms']} ms",
                 f"p99 ≤ {targets['scan_p99_ms']:.0f} ms", _yes(met["scan_p99"])),
                (f"{name}: record search", f"p50 {search['p50_ms']} ms, p95 {search['p95_ms']} ms",
                 f"p95 ≤ {targets['search_p95_ms']:.0f} ms", _yes(met["search_p95"])),
                (f"{name}: saturated", f"{m['scan_saturated']['per_s']:,} scans/s, "
                 f"{m['search_saturated']['per_s']:,} searches/s", "", ""),
                (f"{name}: server peak RSS", f"{m['rss_mb']} MB", f"≤ {targets['rss_mb']:.0f} MB",
                 _yes(met["rss"])),
            ]
        out += [f"### {db}", "", _table(rows), "",
                "Matches per query: " + ", ".join(f"{q} {n}" for q, n in f["matches"].items()),
                ""]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="run the benchmarks")
    parser.add_argument("names", nargs="*", default=list(BENCHES), help="which (default: all)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    for name in args.names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        started = time.monotonic()
        results[name] = module.run()
        seconds[name] = time.monotonic() - started
        print(json.dumps(results[name], indent=2, ensure_ascii=False, default=str), flush=True)
    if not args.no_write:
        kept = json.loads(FIGURES.read_text(encoding="utf-8")) if FIGURES.exists() else {}
        taken = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        for name in results:
            kept[name] = {"taken": taken, "seconds": round(seconds[name]), "figures": results[name]}
        FIGURES.write_text(json.dumps(kept, indent=2, ensure_ascii=False, default=str) + "\n",
                           encoding="utf-8")
        DOC.write_text(render({k: v["figures"] for k, v in kept.items()},
                              {k: v["seconds"] for k, v in kept.items()},
                              {k: v["taken"] for k, v in kept.items()}), encoding="utf-8")
        print(f"figures written to {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
