"""Benchmark: 1,000 box labels as one PDF sheet run and as one ZPL stream.

Run: python tests/bench/bench_labels.py  (targets: PDF <= 10 s, ZPL <= 1 s)
run() returns the figures as a dict for docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labels.epc import box_epc
from labels.identifiers import box_code, qr_payload
from labels.render import BoxLabel, label_pdf, label_zpl

COUNT = 1000
TARGETS_S = {"pdf": 10.0, "zpl": 1.0}


def sample_labels(count: int = COUNT) -> list[BoxLabel]:
    """count box labels with Chinese summaries, as the server would fill them."""
    return [
        BoxLabel(
            code=box_code(n),
            qr_url=qr_payload("https://archive.example.org", box_code(n)),
            epc_hex=box_epc(n, company_prefix="0614141"),
            fonds="J001 市档案馆",
            years=f"{2000 + n % 25}–2024",
            first_title=f"关于{2000 + n % 25}年度档案工作的通知（第{n}号）",
            record_count=1 + n % 40,
            retention=("永久", "30年", "10年")[n % 3],
            classification=("公开", "内部")[n % 2],
            home_path=f"一号库房 › {1 + n % 12:02d}列 › {'AB'[n % 2]}面 › {1 + n % 6:02d}节",
        )
        for n in range(1, count + 1)
    ]


def _measure(work: Callable[[], Any]) -> dict[str, float]:
    gc.collect()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    # A second, traced run for the peak Python heap: tracing slows the run, so it is not timed.
    gc.collect()
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(seconds, 3),
        "peak_mib": round(peak / 2**20, 1),
        "output_mib": round(len(result) / 2**20, 2),
    }


def run(count: int = COUNT) -> dict[str, Any]:
    """Render count box labels as PDF (A4 3x8) and ZPL (100x50, 203 dpi, RFID); the figures."""
    labels = sample_labels(count)
    pdf = _measure(lambda: label_pdf(labels, layout="a4-3x8"))
    zpl = _measure(lambda: label_zpl(labels, dpi=203, layout="100x50").encode("utf-8"))
    figures: dict[str, Any] = {"labels": count, "pdf": pdf, "zpl": zpl}
    for name, target in TARGETS_S.items():
        figures[name]["target_seconds"] = target
        figures[name]["labels_per_second"] = round(count / figures[name]["seconds"])
        figures[name]["within_target"] = figures[name]["seconds"] <= target
    # ru_maxrss is KiB on Linux: the whole process's peak, imports and fonts included.
    figures["process_max_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return figures


if __name__ == "__main__":
    results = run()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    for name in TARGETS_S:
        figure = results[name]
        print(
            f"{name.upper()}: {results['labels']} labels in {figure['seconds']} s "
            f"({figure['labels_per_second']}/s, peak {figure['peak_mib']} MiB heap, "
            f"{figure['output_mib']} MiB out) target {figure['target_seconds']} s: "
            f"{'ok' if figure['within_target'] else 'MISSED'}"
        )
