"""Attack cost benchmark: PRADA vs the TextAttack greedy-WIR bridge on the same targets and budget.

Runs one audit with only task t4 (system ``neural``: all-MiniLM-L6-v2 re-ranking the BM25 top-100
of vaswani; targets sampled from ranks 51-100) and three attacks at the same budget: PRADA, the
TextAttack bridge (robustrank lexicon swaps + GreedyWordSwapWIR with ``wir_method=delete``, i.e.
the same substitution candidates as PRADA) and random substitution as a floor. Prints success
rate, top-10 rate and victim queries per target side by side, and the ratios PRADA / bridge
(goal: success ratio >= 1 with victim-query ratio <= 1).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/attack_cost.py [--queries 8] [--max-queries N]

The defaults match the demo's t4 settings, so the PRADA surrogate (cached under the output
folder's ``artifacts/surrogate``, keyed by a hash of its inputs) is the demo's: copy
``reports/demo-minilm-vaswani/artifacts/surrogate`` into the output folder to skip training.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queries", type=int, default=8, help="queries sampled for targets (one target each)")
    p.add_argument("--max-queries", type=int, default=None, help="judged queries re-ranked (default: all 93, as in the demo)")
    p.add_argument("--surrogate-queries", type=int, default=60, help="queries whose victim lists train the surrogate (demo: 60)")
    p.add_argument("--max-words", type=int, default=10)
    p.add_argument("--max-victim-queries", type=int, default=100)
    p.add_argument("--surrogate-steps", type=int, default=30)
    p.add_argument("--candidates-per-word", type=int, default=3)
    p.add_argument("--out", default=str(REPO / "reports" / "bench-attack-cost"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from robustrank.audit import run_audit
    from robustrank.config import parse_config

    have_ta = importlib.util.find_spec("textattack") is not None
    attacks = [
        {"name": "prada_wu_2023", "options": {"surrogate_queries": args.surrogate_queries, "max_steps": args.surrogate_steps,
                                               "candidates_per_word": args.candidates_per_word}},
        {"name": "random_substitution", "options": {"greedy": True}},
    ]
    if have_ta:
        attacks.insert(1, {"name": "textattack", "options": {"search": "GreedyWordSwapWIR", "search_options": {"wir_method": "delete"}}})
    cfg = parse_config({
        "name": "bench-attack-cost",
        "seed": 13,
        "max_queries": args.max_queries,
        "ranker": {"type": "bi-encoder", "model": "sentence-transformers/all-MiniLM-L6-v2", "batch_size": 64, "device": "cpu"},
        "datasets": {"in_domain": {"name": "vaswani", "path": str(REPO / "datasets" / "vaswani")}},
        "tasks": {
            "t1": {"enabled": False}, "t2": {"enabled": False}, "t3": {"enabled": False},
            "t4": {
                "enabled": True, "systems": ["neural"],
                "targets": {"rank_ranges": [[51, 100]], "per_query": 1, "queries": args.queries},
                "budget": {"max_words": args.max_words, "max_victim_queries": args.max_victim_queries},
                "attacks": attacks, "injection": {"enabled": False},
            },
        },
        "output": {"dir": args.out, "html": False},
    })
    results, _ = run_audit(cfg, progress=False, render_html=False, resume=True)
    task = results["tasks"]["t4"]
    if task["status"] != "ok":
        print(f"t4 failed: {task.get('error')}")
        return 1
    res = task["result"]
    rows = {}
    print(f"vaswani, MiniLM bi-encoder victim, {res['systems']['neural']['targets']} targets from ranks 51-100, "
          f"budget {res['budget']}")
    print(f"{'attack':22s} {'success':>8s} {'top10':>6s} {'top50':>6s} {'boost':>7s} {'victim q/target':>16s} {'s/target':>9s}")
    for key, entry in res["attacks"].items():
        s = entry["systems"]["neural"]
        if s["status"] != "ok":
            print(f"{key:22s} {s['status']}: {s.get('error') or s.get('reason')}")
            continue
        m = s["metrics"]
        rows[key] = m
        print(f"{key:22s} {m['success_rate']:8.3f} {m['top10_rate']:6.3f} {m['top50_rate']:6.3f} {m['avg_boosted_ranks']:7.1f} "
              f"{m['victim_queries_mean']:16.1f} {m['seconds_per_target']:9.2f}")
    if "textattack" in rows and "prada_wu_2023" in rows:
        a, b = rows["prada_wu_2023"], rows["textattack"]
        succ = a["success_rate"] / b["success_rate"] if b["success_rate"] else float("inf")
        q = a["victim_queries_mean"] / b["victim_queries_mean"] if b["victim_queries_mean"] else float("inf")
        print(f"ratio PRADA/bridge: success {succ:.2f} (goal >= 1), victim queries {q:.2f} (goal <= 1)")
    elif not have_ta:
        print("textattack is not installed (pip install 'robustrank[textattack]'): bridge row skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
