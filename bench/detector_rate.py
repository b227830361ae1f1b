"""Detector benchmark: detection rate of every attack's adversarial documents at a stated FPR.

Reads a T4 ``results.json`` (kept texts), fits the ``perplexity_detector`` screen exactly as T4
does (2,000 seeded clean documents of the collection; clean (query, document) pairs from the BM25
top-100 of the queries *not* attacked) and reports, per attack and system, the share of
adversarial documents flagged and the share of the same targets' original texts flagged, plus
the false-positive rate on further clean held-out (query, candidate) pairs - each with counts and
an exact Clopper-Pearson 95% interval.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/detector_rate.py results.json --collection datasets/vaswani
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("--collection", required=True, help="BEIR folder of the attacked collection")
    p.add_argument("--quantile", type=float, default=0.95, help="detector quantile (nominal FPR = 1 - quantile)")
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from robustrank.adversarial.screening import calibration_pairs
    from robustrank.adversarial.uncertainty import proportion_ci
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.rankers.bm25 import BM25Ranker
    from robustrank.seeds import rng, stream_seed
    from robustrank_defenses.detector import StuffingDetector

    res = json.loads(Path(args.results).read_text())["tasks"]["t4"]["result"]
    coll = load_dataset(DatasetConfig(path=args.collection), lambda x: Path(x))
    docs = {d: doc.full_text for d, doc in coll.documents.items()}
    queries = {q: coll.queries[q].text for q in coll.queries}
    bm = BM25Ranker(coll.documents)
    cands = {q: bm.retrieve(t, 100) for q, t in queries.items()}
    sampled = res["target_protocol"]["query_ids"]
    pairs, source = calibration_pairs({"queries": queries, "candidates": cands}, sampled, docs)
    order = rng(args.seed, "bench", "detector").permutation(len(pairs))
    held_out = [pairs[i] for i in order[: len(pairs) // 4]]
    fit_pairs = [pairs[i] for i in order[len(pairs) // 4 :]]
    ids = list(docs)
    sample = rng(args.seed, "t4", "screen", "perplexity_detector").permutation(len(docs))[:2000]
    det = StuffingDetector({"quantile": args.quantile})
    det.fit([docs[ids[i]] for i in sample], seed=stream_seed(args.seed, "defense", "perplexity_detector"), pairs=fit_pairs)

    def share(flags):
        k, n = int(sum(flags)), len(flags)
        lo, hi = proportion_ci(k, n)
        return f"{k}/{n} = {k / n:.3f} [{lo:.3f}, {hi:.3f}]" if n else "–"

    print(f"detector: quantile {args.quantile} (nominal FPR {1 - args.quantile:.2f}); {det.info()}; pairs: {source}")
    fp = det.flag([d for _, d in held_out], [q for q, _ in held_out])
    print(f"false positives on {len(held_out)} held-out clean (query, BM25 top-100 candidate) pairs: {share(fp.tolist())}")
    print(f"{'attack':24s} {'system':8s} {'detected (adversarial, changed)':38s} {'flagged originals (FPR on targets)':38s}")
    for key, entry in res["attacks"].items():
        for sname, s in entry["systems"].items():
            if s.get("status") != "ok":
                continue
            recs = [t for t in s["targets"] if "adversarial_text" in t]
            changed = [t for t in recs if t["words_changed"] > 0]
            adv = det.flag([t["adversarial_text"] for t in changed], [t["query"] for t in changed]).tolist() if changed else []
            orig = det.flag([t["original_text"] for t in recs], [t["query"] for t in recs]).tolist() if recs else []
            print(f"{key:24s} {sname:8s} {share(adv):38s} {share(orig):38s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
