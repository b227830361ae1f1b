"""GPU smoke benchmark: the demo's ranker on a GPU, in-process and on worker processes, in one run.

Usage:
    .venv/bin/python bench/gpu_smoke.py [--quick] [--json out.json] [--audit]
    .venv/bin/python bench/gpu_smoke.py --device cpu --quick      # the CPU path (no GPU needed)
    make gpu-smoke

Model and data come from examples/demo.yaml (all-MiniLM-L6-v2 re-ranking the BM25 top-``depth``
of vaswani; ``--depth`` defaults to the demo's 100). Without CUDA (and without ``--device cpu``)
it prints one line and exits 0. Every figure is measured in this run:

1. pairs/s of the in-process adapter (``score_pairs`` of the ranker built from the demo's ranker
   config, fresh caches) vs the best raw transformers forward of the same model: distinct texts
   sorted by token count, each batch size of ``--batch-sizes`` tried, the fastest taken; the
   ratio adapter/raw and the largest score difference.
2. units/s of re-ranking units (one unit = one query's candidate list): in-process vs the
   ``processes`` executor with 1..N workers (N = visible GPUs, or ``--workers`` on CPU), each
   backend from scratch (worker start and model load included); the ratio to in-process.
3. With ``--audit``: the whole demo audit on this device (``robustrank audit --device``), its
   per-stage timings from results.json (long: the demo takes 40+ minutes on 2 CPU cores).

Each worker's GPU follows :mod:`robustrank.gpus` (one GPU per worker, round-robin); the plan is
printed; the processes executor applies it (one GPU per worker, round-robin).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "demo.yaml"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default; exits 0 without CUDA), cuda:N or cpu")
    ap.add_argument("--quick", action="store_true", help="8 queries x top-20, batch sizes 16 and 64, one repeat")
    ap.add_argument("--queries", type=int, help="judged vaswani queries (default 64; 8 with --quick)")
    ap.add_argument("--depth", type=int, help="BM25 candidates per query (default: the demo's; 20 with --quick)")
    ap.add_argument("--batch-sizes", help="comma-separated raw-forward batch sizes (default 16,32,64,128,256,512)")
    ap.add_argument("--units-per-task", type=int, default=16, help="queries per executor task, at most (batched together in a worker; fewer when every worker would not get one)")
    ap.add_argument("--workers", type=int, help="largest worker count (default: visible GPUs; 2 on CPU)")
    ap.add_argument("--repeats", type=int, help="best of this many runs of the pairs/s figures (default 2; 1 with --quick)")
    ap.add_argument("--audit", action="store_true", help="also run the whole demo audit on this device")
    ap.add_argument("--json", dest="json_out", type=Path, help="write every figure to this JSON file")
    a = ap.parse_args(argv)
    a.queries = a.queries or (8 if a.quick else 64)
    a.repeats = a.repeats or (1 if a.quick else 2)
    a.batch_sizes = [int(b) for b in (a.batch_sizes or ("16,64" if a.quick else "16,32,64,128,256,512")).split(",")]
    return a


def workload(args, cfg):
    """(pairs, units, queries, candidates, documents) over the demo's in-domain collection."""
    from robustrank.data import load_dataset
    from robustrank.rankers.bm25 import BM25Ranker

    coll = load_dataset(cfg.datasets.in_domain, cfg.resolve)
    bm = BM25Ranker(coll.documents)
    qids = coll.judged_query_ids()[: args.queries]
    queries = {q: coll.queries[q].text for q in qids}
    cands = {q: bm.retrieve(queries[q], args.depth) for q in qids}
    units = [(q, queries[q], [d for d, _ in cands[q]], [coll.documents[d].full_text for d, _ in cands[q]]) for q in qids]
    pairs = [(u[1], t) for u in units for t in u[3]]
    return pairs, units, queries, cands, coll.documents


def raw_forward(path: str, pairs, device: str, dtype, max_length: int, batch_size: int):
    """Embed the distinct texts sorted by token count with a plain AutoModel; mean-pool, normalise, dot."""
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=dtype).to(device).eval()
    texts = list(dict.fromkeys(t for p in pairs for t in p))
    lengths = tok(texts, truncation=True, max_length=max_length)["input_ids"]
    texts = [t for _, t in sorted(zip(map(len, lengths), texts), key=lambda x: x[0])]
    embs = {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = texts[i : i + batch_size]
            enc = tok(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).float().cpu().numpy()
            embs.update(zip(batch, e))
    scores = np.array([embs[q] @ embs[d] for q, d in pairs])
    return time.perf_counter() - t0, scores


def pairs_per_second(args, cfg, rc, pairs) -> dict:
    """Adapter vs fastest raw forward (best of ``repeats``)."""
    import numpy as np

    from robustrank.rankers.build import build_ranker_from_config
    from robustrank.rankers.device import resolve_device, resolve_dtype

    build_ranker_from_config(rc, cfg.base_dir).score_pairs(pairs[:8])  # warm-up (kernels, thread pools) outside the timings
    best_adapter, adapter_scores, ranker = 0.0, None, None
    for _ in range(args.repeats):
        ranker = build_ranker_from_config(rc, cfg.base_dir)  # fresh caches
        t0 = time.perf_counter()
        adapter_scores = np.asarray(ranker.score_pairs(pairs))
        best_adapter = max(best_adapter, len(pairs) / (time.perf_counter() - t0))
    inner = getattr(ranker, "inner", ranker)  # CachedRanker wraps the adapter
    path, max_length = inner.model_path, inner.backbone.max_length
    device = resolve_device(rc.device)
    dtype = resolve_dtype(rc.dtype, device)
    raw = {}
    diff = 0.0
    for bs in args.batch_sizes:
        for _ in range(args.repeats):
            t, scores = raw_forward(path, pairs, str(device), dtype, max_length, bs)
            raw[bs] = max(raw.get(bs, 0.0), len(pairs) / t)
            diff = max(diff, float(np.max(np.abs(scores - adapter_scores))))
    best_bs = max(raw, key=raw.get)
    return {"pairs": len(pairs), "adapter_pairs_s": best_adapter, "adapter_batch_size": rc.batch_size, "raw_pairs_s_by_batch": raw,
            "raw_best_batch_size": best_bs, "raw_best_pairs_s": raw[best_bs], "ratio_adapter_raw": best_adapter / raw[best_bs], "max_abs_score_diff": diff}


def units_per_second(args, cfg, rc, units, queries, cands, documents, max_workers: int) -> dict:
    """Re-ranking units/s in-process and on 1..max_workers worker processes, each from scratch."""
    from robustrank.config.executor import ExecutorConfig
    from robustrank.executors import JobRegistry, RerankJob, UnitPool
    from robustrank.pipeline import rerank
    from robustrank.rankers.build import build_ranker_from_config

    rates = {}
    t0 = time.perf_counter()
    ranker = build_ranker_from_config(rc, cfg.base_dir)
    rerank(ranker, queries, cands, documents)
    rates["in-process"] = len(units) / (time.perf_counter() - t0)
    registry = JobRegistry()
    registry.add(ranker, rc, cfg.base_dir)  # workers rebuild it from the config, never unpickle it
    payloads = [(qid, (query, ids, texts)) for qid, query, ids, texts in units]
    per_task = {}
    for n in range(1, max_workers + 1):
        got: dict = {}
        per_task[n] = min(args.units_per_task, -(-len(units) // n))  # every worker gets a task
        ex = ExecutorConfig(type="processes", workers=n, units_per_task=per_task[n], max_in_flight=2 * n)
        pool = UnitPool(ex, registry, device=rc.device)
        t0 = time.perf_counter()
        try:
            pool.map("rerank", RerankJob(ranker), payloads, got.__setitem__)
        finally:
            pool.close()
        rates[f"processes x{n}"] = len(units) / (time.perf_counter() - t0)
        if len(got) != len(units):
            raise RuntimeError(f"processes x{n}: {len(got)} of {len(units)} units came back")
    return {"units": len(units), "units_s": rates, "units_per_task": per_task, "ratio_to_in_process": {k: v / rates["in-process"] for k, v in rates.items()}}


def demo_audit(device: str) -> dict:
    """Run the whole demo audit on ``device``; its per-stage timings."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(Path(sys.executable).with_name("robustrank")), "-q", "audit", str(DEMO), "--device", device, "--out", out, "--no-html"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        timings = json.loads((Path(out) / "results.json").read_text())["timings"]
    return {"wall_s": time.perf_counter() - t0, "timings": timings}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from robustrank.config import load_config
    from robustrank.gpus import detect_gpus, worker_visible_devices

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_smoke: skipped: no CUDA device visible (run it on a GPU machine, or pass --device cpu)")
        return 0
    cfg = load_config(DEMO)
    args.depth = args.depth or (20 if args.quick else cfg.candidates.depth)
    rc = cfg.ranker.model_copy(update={"device": args.device})
    gpus = detect_gpus() if args.device.startswith("cuda") else []
    max_workers = args.workers or (len(gpus) if gpus else 2)
    env = {"device": args.device, "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if gpus else [],
           "torch": torch.__version__, "cpu_cores": os.cpu_count(), "model": rc.model, "dataset": cfg.datasets.in_domain.path,
           "queries": args.queries, "depth": args.depth, "gpu_plan": {i: worker_visible_devices(i, rc.device, gpus) for i in range(max_workers)}}
    print(f"gpu_smoke: {rc.model} on {args.device} {env['gpus'] or ''}; {args.queries} vaswani queries x BM25 top-{args.depth}; "
          f"worker GPU plan (CUDA_VISIBLE_DEVICES per worker): {env['gpu_plan']}")
    pairs, units, queries, cands, documents = workload(args, cfg)

    p = pairs_per_second(args, cfg, rc, pairs)
    print(f"\npairs/s over {p['pairs']} pairs (best of {args.repeats})")
    print(f"  adapter (batch {p['adapter_batch_size']}): {p['adapter_pairs_s']:10.1f}")
    for bs, rate in p["raw_pairs_s_by_batch"].items():
        print(f"  raw forward, batch {bs:>4}: {rate:10.1f}")
    print(f"  ratio adapter / fastest raw (batch {p['raw_best_batch_size']}): {p['ratio_adapter_raw']:.2f}; max |score diff| {p['max_abs_score_diff']:.1e}")

    u = units_per_second(args, cfg, rc, units, queries, cands, documents, max_workers)
    print(f"\nunits/s over {u['units']} re-ranking units ({args.depth} candidates each; units per task: {u['units_per_task']}), from scratch")
    for name, rate in u["units_s"].items():
        print(f"  {name:<14} {rate:8.2f}  x{u['ratio_to_in_process'][name]:.2f} of in-process")

    report = {"environment": env, "pairs_per_second": p, "units_per_second": u}
    if args.audit:
        report["demo_audit"] = demo_audit(args.device)
        print(f"\ndemo audit on {args.device}: {report['demo_audit']['wall_s']:.0f} s")
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nwrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
