"""Executor scaling: work units per second for re-ranking, attack and certification units, on
every backend, in one run.

Usage:
    HF_HUB_OFFLINE=1 .venv/bin/python bench/executor_scaling.py [--queries 24] [--targets 16] \
        [--certify 6] [--backends in-process processes:1 processes:2 ray:2] [--json out.json]

Workload (the same audit for every backend; all-MiniLM-L6-v2 on vaswani, CPU): re-ranking the
BM25 top-50 of the first ``queries`` judged queries (one unit = one query), T4's
``random_substitution`` (or ``--attack prada_wu_2023``) attack on ``targets`` documents at ranks 21-50 with a victim budget of
100 queries each (one unit = one target), and CertDR certification of ``certify`` queries' top
10 (adaptive betting, n_max 512; one unit = one query). Each backend runs the whole audit in a
fresh output folder; a step's units/s divides its units by the step's wall time (from
results.json timings: ``rerank:vaswani``, ``t4:<attack>:neural:attack``,
``certify:queries``), which includes shipping the job to the workers and, for the first step,
starting them. Each backend's results are compared with the first backend's: identical, or the
same apart from float32 last-bit differences (a text embedded in another batch, or with another
thread count, can differ by one unit in the last place; the largest relative difference is
printed; ranks, successes, certificates and verdicts must be the same). Content keys of trained
artefacts (``.../prepare/<system>/surrogate/key``) hash the victim's scores, so they follow those
float differences; they are listed apart as float-derived, not counted as discrete differences.
Prints units/s per step and backend and the ratio to one worker process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench.executor_scaling")

CONFIG = """
name: executor-scaling
seed: 13
max_queries: {queries}
ranker: {{type: bi-encoder, model: sentence-transformers/all-MiniLM-L6-v2, device: cpu}}
candidates: {{depth: 50}}
datasets: {{in_domain: {{name: vaswani, path: {repo}/datasets/vaswani}}}}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  t4:
    enabled: true
    systems: [neural]
    targets: {{rank_ranges: [[21, 50]], per_query: 1, queries: {targets}}}
    budget: {{max_words: 10, max_victim_queries: 100}}
    injection: {{enabled: false}}
    attacks: [{attack}]
  certify: {{enabled: true, queries: {certify}, candidates: 10, k_values: [1, 3, 5], alpha: 0.05, min_similarity: 0.7,
             score_map: calibrated, calibration_queries: 8, n_min: 32, n_max: 512}}
{executor}
output: {{html: false}}
"""

ATTACKS = {
    "random_substitution": "{name: random_substitution}",
    # a black-box PRADA with a small distilled bi-encoder surrogate (trained once by the driver, outside the unit timing)
    "prada_wu_2023": "{name: prada_wu_2023, options: {surrogate_queries: 12, distill_steps: 20, heldout_queries: 2, candidates_per_word: 3}}",
}


def _executor(spec: str) -> str:
    if spec == "in-process":
        return ""
    kind, _, n = spec.partition(":")
    extra = ", object_store_mb: 200" if kind == "ray" else ""
    return f"executor: {{type: {kind}, workers: {int(n or 2)}, units_per_task: 1, max_in_flight: {2 * int(n or 2)}{extra}}}"


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k != "path" and not k.endswith(("seconds", "seconds_per_target", "duration_s"))}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def _compare(a, b, path: str = "") -> tuple[list[str], float]:
    """(paths whose non-float content differs, largest relative difference of floats)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs, worst = ([f"{path}: keys"] if set(a) != set(b) else []), 0.0
        for k in set(a) & set(b):
            d, w = _compare(a[k], b[k], f"{path}/{k}")
            diffs, worst = diffs + d, max(worst, w)
        return diffs, worst
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length"], 0.0
        diffs, worst = [], 0.0
        for i, (x, y) in enumerate(zip(a, b)):
            d, w = _compare(x, y, f"{path}[{i}]")
            diffs, worst = diffs + d, max(worst, w)
        return diffs, worst
    if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        return [], abs(a - b) / max(abs(a), abs(b), 1e-12) if a != b else 0.0
    return ([] if a == b else [path]), 0.0


FLOAT_DERIVED = ("/key",)
"""Path endings of values computed from floats (content hashes of scored lists): listed, not counted."""


def _split(diffs: list[str]) -> tuple[list[str], list[str]]:
    """(discrete differences, float-derived differences)."""
    derived = [d for d in diffs if "/prepare/" in d and d.endswith(FLOAT_DERIVED)]
    return [d for d in diffs if d not in derived], derived


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=24)
    ap.add_argument("--targets", type=int, default=16)
    ap.add_argument("--certify", type=int, default=6)
    ap.add_argument("--backends", nargs="+", default=["in-process", "processes:1", "processes:2", "ray:2"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--attack", choices=sorted(ATTACKS), default="random_substitution",
                    help="The attack whose target units are timed (prada_wu_2023: costlier units, gradient steps per target).")
    ap.add_argument("--keep", type=Path, help="Keep the audits' output folders here (default: a temporary folder).")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # the local single-node cluster of the bench
    os.environ["ROBUSTRANK_CACHE_DIR"] = "off"  # every backend does the same work (no reuse across the runs)

    from robustrank.audit import run_audit
    from robustrank.config import load_config

    steps = {"rerank": "rerank:vaswani", "attack": f"t4:{args.attack}:neural:attack", "certify": "certify:queries"}
    rows: dict[str, dict[str, float]] = {}
    units: dict[str, int] = {}
    reference = None
    identical: dict[str, bool] = {}
    same_discrete: dict[str, tuple[bool, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep)
        for spec in args.backends:
            cfg_path = Path(tmp) / f"{spec.replace(':', '_')}.yaml"
            cfg_path.write_text(CONFIG.format(queries=args.queries, targets=args.targets, certify=args.certify, repo=REPO,
                                               attack=ATTACKS[args.attack], executor=_executor(spec)))
            t0 = time.perf_counter()
            results, _ = run_audit(load_config(cfg_path), out_dir=Path(tmp) / spec.replace(":", "_"), progress=False, render_html=False)
            wall = time.perf_counter() - t0
            bad = {k: t.get("error") for k, t in results["tasks"].items() if t["status"] != "ok"}
            if bad:
                raise SystemExit(f"{spec}: tasks failed: {bad}")
            t4 = results["tasks"]["t4"]["result"]["attacks"][args.attack]["systems"]["neural"]
            units = {"rerank": args.queries, "attack": len(t4["targets"]), "certify": len(results["tasks"]["certify"]["result"]["queries"])}
            rows[spec] = {step: units[step] / results["timings"][key] for step, key in steps.items()}
            rows[spec]["audit_wall_s"] = wall
            content = {"metrics": results["metrics"], "tasks": _stable(results["tasks"])}
            reference = reference or content
            all_diffs, worst = _compare(reference, content)
            diffs, derived = _split(all_diffs)
            identical[spec] = content == reference
            same_discrete[spec] = (not diffs, worst)
            if diffs:
                log.warning("%s: differs from %s at %s", spec, args.backends[0], diffs[:5])
            if derived:
                print(f"{spec}: float-derived content keys differ from {args.backends[0]}: {derived}")
            if results.get("execution", {}).get("fallbacks"):
                log.warning("%s: jobs fell back to in-process: %s", spec, results["execution"]["fallbacks"])
    base = rows.get("processes:1")
    print(f"units: {units}; {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'backend':<13} {'rerank/s':>9} {'attack/s':>9} {'certify/s':>10} {'audit s':>8}  ratio vs processes:1 (rerank, attack, certify)"
          "  identical / same non-float content / max relative float difference")
    for spec, r in rows.items():
        ratio = "  ".join(f"{r[s] / base[s]:.2f}" for s in steps) if base else "-"
        same, worst = same_discrete[spec]
        print(f"{spec:<13} {r['rerank']:>9.2f} {r['attack']:>9.2f} {r['certify']:>10.3f} {r['audit_wall_s']:>8.1f}  {ratio:<45}"
              f"  {identical[spec]} / {same} / {worst:.1e}")
    if args.json:
        args.json.write_text(json.dumps({"units": units, "rates": rows, "identical_to_first": identical,
                                         "same_non_float_content_and_max_relative_float_diff": same_discrete}, indent=2))
    return 0 if all(same for same, _ in same_discrete.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
