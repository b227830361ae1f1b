"""A ranker defence's evaluation units (certify task, ``defense/<name>/<query_id>``) go through the
executor: the same results in-process, on worker processes and on Ray; checkpointed per unit, so a
resumed audit recomputes only the missing units and still reports every unit's forwards; a defended
ranker that cannot be pickled runs in the driver with a recorded fallback.

Named mutants each fail a test here:

* forwards read from the driver's copy of the defended ranker instead of summed over units:
  0 on processes (``test_defence_units_on_processes_equal_in_process``) and only the recomputed
  unit's on resume (``test_resume_recomputes_only_missing_defence_units``);
* unit key changed (e.g. ``defense:<name>/<qid>``): the key check and the resume test (every unit
  recomputed, ``units_run`` 3 instead of 1);
* defence units run with ``ctx.unit`` in the driver again: ``units_run`` in-process misses them;
* an unpicklable defended ranker failing the defence instead of falling back
  (``test_unpicklable_defended_ranker_falls_back_in_process``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
from pathlib import Path

import pytest
from conftest import TINY

from robustrank.audit import run_audit
from robustrank.config import load_config

NAME = "certdr_wu_2022"
SAMPLES = 4
CANDIDATES = 4
QUERIES = 3

CONFIG = """
name: defence-units
seed: 3
lexicon: {lex}
ranker: {{type: bi-encoder, model: {model}, batch_size: 16, device: cpu}}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {data}}}}}
tasks:
  t1: {{enabled: false}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  certify:
    enabled: true
    queries: {queries}
    candidates: {candidates}
    k_values: [1, 2]
    alpha: 0.1
    procedure: fixed
    n_fixed: 8
    min_similarity: 0.5
    max_set_size: 3
    defenses:
      - {{name: {name}, options: {{samples: {samples}, min_similarity: 0.5, max_set_size: 3}}}}
{executor}
"""


def _config(folder: Path, model: Path, executor: str = "") -> Path:
    lex = folder / "lex.tsv"
    lex.write_text('#robustrank-lexicon\t1\t{"name": "tiny"}\nmeasurement\tmeasuring:0.8\ndesign\tdesigning:0.8 plan:0.75\n'
                   "microwave\tradio:0.8\nradio\tbroadcast:0.8\n")
    data = folder / "tiny"
    if not data.exists():
        shutil.copytree(TINY, data)
    p = folder / f"{executor.split(',')[0].replace('type: ', '') or 'inproc'}.yaml"
    p.write_text(CONFIG.format(lex=lex, model=model, data=data, queries=QUERIES, candidates=CANDIDATES, name=NAME, samples=SAMPLES,
                               executor=f"executor: {{{executor}}}" if executor else ""))
    return p


def _audit(cfg: Path, out: Path, *, resume: bool = False) -> dict:
    results, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False, resume=resume)
    assert results["tasks"]["certify"]["status"] == "ok", results["tasks"]["certify"].get("error")
    return results


def _defence(results: dict) -> dict:
    """The defence's record without wall times: what every backend and a resume must reproduce."""
    rec = dict(results["tasks"]["certify"]["result"]["defenses"][NAME])
    assert "error" not in rec, rec
    rec.pop("seconds")
    return rec


def _checkpoint(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "checkpoint.jsonl").read_text().splitlines()[1:] if line.strip()]


def _defence_units(out: Path) -> dict[str, object]:
    return {r["unit"]: r["result"] for r in _checkpoint(out) if r["task"] == "certify" and r["unit"].startswith("defense")}


def _reranked(out: Path) -> int:
    """Re-ranking units (one per judged query), which worker backends run through the pool too."""
    return sum(r["task"] == "rerank" for r in _checkpoint(out))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_bi_encoder):
    """An uninterrupted in-process audit: (config folder, output folder, results)."""
    folder = tmp_path_factory.mktemp("defence-units")
    out = folder / "ref"
    return folder, out, _audit(_config(folder, tiny_bi_encoder), out)


def test_reference_runs_defence_units_through_the_executor(reference):
    _, out, results = reference
    rec = _defence(results)
    qids = [q["query_id"] for q in results["tasks"]["certify"]["result"]["queries"]]
    assert len(qids) == QUERIES
    # the units keep the keys of earlier versions, so their checkpoints resume
    units = _defence_units(out)
    assert sorted(units) == sorted(f"defense/{NAME}/{q}" for q in qids)
    assert all(u["forwards"] == SAMPLES * len(u["ranked"]) for u in units.values())
    # each certified query's top-4 (fewer when BM25 found fewer) x 4 copies, summed over the units
    assert rec["forwards"] == sum(u["forwards"] for u in units.values()) == SAMPLES * sum(len(u["ranked"]) for u in units.values()) > 0
    assert rec["samples"] == SAMPLES and "forwards_unrecorded_units" not in rec
    # in-process, the defence's units went through the pool too (not ctx.unit in the driver)
    assert results["execution"] == {"type": "in-process", "units_run": 2 * QUERIES, "gpus": 0, "fallbacks": []}


def test_defence_units_on_processes_equal_in_process(reference, tiny_bi_encoder):
    folder, ref_out, ref = reference
    out = folder / "proc"
    proc = _audit(_config(folder, tiny_bi_encoder, "type: processes, workers: 2, units_per_task: 1, max_in_flight: 2"), out)
    assert proc["execution"]["type"] == "processes" and proc["execution"]["fallbacks"] == []  # the workers ran the units
    assert proc["execution"]["units_run"] == 2 * QUERIES + _reranked(ref_out)  # workers also re-rank there
    assert _defence(proc) == _defence(ref) and _defence(proc)["forwards"] > 0
    assert _defence_units(out) == _defence_units(ref_out)


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'")
def test_defence_units_on_ray_equal_in_process(reference, tiny_bi_encoder, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # single-node local test cluster
    folder, ref_out, ref = reference
    out = folder / "ray"
    res = _audit(_config(folder, tiny_bi_encoder, "type: ray, workers: 2, units_per_task: 1, max_in_flight: 2, object_store_mb: 80"), out)
    assert res["execution"]["type"] == "ray" and res["execution"]["fallbacks"] == []
    assert res["execution"]["units_run"] == 2 * QUERIES + _reranked(ref_out)
    assert _defence(res) == _defence(ref)
    assert _defence_units(out) == _defence_units(ref_out)


def _rewrite_checkpoint(src: Path, dst: Path, edit) -> None:
    """Copy an output folder, passing each defence unit's checkpoint record through ``edit``
    (return None to drop it: the audit was killed before that unit finished)."""
    shutil.copytree(src, dst)
    path = dst / "checkpoint.jsonl"
    lines = path.read_text().splitlines()
    kept = [lines[0]]
    for line in lines[1:]:
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec["task"] == "certify" and rec["unit"].startswith("defense"):
            rec = edit(rec)
            if rec is None:
                continue
        kept.append(json.dumps(rec))
    path.write_text("\n".join(kept) + "\n")


def test_resume_recomputes_only_missing_defence_units(reference, tiny_bi_encoder):
    """Killed after two of the three defence units: the resumed audit (on worker processes) runs
    only the third and reports the uninterrupted forwards."""
    folder, ref_out, ref = reference
    last = sorted(_defence_units(ref_out))[-1]
    out = folder / "resumed"
    _rewrite_checkpoint(ref_out, out, lambda rec: None if rec["unit"] == last else rec)
    res = _audit(_config(folder, tiny_bi_encoder, "type: processes, workers: 1, units_per_task: 1"), out, resume=True)
    assert res["execution"]["units_run"] == 1 and res["execution"]["fallbacks"] == []  # only the missing unit
    assert _defence(res) == _defence(ref)
    assert _defence_units(out) == _defence_units(ref_out)


def test_resume_reads_units_of_older_checkpoints(reference, tiny_bi_encoder):
    """A unit stored by an older version (a bare ranked list, no forwards) is not recomputed; the
    forwards it cost are unknown and said so."""
    folder, ref_out, ref = reference
    first = sorted(_defence_units(ref_out))[0]
    out = folder / "old-format"

    def old(rec: dict) -> dict:  # the key as older versions wrote it
        key = f"defense/{NAME}/{first.rsplit('/', 1)[1]}"
        return {**rec, "unit": key, "result": rec["result"]["ranked"]} if rec["unit"] == first else rec

    _rewrite_checkpoint(ref_out, out, old)
    res = _audit(_config(folder, tiny_bi_encoder), out, resume=True)
    assert res["execution"].get("units_run", 0) == 0  # nothing recomputed
    got, want = _defence(res), _defence(ref)
    assert got.pop("forwards_unrecorded_units") == 1
    assert got.pop("forwards") == want.pop("forwards") - _defence_units(ref_out)[first]["forwards"]
    assert got == want


def test_unpicklable_defended_ranker_falls_back_in_process(reference, tiny_bi_encoder, monkeypatch):
    """A plugin's defended ranker that cannot be pickled runs in the driver: same results, the
    fallback recorded in results.json, the audit not failed."""
    from robustrank.tasks import certify_defenses

    load = certify_defenses.load_defense

    class Unpicklable:
        def __init__(self, inner):
            self.inner = inner

        def wrap(self, ranker, env):
            defended = self.inner.wrap(ranker, env)
            defended.lock = threading.Lock()  # e.g. a client with a lock
            return defended

    def load_unpicklable(spec):
        defense, info = load(spec)
        return Unpicklable(defense), info

    monkeypatch.setattr(certify_defenses, "load_defense", load_unpicklable)
    folder, _, ref = reference
    res = _audit(_config(folder, tiny_bi_encoder, "type: processes, workers: 1, units_per_task: 3"), folder / "fallback")
    fallbacks = res["execution"]["fallbacks"]
    assert len(fallbacks) == 1 and f"defense {NAME}" in fallbacks[0] and "cannot be pickled" in fallbacks[0]
    assert _defence(res) == _defence(ref)
