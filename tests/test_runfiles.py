"""TREC runs out (evaluated by pytrec_eval to the values in results.json) and in (ranker type run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config

PYTREC = {"nDCG@10": "ndcg_cut_10", "R@5": "recall_5", "AP@100": "map_cut_100"}


def _config(tmp_path, tiny_dataset, model, source="bm25"):
    return write_config(tmp_path / "audit.yaml", f"""
name: tiny-runs
seed: 3
measures: [nDCG@10, R@5, AP@100]
ranker: {{type: bi-encoder, model: {model}, batch_size: 4, device: cpu}}
candidates: {{source: {source}, depth: 8}}
datasets:
  in_domain: {{path: {tiny_dataset}}}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{variations: [{{name: typo, rate: 0.5}}, {{name: shuffle, rate: 1.0}}], bootstrap_samples: 100, slices: false}}
  t3: {{enabled: false}}
  t4: {{enabled: false}}
  certify: {{enabled: false}}
output: {{dir: {tmp_path / 'out'}, html: false, runs: true}}
""")


def _pytrec_values(run_path: Path, qrels: dict, measure: str, qids: list[str]) -> dict[str, float]:
    import pytrec_eval

    run: dict[str, dict[str, float]] = {}
    for line in run_path.read_text().splitlines():
        qid, _, did, _, score, _ = line.split()
        run.setdefault(qid, {})[did] = float(score)
    ev = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {PYTREC[measure]})
    got = ev.evaluate({q: d for q, d in run.items() if q in qids})
    return {q: got[q][PYTREC[measure]] if q in got else 0.0 for q in qids}


@pytest.fixture()
def audited(tmp_path, tiny_dataset, tiny_bi_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config
    from robustrank.data import load_dataset

    cfg = load_config(_config(tmp_path, tiny_dataset, tiny_bi_encoder, source="dense"))
    results, path = run_audit(cfg, progress=False)
    coll = load_dataset(cfg.datasets.in_domain, cfg.resolve)
    return results, path.parent, coll


def test_exported_runs_evaluate_with_pytrec_eval_to_results_json(audited):
    results, out, coll = audited
    qrels = {q: dict(v) for q, v in coll.qrels.items()}
    from robustrank.results import pivot, task_records

    t1 = pivot(task_records(results["tasks"]["t1"]["result"]), "system", "measure")
    t2 = pivot([r for r in task_records(results["tasks"]["t2"]["result"]) if r.label("variation") is not None], "variation", "system", "measure")
    qids = list(t1["neural"]["nDCG@10"])
    checked = 0
    for measure in PYTREC:
        for system in ("neural", "bm25"):
            path = out / results["runs"][f"tiny/original/{system}"]
            assert _pytrec_values(path, qrels, measure, qids) == pytest.approx(t1[system][measure], abs=1e-12)
            checked += 1
        for variation in results["tasks"]["t2"]["result"]["variations"]:
            for system in ("neural", "bm25"):
                path = out / results["runs"][f"tiny/{variation}/{system}"]
                assert _pytrec_values(path, qrels, measure, qids) == pytest.approx(t2[variation][system][measure], abs=1e-12)
                checked += 1
    assert checked == 3 * 6


def test_run_file_format_round_trips(tmp_path):
    from robustrank.data import read_trec_run
    from robustrank.runfiles import write_trec_run

    run = {"q1": [("d2", 0.1 + 0.2), ("d1", 1 / 3), ("d3", 1 / 3)]}
    back = read_trec_run(write_trec_run(tmp_path / "r.trec", run, tag="x"))
    # ties in trec_eval order (doc id descending), as stored and evaluated everywhere
    assert [(s.doc_id, s.score) for s in back["q1"]] == [("d3", 1 / 3), ("d1", 1 / 3), ("d2", 0.1 + 0.2)]
    assert (tmp_path / "r.trec").read_text().splitlines()[0] == f"q1 Q0 d1 1 {1 / 3!r} x"


def test_run_only_audit_t1_and_t3_from_run_files(tmp_path, audited, tiny_dataset):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    results, out, _ = audited
    neural = out / results["runs"]["tiny/original/neural"]
    cfg_path = write_config(tmp_path / "runonly.yaml", f"""
name: run-only
seed: 3
measures: [nDCG@10, R@5, AP@100]
ranker:
  type: run
  options: {{runs: {{tiny: {neural}, tiny-ood: {neural}}}}}
candidates: {{depth: 8}}
datasets:
  in_domain: {{path: {tiny_dataset}}}
  ood: [{{name: tiny-ood, path: {tiny_dataset}}}]
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{variations: [{{name: typo, rate: 0.5}}], bootstrap_samples: 100, slices: false}}
  t3: {{bootstrap_samples: 100}}
  t4: {{enabled: false}}
  certify: {{enabled: false}}
output: {{dir: {tmp_path / 'runonly'}, html: false}}
""")
    from robustrank.results import pivot, task_records

    res, _ = run_audit(load_config(cfg_path), progress=False)
    assert res["tasks"]["t1"]["status"] == "ok"
    audited_t1 = pivot(task_records(results["tasks"]["t1"]["result"]), "system", "measure")["neural"]
    assert pivot(task_records(res["tasks"]["t1"]["result"]), "system", "measure")["neural"] == audited_t1
    t3 = res["tasks"]["t3"]
    assert t3["status"] == "ok" and t3["result"]["domains"]["tiny-ood"]["status"] == "ok"
    ood = pivot([r for r in task_records(t3["result"]) if r.label("dataset") == "tiny-ood"], "system", "measure")
    assert ood["neural"] == audited_t1
    # a run cannot score the typo variants: T2 fails with a message that says so
    assert res["tasks"]["t2"]["status"] == "error" and "cannot score new" in res["tasks"]["t2"]["error"]
    assert res["ranker"]["type"] == "run" and len(next(iter(res["ranker"]["weights_sha256"].values()))) == 64


def test_run_ranker_needs_runs_mapping(tmp_path, tiny_dataset):
    from robustrank.config import load_config
    from robustrank.errors import ConfigError
    from robustrank.rankers.build import build_ranker

    path = write_config(tmp_path / "bad.yaml", f"""
name: bad
ranker: {{type: run, options: {{runs: {{tiny: missing.trec}}}}}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
""")
    cfg = load_config(path)
    with pytest.raises(ConfigError, match=r"ranker.options.runs.tiny: .*missing.trec does not exist"):
        build_ranker(cfg.ranker, cfg)
