"""Scoring throughput: robustrank's ranker adapters vs a raw batched forward of the same model.

Usage:
    .venv/bin/python bench/score_throughput.py [--queries 20] [--depth 50] [--batch-size 64] [--repeats 2]

Pairs are real (query, BM25 top-depth document) pairs from the bundled vaswani collection.
Both sides use the same model, device, batch size and max length and start with empty caches:

* bi-encoder (all-MiniLM-L6-v2): the adapter's ``score_pairs`` vs a plain loop that tokenises
  each distinct text in input order, runs the model, mean-pools, normalises and takes dot products;
* cross-encoder (the MiniLM encoder with a fresh 1-logit head, saved to a temp folder: the same
  compute as a trained MiniLM cross-encoder): the adapter vs a plain loop over pairs in input order.

Prints pairs/s for each and the ratio adapter/raw (target >= 0.9). Best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent


def load_pairs(n_queries: int, depth: int) -> list[tuple[str, str]]:
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.rankers.bm25 import BM25Ranker

    coll = load_dataset(DatasetConfig(path=str(REPO / "datasets" / "vaswani")))
    bm = BM25Ranker(coll.documents)
    pairs = []
    for qid in coll.judged_query_ids()[:n_queries]:
        q = coll.queries[qid].text
        pairs += [(q, coll.documents[d].full_text) for d, _ in bm.retrieve(q, depth)]
    return pairs


def raw_bi(path: str, pairs, batch_size: int, max_length: int) -> np.ndarray:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    texts = list(dict.fromkeys(t for p in pairs for t in p))
    embs = {}
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = texts[i : i + batch_size]
            enc = tok(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
            embs.update(zip(batch, e.numpy()))
    return np.array([embs[q] @ embs[d] for q, d in pairs])


def raw_ce(path: str, pairs, batch_size: int, max_length: int) -> np.ndarray:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(pairs), batch_size):
            batch = pairs[i : i + batch_size]
            enc = tok([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            out.append(model(**enc).logits[:, 0].numpy())
    return np.concatenate(out)


def timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from robustrank.rankers import CachedRanker
    from robustrank.rankers.hf import BiEncoderRanker, CrossEncoderRanker
    from robustrank.rankers.resolve import resolve_model

    torch.manual_seed(0)
    pairs = load_pairs(args.queries, args.depth)
    minilm = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    print(f"pairs: {len(pairs)} ({args.queries} vaswani queries x BM25 top-{args.depth}); torch threads: {torch.get_num_threads()}")

    with tempfile.TemporaryDirectory() as tmp:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        ce_path = str(Path(tmp) / "minilm-ce")
        AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=1).save_pretrained(ce_path)
        AutoTokenizer.from_pretrained(minilm).save_pretrained(ce_path)

        cases = {
            "bi-encoder": (
                lambda: CachedRanker(BiEncoderRanker(minilm, batch_size=args.batch_size, max_length=args.max_length, device="cpu")),
                lambda: raw_bi(minilm, pairs, args.batch_size, args.max_length),
            ),
            "cross-encoder": (
                lambda: CachedRanker(CrossEncoderRanker(ce_path, batch_size=args.batch_size, max_length=args.max_length, device="cpu")),
                lambda: raw_ce(ce_path, pairs, args.batch_size, args.max_length),
            ),
        }
        print(f"{'case':<14} {'adapter pairs/s':>16} {'raw pairs/s':>12} {'ratio':>7} {'max |diff|':>11}")
        for name, (make_adapter, raw) in cases.items():
            best_a, best_r, diff = 0.0, 0.0, 0.0
            for _ in range(args.repeats):
                ranker = make_adapter()  # fresh caches each repeat
                ta, sa = timed(lambda ranker=ranker: ranker.score_pairs(pairs))
                tr, sr = timed(raw)
                best_a, best_r = max(best_a, len(pairs) / ta), max(best_r, len(pairs) / tr)
                diff = max(diff, float(np.max(np.abs(sa - sr))))
            print(f"{name:<14} {best_a:>16.1f} {best_r:>12.1f} {best_a / best_r:>7.2f} {diff:>11.2e}")


if __name__ == "__main__":
    main()
