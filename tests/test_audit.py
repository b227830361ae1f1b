"""End-to-end audits on the tiny collection with tiny random models."""

from __future__ import annotations

import json
import sys

import pytest

from robustrank.audit import run_audit
from robustrank.config import load_config
from robustrank.report.render import render_html
from robustrank.results import pivot, read_results, task_records


def test_tiny_audit_end_to_end(tiny_config, tmp_path):
    cfg = load_config(tiny_config)
    results, path = run_audit(cfg, progress=False)
    assert path == tmp_path / "out" / "results.json"
    on_disk = read_results(path)
    assert on_disk["tasks"]["t1"]["status"] == "ok"
    t1 = on_disk["tasks"]["t1"]["result"]
    assert t1["n_queries"] == 4 and t1["unjudged_queries_skipped"] == 1
    for m in ("nDCG@10", "RR@10", "AP@100", "R@100"):
        v = t1["measures"][m]
        pq_neural = [r.value for r in task_records(t1) if r.system == "neural" and r.measure == m]
        assert v["neural"]["mean"] == pytest.approx(sum(pq_neural) / 4)
        assert set(v["comparison"]) >= {"t_pvalue", "wilcoxon_pvalue", "cohens_dz", "diff_ci_low"}
    # provenance
    assert on_disk["schema_version"] == "2.0"
    assert on_disk["metrics"]["t1.nDCG@10.mean"] == t1["measures"]["nDCG@10"]["neural"]["mean"] == t1["metrics"]["t1.nDCG@10.mean"]
    assert t1["metric_per_query"]["t1.nDCG@10.mean"] == {"system": "neural", "measure": "nDCG@10"}
    assert on_disk["config"]["name"] == "tiny"
    assert set(on_disk["fingerprints"]["model"]) == {"model.safetensors"}
    assert len(on_disk["fingerprints"]["datasets"]["tiny"]) == 3
    assert on_disk["environment"]["packages"]["torch"]
    assert on_disk["plugins"]["task:t1"]["distribution"] == "robustrank"
    assert on_disk["score_cache"]["misses"] > 0
    assert (tmp_path / "out" / "report.html").is_file()
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_audit_is_deterministic(tiny_config, tmp_path):
    cfg = load_config(tiny_config)
    a, _ = run_audit(cfg, out_dir=tmp_path / "a", progress=False, render_html=False)
    b, _ = run_audit(cfg, out_dir=tmp_path / "b", progress=False, render_html=False)
    assert a["tasks"]["t1"]["result"] == b["tasks"]["t1"]["result"]


def test_bm25_reranked_by_bm25_equals_baseline(tmp_path, tiny_dataset):
    cfg_path = tmp_path / "m.yaml"
    cfg_path.write_text(f"name: b\nranker: {{type: bm25}}\ndatasets: {{in_domain: {{path: {tiny_dataset}}}}}\n")
    results, _ = run_audit(load_config(cfg_path), out_dir=tmp_path / "o", progress=False, render_html=False)
    t1 = results["tasks"]["t1"]["result"]
    for m, v in t1["measures"].items():
        assert v["neural"]["mean"] == pytest.approx(v["bm25"]["mean"]), m
        assert v["comparison"]["ties"] == 4


def test_crashing_task_is_recorded(tmp_path, tiny_dataset, monkeypatch):
    mod = tmp_path / "boom_ranker.py"
    mod.write_text("def score(query, docs):\n    raise RuntimeError('ranker exploded')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_path = tmp_path / "m.yaml"
    cfg_path.write_text(f"name: boom\nranker: {{type: callable, callable: 'boom_ranker:score'}}\n"
                        f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\noutput: {{dir: {tmp_path / 'o'}}}\n")
    results, path = run_audit(load_config(cfg_path), progress=False)
    t1 = read_results(path)["tasks"]["t1"]
    assert t1["status"] == "error"
    assert "ranker exploded" in t1["error"]
    assert "ranker exploded" in (tmp_path / "o" / "report.html").read_text()


def test_checkpoint_variance(tmp_path, tiny_dataset, tiny_bi_encoder, tiny_bi_encoder_b):
    cfg_path = tmp_path / "m.yaml"
    cfg_path.write_text(
        f"name: ck\nranker: {{model: {tiny_bi_encoder}, checkpoints: [{tiny_bi_encoder_b}], device: cpu}}\n"
        f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\n"
    )
    results, _ = run_audit(load_config(cfg_path), out_dir=tmp_path / "o", progress=False, render_html=False)
    ck = results["tasks"]["t1"]["result"]["checkpoints"]
    assert ck["checkpoints"] == [str(tiny_bi_encoder), str(tiny_bi_encoder_b)]
    m = ck["measures"]["nDCG@10"]
    a, b = m["means"].values()
    assert m["mean_of_means"] == pytest.approx((a + b) / 2)
    assert m["std_of_means"] == pytest.approx(abs(a - b) / 2**0.5)


def test_report_escapes_markup(tiny_config, tiny_dataset):
    q = tiny_dataset / "queries.jsonl"
    lines = q.read_text().splitlines()
    lines[2] = json.dumps({"_id": "q3", "text": "<script>alert(1)</script> transistor noise"})
    q.write_text("\n".join(lines) + "\n")
    cfg = load_config(tiny_config)
    results, path = run_audit(cfg, progress=False)
    html = (path.parent / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # every aggregate number of T1 appears in the page
    for v in results["tasks"]["t1"]["result"]["measures"].values():
        assert f"{v['neural']['mean']:.3f}" in html and f"{v['bm25']['mean']:.3f}" in html


def test_render_from_json_alone(tiny_config):
    results, path = run_audit(load_config(tiny_config), progress=False, render_html=False)
    html = render_html(read_results(path))
    assert "T1 — I.I.D. performance variance" in html
    assert "robustrank audit: tiny" in html


def test_no_heavy_imports_at_import_time():
    import subprocess

    code = "import robustrank, robustrank.config, robustrank.rankers, robustrank.cli, sys; print(sorted(m for m in ('torch','transformers','scipy','ir_measures') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_candidates_from_run_file(tmp_path, tiny_dataset, tiny_bi_encoder):
    run = tmp_path / "run.trec"
    # only two candidates per query; the relevant d1 is absent for q1
    run.write_text("q1 Q0 d12 1 5.0 x\nq1 Q0 d2 2 4.0 x\nq2 Q0 d3 1 3.0 x\nq2 Q0 d4 2 2.0 x\n"
                   "q3 Q0 d5 1 1.0 x\nq3 Q0 d6 2 0.5 x\nq4 Q0 d9 1 1.0 x\nq4 Q0 d10 2 0.5 x\n")
    p = tmp_path / "m.yaml"
    p.write_text(f"name: run\nranker: {{model: {tiny_bi_encoder}, device: cpu}}\ncandidates: {{source: run, run: {run}}}\n"
                 f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\ntasks: {{t2: {{enabled: false}}}}\n")
    results, _ = run_audit(load_config(p), out_dir=tmp_path / "o", progress=False, render_html=False)
    t1 = results["tasks"]["t1"]["result"]
    assert pivot(task_records(t1), "system", "measure")["neural"]["R@100"] == {"q1": 0.5, "q2": 1.0, "q3": 0.5, "q4": 0.5}


def test_user_lexicon_is_used_and_recorded(tmp_path, tiny_dataset, tiny_bi_encoder):
    lex = tmp_path / "my-lexicon.tsv"
    lex.write_text('#robustrank-lexicon\t1\t{"name": "mine", "version": "0"}\n'
                   "transistor\ttriode:0.9\ncomputers\tmachines:0.8\nindexing\tcataloguing:0.7\nliquids\tfluids:0.9\n")
    p = tmp_path / "m.yaml"
    p.write_text(f"name: lex\nlexicon: {lex}\nranker: {{model: {tiny_bi_encoder}, device: cpu}}\n"
                 f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\n"
                 "tasks: {t1: {enabled: false}, t2: {variations: [{name: synonym, rate: 1.0}], slices: false}}\n")
    results, _ = run_audit(load_config(p), out_dir=tmp_path / "o", progress=False, render_html=False)
    assert results["lexicon"]["name"] == "mine" and results["lexicon"]["path"] == str(lex)
    variants = results["tasks"]["t2"]["result"]["variations"]["synonym"]["variants"]
    assert variants["q3"]["text"] == "triode amplifier noise"
    assert variants["q2"]["text"] == "how are machines used to design filters"
