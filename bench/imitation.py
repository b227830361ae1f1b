"""Imitation benches on vaswani with all-MiniLM-L6-v2 (bi-encoder) as the victim.

Two parts:

* ``fidelity``: held-out fidelity (Spearman, top-10 overlap, RBO, 95% bootstrap intervals over
  queries) of surrogates distilled from the victim's scores, against training cost (steps,
  documents seen, seconds). Victim = MiniLM re-ranking the BM25 top-100 of all 93 queries; a
  seeded sample of ``--heldout`` queries is held out, the rest train. Students: a cross-encoder
  from the MiniLM encoder and a bi-encoder from MiniLM (architecture-matched).
* ``perfect``: the PAT regression check - PAT with a perfect imitation (the victim itself,
  ``imitation_model: victim``) against query-term triggers of the same length on the same
  targets (ranks 51-100); if PAT loses, its search is wrong.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/imitation.py fidelity --steps 0 50 100 200
    HF_HUB_OFFLINE=1 .venv/bin/python bench/imitation.py perfect --targets 12
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "attacks"))
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def victim_rankings(out: Path, depth: int = 100):
    """Documents, queries and the victim's scored top-``depth`` (BM25 candidates), cached as JSON."""
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.rankers.hf import BiEncoderRanker

    coll = load_dataset(DatasetConfig(path=str(REPO / "datasets" / "vaswani")), lambda p: Path(p))
    docs = {d: doc.full_text for d, doc in coll.documents.items()}
    queries = {q: coll.queries[q].text for q in coll.queries if q in coll.qrels}
    victim = BiEncoderRanker(MINILM, device="cpu", batch_size=64)
    cache = out / "victim_rankings.json"
    if cache.is_file():
        return docs, queries, json.loads(cache.read_text()), victim
    rankings = {}
    t0 = time.perf_counter()
    for q, text in sorted(queries.items()):
        cand = _bm25_top(docs, text, depth)
        s = victim.score(text, [docs[d] for d in cand])
        rankings[q] = sorted(zip(cand, s.tolist()), key=lambda x: (-x[1], x[0]))
        if len(rankings) % 10 == 0:
            logging.warning("victim rankings: %d / %d queries, %.0f s", len(rankings), len(queries), time.perf_counter() - t0)
    logging.warning("victim rankings: %d queries in %.0f s", len(rankings), time.perf_counter() - t0)
    out.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rankings))
    return docs, queries, rankings, victim


_BM25 = {}


def _bm25_top(docs, text, depth):
    from rank_bm25 import BM25Okapi

    from robustrank.text import bm25_tokenize

    if "m" not in _BM25:
        ids = sorted(docs)
        _BM25["ids"] = ids
        _BM25["m"] = BM25Okapi([bm25_tokenize(docs[d]) or ["\x00"] for d in ids], k1=0.9, b=0.4)
    s = _BM25["m"].get_scores(bm25_tokenize(text))
    return [_BM25["ids"][int(i)] for i in np.argsort(-s, kind="stable")[:depth]]


def fidelity(args) -> None:
    from robustrank.api import (
        DistillationConfig,
        ScoredList,
        measure_fidelity,
        train_distilled_ranker,
    )
    from robustrank_attacks.surrogates import SurrogateModel

    out = Path(args.out)
    docs, queries, rankings, _ = victim_rankings(out)
    qids = sorted(rankings)
    order = [qids[int(i)] for i in np.random.default_rng(13).permutation(len(qids))]
    held = {q: queries[q] for q in sorted(order[: args.heldout])}
    train = sorted(order[args.heldout :])
    lists = [ScoredList(queries[q], tuple(docs[d] for d, _ in rankings[q]), tuple(s for _, s in rankings[q])) for q in train]
    print(f"vaswani, victim MiniLM bi-encoder on BM25 top-100; {len(train)} training lists, {len(held)} held-out queries x 100 docs")
    rows = []
    for arch in args.architectures:
        steps = sorted(args.steps)
        cfg = DistillationConfig(
            init_model=MINILM, architecture=arch, max_steps=max(max(steps), 1), lists_per_step=2, docs_per_list=16,
            learning_rate=args.lr, max_length=128, seed=13,
        )

        def measure(step, folder, arch=arch):
            t = time.perf_counter()
            sur = SurrogateModel(str(folder), architecture=arch, device="cpu")
            fid = measure_fidelity(sur.score, rankings, held, docs, seed=13)
            info = json.loads((Path(folder) / "training.json").read_text()) if (Path(folder) / "training.json").is_file() else {}
            row = {
                "architecture": arch, "steps": step, "docs_seen": step * 2 * 16, "train_seconds": info.get("seconds", 0.0),
                "measure_seconds": round(time.perf_counter() - t, 1),
                **{m: [round(fid[m]["mean"], 3), round(fid[m]["ci_low"], 3), round(fid[m]["ci_high"], 3)] for m in ("spearman", "top10_overlap", "rbo")},
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

        if 0 in steps:
            init = out / f"init-{arch}"
            if not init.exists():
                # the untrained student: the MiniLM encoder with a fresh head (cross) or MiniLM itself (bi)
                from robustrank.api import resolve_model

                if arch == "bi-encoder":
                    init = Path(resolve_model(MINILM))
                else:
                    import torch
                    from transformers import (
                        AutoModelForSequenceClassification,
                        AutoTokenizer,
                    )

                    torch.manual_seed(13)
                    AutoModelForSequenceClassification.from_pretrained(resolve_model(MINILM), num_labels=1).save_pretrained(init)
                    AutoTokenizer.from_pretrained(resolve_model(MINILM)).save_pretrained(init)
            measure(0, init)
        if max(steps) > 0:
            train_distilled_ranker(lists, cfg, out / "students", device="cpu", on_step=measure, checkpoints=[s for s in steps if s > 0])
    (out / "fidelity.json").write_text(json.dumps(rows, indent=2))


def perfect(args) -> None:
    from scipy.stats import wilcoxon

    from robustrank.adversarial.runner import attack_one
    from robustrank.api import (
        AttackEnvironment,
        AttackTarget,
        Budget,
        Lexicon,
    )
    from robustrank_attacks.pat import PATAttack
    from robustrank_attacks.triggers import QueryTermTrigger

    out = Path(args.out)
    docs, queries, rankings, victim = victim_rankings(out)
    rng = np.random.default_rng(13)
    qids = sorted(rng.choice(sorted(rankings), size=args.targets, replace=False).tolist())

    def artifact_dir(kind, key):
        p = out / "artifacts" / kind / key
        p.mkdir(parents=True, exist_ok=True)
        return p

    env = AttackEnvironment(
        documents=docs, queries=queries, victim_rankings=rankings, rank_fn=None, lexicon=Lexicon.load(), seed=13,
        artifact_dir=artifact_dir, device="cpu", white_box_ranker=victim, score_fn=victim.score,
        attacked_query_ids=frozenset(qids), victim_architecture="bi-encoder",
    )
    pat_opts = {"imitation_model": "victim", "num_beams": args.beams, "candidates": args.candidates, "heldout_queries": 4,
                "mode": args.mode, **json.loads(args.pat_options)}
    attacks = {"pat_perfect": PATAttack(pat_opts), "trigger_query_terms": QueryTermTrigger({})}
    for a in attacks.values():
        a.prepare(env)
    targets = []
    for q in qids:
        r = int(rng.integers(51, 101))
        d = rankings[q][r - 1][0]
        targets.append(AttackTarget(q, queries[q], d, docs[d], r, tuple((x, s) for x, s in rankings[q])))
    res = {k: [] for k in attacks}
    for t in targets:
        for k, a in attacks.items():
            rec = attack_one(a, t, victim.score, docs, Budget(max_words=10, max_victim_queries=100), np.random.default_rng(0), keep_texts=False)
            res[k].append(rec)
            print(f"{t.query_id}/{t.doc_id} {k}: rank {rec['original_rank']} -> {rec['new_rank']} ({rec['seconds']:.0f} s) "
                  f"{rec['info'].get('trigger')!r}", flush=True)
    print(f"vaswani, MiniLM victim, {len(targets)} targets (one per seeded query, rank ~U(51..100)), trigger length 6 at the start")
    for k, recs in res.items():
        new = np.array([r["new_rank"] for r in recs])
        print(f"{k:22s} success {np.mean([r['success'] for r in recs]):.2f}  mean new rank {new.mean():6.1f}  "
              f"top-10 {np.mean(new <= 10):.2f}  s/target {np.mean([r['seconds'] for r in recs]):.1f}  "
              f"triggers e.g. {[r['info'].get('trigger') for r in recs[:3]]}")
    a, b = np.array([r["new_rank"] for r in res["pat_perfect"]]), np.array([r["new_rank"] for r in res["trigger_query_terms"]])
    wins, losses = int(np.sum(a < b)), int(np.sum(a > b))
    p = wilcoxon(a, b).pvalue if np.any(a != b) else 1.0
    print(f"PAT(perfect) better on {wins}, worse on {losses} of {len(a)} targets; Wilcoxon signed-rank p = {p:.3g}")
    fields = ("query_id", "doc_id", "original_rank", "new_rank")
    summary = {k: [{x: r[x] for x in fields} | {"trigger": r["info"].get("trigger")} for r in v] for k, v in res.items()}
    (out / "perfect.json").write_text(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["fidelity", "perfect"])
    p.add_argument("--out", default=str(REPO / "reports" / "bench-imitation"))
    p.add_argument("--heldout", type=int, default=20)
    p.add_argument("--steps", type=int, nargs="+", default=[0, 50, 100, 200])
    p.add_argument("--architectures", nargs="+", default=["cross-encoder", "bi-encoder"])
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--targets", type=int, default=12)
    p.add_argument("--beams", type=int, default=3)
    p.add_argument("--candidates", type=int, default=16)
    p.add_argument("--mode", default="robustrank")
    p.add_argument("--pat-options", default="{}", help="extra PAT options as JSON")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    (fidelity if args.part == "fidelity" else perfect)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
