"""Training memory: score distillation with and without activation checkpointing, side by side.

Usage:
    HF_HUB_OFFLINE=1 .venv/bin/python bench/training_memory.py [--steps 8] [--repeats 2] [--json out.json]

Workload: the demo's PRADA surrogate distillation - a cross-encoder student started from
all-MiniLM-L6-v2, 2 lists x 16 documents per step, max_length 128 - on 60 lists of 100 bundled
vaswani documents with seeded random teacher scores (the cost does not depend on the scores).
Each variant trains in a fresh process (so ``ru_maxrss`` is its own peak), the variants
alternate ``--repeats`` times (off, on, off, on, ...) so both see the same background load, and
the shared cache is off (both variants train). Prints peak RSS and CPU / wall seconds of each run,
the medians, the ratios checkpointed / plain, and whether the two trained models are bit-for-bit
equal (they must be: the checkpointed backward replays dropout from the saved random state).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _one(variant: str, steps: int, out: str) -> dict:
    """Train once in this process and return its measurements."""
    import numpy as np

    from robustrank.adversarial.distillation import DistillationConfig, ScoredList, train_distilled_ranker

    docs = []
    with gzip.open(REPO / "datasets" / "vaswani" / "corpus.jsonl.gz", "rt") as f:
        for line in f:
            o = json.loads(line)
            docs.append((o.get("title", "") + " " + o["text"]).strip())
    rng = np.random.default_rng(0)
    lists = []
    for _ in range(60):
        idx = rng.choice(len(docs), 100, replace=False)
        query = " ".join(rng.choice(docs[idx[0]].split(), 4))
        lists.append(ScoredList(query, tuple(docs[i] for i in idx), tuple(rng.normal(size=100).tolist())))
    cfg = DistillationConfig(architecture="cross-encoder", max_steps=steps, seed=0)
    c0, w0 = time.process_time(), time.perf_counter()
    path = train_distilled_ranker(lists, cfg, Path(out), device="cpu", checkpoint_activations=variant == "on")
    return {
        "checkpointing": variant == "on", "cpu_s": round(time.process_time() - c0, 2), "wall_s": round(time.perf_counter() - w0, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3), "model": str(path / "model.safetensors"),
    }


def _same_weights(a: str, b: str) -> bool:
    from safetensors.torch import load_file

    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(bool((x[k] == y[k]).all()) for k in x)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=2, metavar=("VARIANT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_one(args.child[0], args.steps, args.child[1])))
        return 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ROBUSTRANK_CACHE_DIR": "off"}
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for variant in ("off", "on"):
                out = subprocess.run(
                    [sys.executable, __file__, "--steps", str(args.steps), "--child", variant, f"{tmp}/{variant}{i}"],
                    env=env, capture_output=True, text=True, check=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                r = runs[-1]
                print(f"checkpointing {variant:<3}  peak RSS {r['peak_rss_gb']:.3f} GB  CPU {r['cpu_s']:7.1f} s  wall {r['wall_s']:7.1f} s")
        same = _same_weights(runs[0]["model"], runs[1]["model"])
    med = {v: {k: statistics.median(r[k] for r in runs if r["checkpointing"] == (v == "on")) for k in ("peak_rss_gb", "cpu_s", "wall_s")}
           for v in ("off", "on")}
    print(f"medians over {args.repeats} runs each ({args.steps} steps): without {med['off']}, with {med['on']}")
    print(f"with / without: peak RSS {med['on']['peak_rss_gb'] / med['off']['peak_rss_gb']:.2f}x "
          f"({med['on']['peak_rss_gb'] - med['off']['peak_rss_gb']:+.2f} GB), CPU {med['on']['cpu_s'] / med['off']['cpu_s']:.2f}x, "
          f"wall {med['on']['wall_s'] / med['off']['wall_s']:.2f}x; trained weights bit-for-bit equal: {same}; "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": med, "same_weights": same}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
