"""Attack targets and certified queries run on the executor: same results on every backend,
after a kill -9 and a resume on another backend, with the workers really doing the work."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_t4

from robustrank.audit import run_audit
from robustrank.config import load_config

VOLATILE = {"path"}  # artefact folders live under each run's own output folder

CONFIG = """
name: units
seed: 3
lexicon: {lex}
ranker: {ranker}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {data}}}}}
tasks:
  t1: {{bootstrap_samples: 50}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  t4:
{t4}    defenses: [{{name: perplexity_detector}}]
    attacks:
{attacks}
  certify: {{enabled: true, queries: 3, candidates: 4, k_values: [1, 2], alpha: 0.1, n_min: 8, n_max: 64, max_set_size: 3, min_similarity: 0.5}}
{executor}
"""

PRADA = """      - name: prada_wu_2023
        options: {{surrogate_init: {ce}, max_steps: 1, batch_size: 4, positive_depth: 1, negative_from: 2, surrogate_queries: 3, pairs_per_query: 2, loss_docs: 3, distill_steps: 2}}
"""
STUFFING = """      - name: keyword_stuffing
        options: {mode: prepend}
      - name: random_substitution
"""

SLOW_RANKER = '''
import time
def score(query, docs):
    time.sleep(0.02)
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.001 * (len(d) % 13) for d in docs]
'''


def _lexicon(tmp_path: Path) -> Path:
    lex = tmp_path / "lex.tsv"
    lex.write_text('#robustrank-lexicon\t1\t{"name": "tiny"}\nmeasurement\tmeasuring:0.8\ndesign\tdesigning:0.8 plan:0.75\n'
                   "liquid\tfluid:0.8\nflow\tstream:0.8 current:0.7\n")
    return lex


def _write(tmp_path: Path, name: str, *, ranker: str, data: Path, bi: Path, attacks: str, executor: str = "") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(CONFIG.format(lex=_lexicon(tmp_path), ranker=ranker, data=data, t4=tiny_t4(bi), attacks=attacks,
                               executor=f"executor: {{{executor}}}" if executor else ""))
    return p


def _stable(obj):
    """results without timings: the content every backend must reproduce exactly."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE and not k.endswith(("seconds", "seconds_per_target", "duration_s"))}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def _content(results: dict) -> dict:
    return {"metrics": results["metrics"], "tasks": _stable(results["tasks"])}


def _audit(cfg_path: Path, out: Path) -> dict:
    results, _ = run_audit(load_config(cfg_path), out_dir=out, progress=False, render_html=False)
    assert all(t["status"] == "ok" for t in results["tasks"].values()), {k: t.get("error") for k, t in results["tasks"].items()}
    return results


@pytest.fixture()
def neural_configs(tmp_path, tiny_dataset, tiny_bi_encoder, tiny_cross_encoder):
    def make(executor: str) -> Path:
        ranker = f"{{model: {tiny_bi_encoder}, device: cpu, batch_size: 16}}"
        return _write(tmp_path, executor.split(",")[0].replace("type: ", "") or "inproc", ranker=ranker, data=tiny_dataset,
                      bi=tiny_bi_encoder, attacks=PRADA.format(ce=tiny_cross_encoder) + STUFFING, executor=executor)

    return make


def test_attack_and_certify_units_on_processes_equal_in_process(neural_configs, tmp_path):
    ref = _audit(neural_configs(""), tmp_path / "ref")
    proc = _audit(neural_configs("type: processes, workers: 2, units_per_task: 2, max_in_flight: 4"), tmp_path / "proc")
    assert proc["execution"]["fallbacks"] == []  # every job really went to the workers
    n_t4 = sum(len(s["targets"]) for a in proc["tasks"]["t4"]["result"]["attacks"].values() for s in a["systems"].values())
    n_cert = len(proc["tasks"]["certify"]["result"]["queries"])
    n_def = proc["tasks"]["certify"]["result"]["defenses"]["certdr_wu_2022"]["queries"]  # the default ranker defence's units
    assert n_t4 > 10 and n_cert == n_def == 3
    assert proc["execution"]["units_run"] >= n_t4 + n_cert + n_def
    assert ref["execution"] == {"type": "in-process", "units_run": n_t4 + n_cert + n_def, "gpus": 0, "fallbacks": []}
    assert _content(proc) == _content(ref)


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'")
def test_attack_and_certify_units_on_ray_equal_in_process(neural_configs, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # single-node local test cluster
    ref = _audit(neural_configs(""), tmp_path / "ref")
    ray_res = _audit(neural_configs("type: ray, workers: 2, units_per_task: 2, max_in_flight: 4, object_store_mb: 100"), tmp_path / "ray")
    assert ray_res["execution"]["fallbacks"] == []
    assert _content(ray_res) == _content(ref)


def test_kill_minus_nine_then_resume_on_processes_gives_the_uninterrupted_results(tmp_path, tiny_dataset, tiny_bi_encoder, monkeypatch):
    """An in-process audit killed with SIGKILL in the middle of T4, resumed on worker processes,
    ends with exactly the results of an uninterrupted in-process audit."""
    (tmp_path / "slow_ranker.py").write_text(SLOW_RANKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    ranker = "{type: callable, callable: 'slow_ranker:score'}"
    inproc = _write(tmp_path, "inproc", ranker=ranker, data=tiny_dataset, bi=tiny_bi_encoder, attacks=STUFFING)
    procs = _write(tmp_path, "procs", ranker=ranker, data=tiny_dataset, bi=tiny_bi_encoder, attacks=STUFFING,
                   executor="type: processes, workers: 2, units_per_task: 1, max_in_flight: 2")
    ref = _audit(inproc, tmp_path / "ref")

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "robustrank.cli", "-q", "audit", str(inproc), "--out", str(out), "--no-html"],
                            env=env, start_new_session=True)
    ckpt = out / "checkpoint.jsonl"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ckpt.exists() and sum('"task": "t4"' in line or '"task":"t4"' in line for line in ckpt.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the audit finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done_before = [json.loads(line) for line in ckpt.read_text().splitlines()[1:] if line.strip()]
    assert any(r["task"] == "t4" for r in done_before) and not any(r["task"] == "certify" for r in done_before)

    resumed, _ = run_audit(load_config(procs), out_dir=out, progress=False, render_html=False, resume=True)
    assert resumed["checkpoint"]["resumed_units"] >= 3
    assert resumed["execution"]["type"] == "processes" and resumed["execution"]["fallbacks"] == []
    assert _content(resumed) == _content(ref)
