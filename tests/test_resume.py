"""kill -9 an audit part-way, resume it, and get exactly the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from robustrank.checkpoint import Checkpoint, CheckpointMismatch

SLOW_RANKER = '''
import time
def score(query, docs):
    time.sleep(0.4)
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.01 * (len(d) % 7) for d in docs]
'''


def _config(tmp_path: Path, dataset: Path) -> Path:
    (tmp_path / "slow_ranker.py").write_text(SLOW_RANKER)
    p = tmp_path / "m.yaml"
    p.write_text(f"""
name: resume
seed: 11
ranker: {{type: callable, callable: 'slow_ranker:score'}}
candidates: {{depth: 8}}
datasets: {{in_domain: {{path: {dataset}}}}}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2:
    bootstrap_samples: 100
    variations:
      - {{name: typo, rate: 0.5}}
      - {{name: shuffle, rate: 1.0}}
      - {{name: stopword_insert, rate: 0.5}}
      - {{name: stopword_drop, rate: 1.0}}
      - {{name: typo, rate: 1.0}}
      - {{name: shuffle, rate: 0.5}}
""")
    return p


def _run(cfg: Path, out: Path, *extra: str, wait: bool = True) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(cfg.parent), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "robustrank.cli", "-q", "audit", str(cfg), "--out", str(out), "--no-html", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return proc


def _units(path: Path) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:] if line.strip()]
    return [(rec["task"], rec["unit"]) for rec in lines]


def _comparable(results: dict) -> dict:
    tasks = {k: {kk: vv for kk, vv in t.items() if kk != "duration_s"} for k, t in results["tasks"].items()}
    return {"tasks": tasks, "metrics": results["metrics"]}


def test_kill_9_and_resume_matches_uninterrupted(tmp_path, tiny_dataset):
    cfg = _config(tmp_path, tiny_dataset)
    out = tmp_path / "killed"
    proc = _run(cfg, out, wait=False)
    ckpt = out / "checkpoint.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if ckpt.exists() and len(_units(ckpt)) >= 8:  # T1's units and some of T2's are done
            break
        if proc.poll() is not None:
            pytest.fail(f"audit ended before it could be killed: {proc.stderr.read()}")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "results.json").exists()
    done_before = len(_units(ckpt))
    assert 8 <= done_before

    _run(cfg, out, "--resume")
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["checkpoint"]["resumed_units"] == done_before

    _run(cfg, tmp_path / "fresh")
    fresh = json.loads((tmp_path / "fresh" / "results.json").read_text())
    assert _comparable(resumed) == _comparable(fresh)

    units_resumed = _units(ckpt)
    assert max(Counter(units_resumed).values()) == 1  # nothing duplicated
    assert set(units_resumed) == set(_units(tmp_path / "fresh" / "checkpoint.jsonl"))  # nothing lost


def test_checkpoint_refuses_other_config_and_ignores_torn_tail(tmp_path):
    path = tmp_path / "checkpoint.jsonl"
    ck = Checkpoint(path, "abc")
    ck.put("t", "u1", {"x": 1.5})
    ck.close()
    with open(path, "a") as fh:
        fh.write('{"task": "t", "unit": "u2", "resu')  # torn write
    ck = Checkpoint(path, "abc", resume=True)
    assert ck.get("t", "u1") == {"x": 1.5} and ck.get("t", "u2") is None
    ck.put("t", "u2", [1, 2])
    ck.close()
    assert Checkpoint(path, "abc", resume=True).get("t", "u2") == [1, 2]
    with pytest.raises(CheckpointMismatch, match="another configuration"):
        Checkpoint(path, "other", resume=True)
    fresh = Checkpoint(path, "other")  # without resume the file starts afresh
    assert fresh.get("t", "u1") is None
