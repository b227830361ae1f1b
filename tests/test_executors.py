"""Execution backends: local processes and Ray give the in-process results and survive a dead worker."""

from __future__ import annotations

import importlib.util

import pytest

from robustrank.audit import run_audit
from robustrank.config import load_config

# Dies (kills its own process) the first time it is called anywhere, then scores normally.
DYING_RANKER = '''
import os
from pathlib import Path
MARKER = Path(__file__).with_name("died.marker")
def score(query, docs):
    if not MARKER.exists():
        MARKER.write_text(str(os.getpid()))
        os._exit(1)
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.001 * (len(d) % 13) for d in docs]
'''


def _config(tmp_path, dataset, executor: str) -> object:
    (tmp_path / "dying_ranker.py").write_text(DYING_RANKER)
    p = tmp_path / f"{executor or 'inproc'}.yaml"
    ex = f"executor: {{{executor}}}\n" if executor else ""
    p.write_text(f"name: ex\nseed: 5\nranker: {{type: callable, callable: 'dying_ranker:score'}}\ncandidates: {{depth: 10}}\n"
                 f"datasets: {{in_domain: {{path: {dataset}}}}}\ntasks: {{t2: {{enabled: false}}, t1: {{bootstrap_samples: 100}}}}\n{ex}")
    return load_config(p)


def _t1(results):
    return results["tasks"]["t1"]["result"]["per_query"]  # the long per-query records


def _ranked_lists(out_dir):
    """Every re-ranking unit (query -> ranked (doc_id, score) list) from a checkpoint."""
    import json

    lines = (out_dir / "checkpoint.jsonl").read_text().splitlines()[1:]
    return {(r["task"], r["unit"]): r["result"] for r in map(json.loads, lines) if r["task"] == "rerank"}


@pytest.fixture()
def reference(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "died.marker").write_text("in-process reference never dies")
    results, _ = run_audit(_config(tmp_path, tiny_dataset, ""), out_dir=tmp_path / "ref", progress=False, render_html=False)
    (tmp_path / "died.marker").unlink()
    return results


def test_processes_backend_resubmits_after_worker_death(reference, tmp_path, tiny_dataset):
    cfg = _config(tmp_path, tiny_dataset, "type: processes, workers: 2, units_per_task: 1, max_in_flight: 2")
    results, _ = run_audit(cfg, out_dir=tmp_path / "proc", progress=False, render_html=False)
    assert (tmp_path / "died.marker").exists()  # a worker really died
    assert results["tasks"]["t1"]["status"] == "ok"
    assert _t1(results) == _t1(reference)
    runs = _ranked_lists(tmp_path / "proc")
    assert len(runs) == 4 and runs == _ranked_lists(tmp_path / "ref")
    assert "executor:processes" in results["timings"]


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'")
def test_ray_backend_retries_killed_worker(reference, tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # single-node local test cluster
    cfg = _config(tmp_path, tiny_dataset, "type: ray, workers: 2, units_per_task: 1, max_in_flight: 3, object_store_mb: 80")
    results, _ = run_audit(cfg, out_dir=tmp_path / "ray", progress=False, render_html=False)
    assert (tmp_path / "died.marker").exists()
    assert results["tasks"]["t1"]["status"] == "ok"
    assert _t1(results) == _t1(reference)
    runs = _ranked_lists(tmp_path / "ray")
    assert len(runs) == 4 and runs == _ranked_lists(tmp_path / "ref")
