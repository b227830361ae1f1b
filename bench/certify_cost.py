"""Benchmark: adaptive vs fixed-n CertDR certification - model forwards per query and CRQ@K.

Both procedures certify the same queries, candidates and K at the same alpha, drawing the same
perturbed copies (per-document generators seeded alike, so the adaptive run reads a prefix of
the fixed run's copies), with all-MiniLM-L6-v2 on vaswani. Printed: forwards per query for
each, their ratio (goal: fixed / adaptive >= 5), CRQ@K side by side (goal: adaptive not lower),
and wall time. The fixed procedure is the baseline, measured in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/certify_cost.py [--queries 6] [--candidates 10] \
        [--k 1 3 5] [--n-fixed 1000] [--n-max 2048] [--min-similarity 0.7] [--alpha 0.05]

Defaults are sized to finish in a few minutes on 2 CPU cores (the fixed procedure dominates).

``--from-results results.json`` takes the setting from a finished audit's certify result: its
queries where a certificate was produced (``--all-queries``: every query), their candidates,
the fitted score map, alpha, K, synonym settings and adaptive sizes — so the comparison runs on
queries where certificates are produced, as in the audit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=6)
    ap.add_argument("--candidates", type=int, default=10)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--n-fixed", type=int, default=1000)
    ap.add_argument("--n-min", type=int, default=32)
    ap.add_argument("--n-max", type=int, default=2048)
    ap.add_argument("--min-similarity", type=float, default=0.7)
    ap.add_argument("--max-set-size", default="auto", help="an integer or auto")
    ap.add_argument("--bound", default="betting", choices=["betting", "empirical_bernstein", "hoeffding", "both"])
    ap.add_argument("--growth", type=float, default=1.5)
    ap.add_argument("--from-results", type=Path, default=None, help="take queries, candidates, map and settings from an audit")
    ap.add_argument("--all-queries", action="store_true", help="with --from-results: also queries without any certificate")
    ap.add_argument("--max-queries", type=int, default=None, help="with --from-results: only the first N chosen queries (audit order)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)

    from robustrank.certify import CertifySettings, Smoother, SynonymSets, certify_query
    from robustrank.certify.scoremap import ScoreMap, mapped_scorer
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.lexicon import Lexicon
    from robustrank.pipeline import first_stage_bm25
    from robustrank.rankers.bm25 import BM25Ranker
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.seeds import derive_seed
    from robustrank.stats import clopper_pearson

    coll = load_dataset(DatasetConfig(name="vaswani", path=str(REPO / "datasets" / "vaswani")), lambda p: Path(p))
    ranker = BiEncoderRanker("sentence-transformers/all-MiniLM-L6-v2", batch_size=64, device=args.device)
    max_set = args.max_set_size if args.max_set_size == "auto" else int(args.max_set_size)
    if args.from_results:
        cert = json.loads(args.from_results.read_text())["tasks"]["certify"]["result"]
        fit = cert["score_map_fit"]
        score_map = ScoreMap(fit["kind"], fit["low"], fit["high"], fit["fitted_on"])
        chosen = [q for q in cert["queries"] if args.all_queries or any(q["certified"].values())]
        if args.max_queries is not None:  # the first N of them, in the audit's order (cost control)
            chosen = chosen[: args.max_queries]
        qids = [q["query_id"] for q in chosen]
        candidates = {q["query_id"]: q["doc_ids"] for q in chosen}
        args.k = list(cert["k_values"])
        args.alpha = cert["alpha"]
        args.candidates = cert["candidates_per_query"]
        args.min_similarity = cert["synonym_sets"]["min_similarity"]
        max_set = cert["synonym_sets"].get("max_set_size_option", cert["synonym_sets"]["max_set_size"])
        samp = cert["sampling"]
        args.n_min, args.n_max, args.growth = samp.get("n_min") or args.n_min, samp.get("n_max") or args.n_max, samp.get("growth") or args.growth
        queries = {q: coll.queries[q].text for q in qids}
        scorer = mapped_scorer(ranker, score_map)
    else:
        qids = coll.judged_query_ids()
        rng = np.random.default_rng(args.seed)
        qids = sorted(rng.choice(qids, size=min(args.queries, len(qids)), replace=False).tolist(), key=qids.index)
        queries = {q: coll.queries[q].text for q in qids}
        bm25 = BM25Ranker(coll.documents, k1=0.9, b=0.4)
        first = first_stage_bm25(bm25, queries, 100)
        scorer = mapped_scorer(ranker, "auto")
        candidates = {}
        for q in qids:
            ids = [d for d, _ in first[q]]
            s = scorer([(queries[q], coll.documents[d].full_text) for d in ids])
            candidates[q] = [ids[i] for i in np.lexsort((np.arange(len(ids)), -s))[: args.candidates]]
    smoother = Smoother(SynonymSets(Lexicon.load(), min_similarity=args.min_similarity, max_set_size=max_set))
    out: dict[str, dict] = {}
    for procedure in ("adaptive", "fixed"):
        settings = CertifySettings(alpha=args.alpha, k_values=tuple(args.k), procedure=procedure, n_fixed=args.n_fixed,
                                   n_min=args.n_min, n_max=args.n_max, ratio=args.growth, bound=args.bound)
        t0 = time.perf_counter()
        per_query = []
        for q in qids:
            texts = [coll.documents[d].full_text for d in candidates[q]]
            rngs = [np.random.default_rng(derive_seed(args.seed, "bench", q, d)) for d in candidates[q]]
            cert = certify_query(queries[q], texts, scorer, smoother, settings, rngs)
            per_query.append(cert.to_json())
        seconds = time.perf_counter() - t0
        crq = {str(k): float(np.mean([r["certified"][str(k)] for r in per_query])) for k in args.k}
        crq_ci = {str(k): clopper_pearson(int(sum(r["certified"][str(k)] for r in per_query)), len(per_query)) for k in args.k}
        fw = [r["forwards"] for r in per_query]
        out[procedure] = {"forwards_per_query": float(np.mean(fw)), "forwards": fw, "crq": crq, "crq_ci95": crq_ci, "seconds": seconds,
                          "failed": [r["failed"] for r in per_query]}
        print(f"{procedure:>8}: forwards/query {np.mean(fw):9.1f}  CRQ {crq}  95% CP {crq_ci}  ({seconds:.1f} s)", flush=True)
    ratio = out["fixed"]["forwards_per_query"] / max(out["adaptive"]["forwards_per_query"], 1e-9)
    not_lower = all(out["adaptive"]["crq"][k] >= out["fixed"]["crq"][k] for k in out["fixed"]["crq"])
    agree = sum(a == b for a, b in zip(out["fixed"]["failed"], out["adaptive"]["failed"]))
    print(f"setting: vaswani, {len(qids)} queries x top-{args.candidates} (MiniLM), K={args.k}, "
          f"alpha={args.alpha}, min_similarity={args.min_similarity}, bound={args.bound}, n_fixed={args.n_fixed}, "
          f"adaptive grid {args.n_min}..{args.n_max}")
    print(f"forwards ratio fixed/adaptive: {ratio:.1f}x (goal >= 5); CRQ@K adaptive >= fixed for every K: {not_lower}; "
          f"queries with identical per-K outcomes: {agree}/{len(qids)}")
    print(f"wall time ratio fixed/adaptive: {out['fixed']['seconds'] / max(out['adaptive']['seconds'], 1e-9):.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args), "queries": qids, "results": out,
                                         "ratio": ratio, "crq_not_lower": not_lower}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
