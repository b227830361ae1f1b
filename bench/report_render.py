"""Report rendering cost: the full page (tables + matplotlib SVG figures) vs the same page
without figures (tables only, the baseline), measured in the same run; plus page sizes.

Usage:
    .venv/bin/python bench/report_render.py [RESULTS_JSON] [--repeats 3]

Defaults to the test fixture (tests/fixtures/results/full.json: T1-T3 of an 8-query demo run,
hand-made T4 and certify). Prints seconds (best of --repeats, after one warm-up render that
pays matplotlib's import and font cache), the ratio full/tables-only, and the sizes of the
report and compliance pages.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=str(REPO / "tests/fixtures/results/full.json"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from robustrank.report import render_compliance_html, render_html

    results = json.loads(Path(args.results).read_text())
    full = render_html(results, results_path=args.results)  # warm-up
    tables = render_html(results, results_path=args.results, figures=False)
    compliance = render_compliance_html(results, results_path=args.results)
    t_full = best(lambda: render_html(results, results_path=args.results), args.repeats)
    t_tables = best(lambda: render_html(results, results_path=args.results, figures=False), args.repeats)
    print(f"results: {args.results}")
    print(f"full report:   {t_full:7.3f} s  {len(full.encode()) / 1024:8.1f} KiB  ({full.count('<svg')} figures)")
    print(f"tables only:   {t_tables:7.3f} s  {len(tables.encode()) / 1024:8.1f} KiB  (baseline)")
    print(f"compliance:    {len(compliance.encode()) / 1024:8.1f} KiB")
    print(f"ratio full / tables-only: time {t_full / t_tables:.1f}x, size {len(full) / len(tables):.1f}x")


if __name__ == "__main__":
    main()
