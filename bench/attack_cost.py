"""Attack cost benchmark: success with 95% CI, victim queries and wall time per attack, same targets.

Runs one audit with only task t4 (system ``neural``: all-MiniLM-L6-v2 re-ranking the BM25 top-100
of vaswani; targets sampled from ranks 51-100) and three attacks at the same budget: PRADA, the
TextAttack bridge (robustrank lexicon swaps + GreedyWordSwapWIR with ``wir_method=delete``, i.e.
the same substitution candidates as PRADA) and random substitution as a floor. Prints success
rate with its exact (Clopper-Pearson) 95% interval, top-10 rate, victim queries per target and
wall time (seconds per target and in total) side by side, the paired McNemar test of every attack
against PRADA on the shared targets, and the ratios PRADA / bridge (goal: success ratio >= 1 with
victim-query ratio <= 1). ``--white-box`` adds the white-box worst case (hotflip_substitution, on
the victim's own gradients) and the per-target ensemble.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/attack_cost.py [--queries 8 | --profile standard] [--white-box]

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
    p.add_argument("--queries", type=int, default=None, help="queries sampled for targets (one target each); overrides --profile")
    p.add_argument("--profile", choices=["quick", "standard", "paper"], default="quick", help="T4 profile (quick = 8 targets, standard = 50)")
    p.add_argument("--white-box", action="store_true", help="add hotflip_substitution (white-box) and report the ensemble")
    p.add_argument("--from-results", default=None, help="print the table of an existing results.json (a T4 run on the neural system) instead of running")
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
                                               "distill_steps": args.surrogate_steps, "surrogate_architecture": "cross-encoder",
                                               "candidates_per_word": args.candidates_per_word}},
        {"name": "random_substitution", "options": {"greedy": True}},
    ]
    if have_ta:
        attacks.insert(1, {"name": "textattack", "options": {"search": "GreedyWordSwapWIR", "search_options": {"wir_method": "delete"}}})
    if args.white_box:
        attacks.append({"name": "hotflip_substitution"})
    targets = {"rank_ranges": [[51, 100]], "per_query": 1}
    if args.queries is not None:
        targets["queries"] = args.queries
    cfg = parse_config({
        "name": "bench-attack-cost",
        "seed": 13,
        "max_queries": args.max_queries,
        "ranker": {"type": "bi-encoder", "model": "sentence-transformers/all-MiniLM-L6-v2", "batch_size": 64, "device": "cpu"},
        "datasets": {"in_domain": {"name": "vaswani", "path": str(REPO / "datasets" / "vaswani")}},
        "tasks": {
            "t1": {"enabled": False}, "t2": {"enabled": False}, "t3": {"enabled": False},
            "t4": {
                "enabled": True, "systems": ["neural"], "profile": args.profile, "white_box": args.white_box,
                "targets": targets,
                "budget": {"max_words": args.max_words, "max_victim_queries": args.max_victim_queries},
                "attacks": attacks, "injection": {"enabled": False},
            },
        },
        "output": {"dir": args.out, "html": False},
    })
    if args.from_results:
        import json

        results = json.loads(Path(args.from_results).read_text())
    else:
        results, _ = run_audit(cfg, progress=False, render_html=False, resume=True)
    task = results["tasks"]["t4"]
    if task["status"] != "ok":
        print(f"t4 failed: {task.get('error')}")
        return 1
    res = task["result"]
    rows = {}
    print(f"vaswani, MiniLM bi-encoder victim, {res['systems']['neural']['targets']} targets from ranks 51-100, "
          f"budget {res['budget']}")
    timings = results.get("timings") or {}
    print(f"{'attack':22s} {'threat model':20s} {'success [95% CI]':26s} {'top10':>6s} {'boost':>7s} {'victim q/target':>16s} {'s/target':>9s} {'wall s':>8s}")
    for key, entry in list(res["attacks"].items()) + [("ensemble", {"systems": {"neural": (res.get("ensemble") or {}).get("neural", {"status": "absent"})}})]:
        s = entry["systems"]["neural"]
        if s.get("status") != "ok":
            if key != "ensemble":
                print(f"{key:22s} {s.get('status')}: {s.get('error') or s.get('reason')}")
            continue
        m = s["metrics"]
        rows[key] = m
        tm = (s.get("threat_model") or {}).get("ran_under") or "worst case of members"
        ci = f"{m['success_rate_count']}/{m['n_targets']} = {m['success_rate']:.3f} [{m['success_rate_ci_low']:.3f}, {m['success_rate_ci_high']:.3f}]"
        wall = sum(v for k, v in timings.items() if k.startswith(f"t4:{key}:neural")) if isinstance(timings, dict) else float("nan")
        print(f"{key:22s} {tm[:20]:20s} {ci:26s} {m['top10_rate']:6.3f} {m['avg_boosted_ranks']:7.1f} "
              f"{m['victim_queries_mean']:16.1f} {m['seconds_per_target']:9.2f} {wall:8.1f}")
    pairs = ((res.get("comparisons") or {}).get("between_attacks") or {}).get("neural", {}).get("pairs", {})
    for label, pr in pairs.items():
        if "prada_wu_2023" in (pr["a"], pr["b"]):
            mc = pr["mcnemar"]
            print(f"paired {label}: n={pr['n']}, success {pr['success_a']} vs {pr['success_b']}, discordant {mc['only_a']}/{mc['only_b']}, "
                  f"exact McNemar p={mc['pvalue']}, Holm {pr.get('mcnemar_pvalue_corrected')}")
    ens = (res.get("ensemble") or {}).get("neural")
    if ens and ens.get("status") == "ok":
        print(f"ensemble wins (successful targets per member): {ens['wins']}")
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
