"""Regression tests for the defects found by hostile and careless use (issue 15, "Broken").

Each test is named after the item it covers; each fails on the code before the fix.
"""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from robustrank.audit import run_audit
from robustrank.checkpoint import CheckpointMismatch
from robustrank.config import load_config, parse_config
from robustrank.errors import ConfigError, PluginError
from robustrank.rankers.http import HTTPRanker, HTTPRankerOptions, RemoteRankerError

OVERLAP = '''
def score(query, docs):
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.001 * (len(d) % 5) for d in docs]
'''


def audit_config(tmp_path: Path, dataset: Path, *, ranker: str = "{type: callable, callable: 'issue15_ranker:score'}", extra: str = "", name: str = "h15") -> Path:
    """A fast config: a callable ranker on the tiny collection, T1 only."""
    (tmp_path / "issue15_ranker.py").write_text(OVERLAP)
    p = tmp_path / "m.yaml"
    p.write_text(
        f"name: {name}\nseed: 3\nranker: {ranker}\ncandidates: {{depth: 10}}\n"
        f"datasets: {{in_domain: {{path: {dataset}}}}}\n"
        f"tasks: {{t1: {{bootstrap_samples: 50}}, t2: {{enabled: false}}, t3: {{enabled: false}}}}\n{extra}"
    )
    return p


@pytest.fixture()
def ranker_path(tmp_path, monkeypatch):
    import sys

    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("issue15_ranker", None)


# -- local HTTP servers (127.0.0.1 only) ------------------------------------------------------------

class _Server:
    def __init__(self, handler_body):
        outer = self
        self.seen_headers: list[dict[str, str]] = []
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                outer.hits += 1
                outer.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                handler_body(self, body, outer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _answer(h, body, scores=None):
    payload = json.dumps({"scores": scores if scores is not None else [1.0] * len(body.get("documents", []))}).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(payload)))
    h.end_headers()
    h.wfile.write(payload)


@pytest.fixture()
def servers():
    made = []

    def make(fn):
        s = _Server(fn)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# 1 ------------------------------------------------------------------------------------------------
def test_item01_http_redirect_refused_and_credentials_never_forwarded(servers):
    other = servers(lambda h, body, srv: _answer(h, body, [99.0] * len(body["documents"])))

    def redirect_to(target):
        def fn(h, body, srv):
            h.send_response(307)
            h.send_header("Location", target)
            h.send_header("Content-Length", "0")
            h.end_headers()
        return fn

    cross = servers(redirect_to(other.base + "/score"))
    r = HTTPRanker(HTTPRankerOptions(url=cross.base + "/score", retries=2, headers={"Authorization": "Bearer SECRET"}))
    with pytest.raises(RemoteRankerError, match=r"redirect.*refused"):
        r.score("q", ["a", "b"])
    assert other.hits == 0  # the other host never saw the request (nor the token)
    assert cross.hits == 1  # a refused redirect is not retried

    # same-origin allowed only when configured, and without the configured headers
    def same_origin(h, body, srv):
        if h.path == "/old":
            h.send_response(308)
            h.send_header("Location", "/new")
            h.send_header("Content-Length", "0")
            h.end_headers()
        else:
            _answer(h, body)

    s = servers(same_origin)
    r2 = HTTPRanker(HTTPRankerOptions(url=s.base + "/old", redirects="same-origin", headers={"Authorization": "Bearer SECRET"}))
    assert list(r2.score("q", ["a", "b"])) == [1.0, 1.0]
    assert s.seen_headers[0].get("authorization") == "Bearer SECRET"
    assert "authorization" not in s.seen_headers[1]  # credentials never follow a redirect
    assert r2.describe()["redirects_followed"] == 1
    # a same-origin policy still refuses another origin
    r3 = HTTPRanker(HTTPRankerOptions(url=cross.base + "/score", redirects="same-origin", retries=0))
    with pytest.raises(RemoteRankerError, match="same origin"):
        r3.score("q", ["a"])
    assert other.hits == 0


# 2 ------------------------------------------------------------------------------------------------
def test_item02_resume_refuses_edited_corpus(tmp_path, tiny_dataset, ranker_path):
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    corpus = tiny_dataset / "corpus.jsonl"
    corpus.write_text(corpus.read_text().replace("microwave", "optical"))
    with pytest.raises(CheckpointMismatch, match=r"the data \(in_domain:corpus.jsonl\)"):
        run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False, resume=True)


def test_item02_resume_refuses_changed_callable_code(tmp_path, tiny_dataset, ranker_path):
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    first, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    assert first["fingerprints"]["model"]  # the callable's source is hashed
    (tmp_path / "issue15_ranker.py").write_text(OVERLAP.replace("0.001", "0.002"))
    with pytest.raises(CheckpointMismatch, match="the model or ranker code"):
        run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False, resume=True)


def test_item02_resume_refuses_other_model_weights(tmp_path):
    from robustrank.fingerprint import audit_fingerprint, describe_difference

    cfg = parse_config({"name": "x", "ranker": {"type": "bm25"}, "datasets": {"in_domain": {"path": str(tmp_path)}}}, base_dir=tmp_path)
    a = audit_fingerprint(cfg, model={"model.safetensors": "aa"})
    b = audit_fingerprint(cfg, model={"model.safetensors": "bb"})
    assert a["digest"] != b["digest"]
    assert describe_difference(a["parts"], b["parts"]) == "the model or ranker code"


def test_item02_performance_knobs_leave_the_fingerprint(tmp_path, tiny_dataset, ranker_path):
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    fresh, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    moved = cfg.read_text().replace(
        "ranker: {type: callable, callable: 'issue15_ranker:score'}",
        "ranker: {type: callable, callable: 'issue15_ranker:score', batch_size: 3, device: cpu, dtype: bfloat16, cache_size: 0}\n"
        "executor: {type: in-process}\noutput: {dir: elsewhere}",
    )
    cfg.write_text(moved)
    resumed, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False, resume=True)
    assert resumed["checkpoint"]["resumed_units"] > 0
    assert resumed["metrics"] == fresh["metrics"]


# 3 ------------------------------------------------------------------------------------------------
def test_item03_gate_baseline_with_differently_named_data_is_error():
    from robustrank.config.gate import GateConfig
    from robustrank.gate.evaluate import evaluate_gate

    def doc(ds, value):
        return {"schema_version": "1.0", "name": "x", "tasks": {"t1": {"status": "ok", "result": {}}},
                "metrics": {"t1.nDCG@10.mean": value}, "fingerprints": {"datasets": {ds: {"f": "h"}}}}

    gate = GateConfig.model_validate({"conditions": [{"check": "delta(t1.nDCG@10.mean) >= -0.01"}], "require_same_data": True})
    res = evaluate_gate(gate, doc("vaswani", 0.5), baseline=doc("cranfield", 0.5))
    assert res.outcome == "ERROR" and res.exit_code == 1
    assert "different data" in res.conditions[0].message


# 4 ------------------------------------------------------------------------------------------------
def test_item04_http_slow_drip_is_cut_at_the_deadline(servers):
    def drip(h, body, srv):
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        try:
            for _ in range(1000):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.05)  # each read is fast (< timeout); the whole answer takes 50 s
        except OSError:
            pass

    s = servers(drip)
    r = HTTPRanker(HTTPRankerOptions(url=s.base + "/score", timeout=1.0, deadline=1.0, retries=0))
    t0 = time.monotonic()
    with pytest.raises(RemoteRankerError, match="deadline"):
        r.score("q", ["a"])
    assert time.monotonic() - t0 < 5


def test_item04_http_response_size_is_capped(servers):
    def huge(h, body, srv):
        h.send_response(200)
        h.end_headers()  # no Content-Length: the size is only known by reading
        try:
            block = b"[" + b"1.0," * 16384
            for _ in range(400):  # ~26 MB if read to the end
                h.wfile.write(block)
        except OSError:
            pass

    s = servers(huge)
    r = HTTPRanker(HTTPRankerOptions(url=s.base + "/score", max_response_bytes=100_000, retries=3))
    with pytest.raises(RemoteRankerError, match="max_response_bytes"):
        r.score("q", ["a"])
    assert s.hits == 1  # not retried

    def declared(h, body, srv):
        h.send_response(200)
        h.send_header("Content-Length", str(400 * 1024 * 1024))
        h.end_headers()

    s2 = servers(declared)
    with pytest.raises(RemoteRankerError, match="exceeds options.max_response_bytes"):
        HTTPRanker(HTTPRankerOptions(url=s2.base + "/score", retries=0)).score("q", ["a"])


# 5 ------------------------------------------------------------------------------------------------
def test_item05_second_audit_on_same_folder_names_the_holder(tmp_path, tiny_dataset, ranker_path):
    import os

    from robustrank.outdir import OutputBusy, OutputLock

    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    out.mkdir()
    with OutputLock(out):  # another audit holds the folder
        with pytest.raises(OutputBusy, match=rf"in use by process {os.getpid()}"):
            run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    assert not (out / "checkpoint.jsonl").exists()
    results, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)  # free again
    assert results["tasks"]["t1"]["status"] == "ok"


# 6 ------------------------------------------------------------------------------------------------
def test_item06_failed_start_keeps_the_checkpoint(tmp_path, tiny_dataset, ranker_path):
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    ckpt = out / "checkpoint.jsonl"
    before = ckpt.read_text()
    assert len(before.splitlines()) > 2
    typo = cfg.read_text().replace("issue15_ranker:score", "issue15_ranker:scroe")
    cfg.write_text(typo)
    with pytest.raises(ConfigError, match="ranker.callable"):
        run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    assert ckpt.read_text() == before  # untouched by the failed start


def test_item06_fresh_start_keeps_the_old_checkpoint_aside(tmp_path, tiny_dataset, ranker_path):
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    before = (out / "checkpoint.jsonl").read_text()
    run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)  # no --resume
    kept = list(out.glob("checkpoint.previous-*.jsonl"))
    assert len(kept) == 1 and kept[0].read_text() == before


# 7 ------------------------------------------------------------------------------------------------
ALIAS_BOMB = """
name: bomb
ranker:
  type: http
  options:
    a: &a [x, x, x, x, x, x, x, x, x, x]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
    url: http://127.0.0.1:1/
datasets: {in_domain: {path: data}}
"""


def test_item07_yaml_alias_bomb_is_rejected_quickly(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(ALIAS_BOMB)
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=r"m.yaml:\d+: YAML error: document expands to more than"):
        load_config(p)
    assert time.monotonic() - t0 < 5


def test_item07_free_form_options_from_code_are_bounded(tmp_path):
    a = ["x"] * 10
    for _ in range(7):
        a = [a] * 10  # 10**8 leaves when expanded, a few hundred objects in memory
    with pytest.raises(ConfigError, match=r"ranker.options: .*too large"):
        parse_config({"name": "x", "ranker": {"type": "http", "options": {"bomb": a}}, "datasets": {"in_domain": {"path": "d"}}})


# 8 ------------------------------------------------------------------------------------------------
def test_item08_plugin_calling_sys_exit_on_import_is_a_plugin_error(tmp_path, monkeypatch):
    from robustrank.plugins import load_plugin

    site = tmp_path / "site"
    info = site / "exiting_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: exiting-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[robustrank.rankers]\nexiting = exiting_mod:Ranker\n")
    (site / "exiting_mod.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError, match=r"ranker plugin 'exiting' from exiting-plugin failed to load .*sys.exit\(0\)"):
        load_plugin("ranker", "exiting")


def test_item08_callable_module_calling_sys_exit_is_a_config_error(tmp_path, monkeypatch):
    from robustrank.rankers.callable import import_object

    (tmp_path / "exit_on_import.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"sys.exit\(0\)"):
        import_object("exit_on_import:score", key="ranker.callable")


# 9 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [".", "..", "..."])
def test_item09_dots_only_name_is_rejected(name):
    with pytest.raises(ConfigError, match=r"name: .*dots only"):
        parse_config({"name": name, "ranker": {"type": "bm25"}, "datasets": {"in_domain": {"path": "d"}}}, source="m.yaml")


# 10 -----------------------------------------------------------------------------------------------
def test_item10_junit_with_control_characters_is_well_formed():
    from robustrank.config.gate import GateConfig
    from robustrank.gate.evaluate import evaluate_gate
    from robustrank.gate.output import gate_junit

    gate = GateConfig.model_validate({"conditions": [{"name": "bad\x01name\x1b[31m\x00", "check": "t1.x >= 0.5"}]})
    doc = {"schema_version": "1.0", "name": "n\x07", "tasks": {"t1": {"status": "error", "error": "boom\x0b\x0c"}}, "metrics": {}}
    xml = gate_junit(evaluate_gate(gate, doc))
    root = ET.fromstring(xml.encode("utf-8"))  # raises on ill-formed XML
    case = root.find(".//testcase")
    assert case.get("name") == "bad\\x01name\\x1b[31m\\x00"


# 11 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--json", "--markdown", "--junit"])
def test_item11_gate_refuses_to_overwrite_its_input(tmp_path, flag):
    from click.testing import CliRunner

    from robustrank.cli import main

    src = Path(__file__).parent / "fixtures" / "results" / "full.json"
    res = tmp_path / "results.json"
    res.write_bytes(src.read_bytes())
    before = res.read_bytes()
    r = CliRunner().invoke(main, ["gate", str(res), flag, str(tmp_path / "." / "results.json")])
    assert r.exit_code == 2, r.output
    assert "refusing to overwrite" in r.output
    assert res.read_bytes() == before


# 12 -----------------------------------------------------------------------------------------------
def test_item12_long_space_run_parses_fast():
    from robustrank.gate.expr import parse_condition

    t0 = time.monotonic()
    with pytest.raises(ValueError, match="longer than"):
        parse_condition("t1.x" + " " * 60_000 + "y >= 1")
    with pytest.raises(ValueError):
        parse_condition("delta(t1.x" + " " * 980 + "y")  # no operator
    assert parse_condition("t1.x" + " " * 980 + ">= 1").value == 1.0
    assert time.monotonic() - t0 < 0.5


def test_item12_long_condition_in_tampered_results_is_one_line_error(tmp_path):
    from robustrank.gate.policy import check_results_file

    src = json.loads((Path(__file__).parent / "fixtures" / "results" / "full.json").read_text())
    src["config"]["gate"] = {"conditions": [{"check": "t1.x" + " " * 60_000 + "y >= 1"}]}
    p = tmp_path / "r.json"
    p.write_text(json.dumps(src))
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match="longer than"):
        check_results_file(p)
    assert time.monotonic() - t0 < 2


# 13 -----------------------------------------------------------------------------------------------
def test_item13_stored_lists_are_the_evaluated_order():
    """AP of a list with ties depends on the tie order; the stored order must be the one
    pytrec_eval evaluates, so re-evaluating the stored positions gives the same numbers."""
    from robustrank.metrics import evaluate
    from robustrank.pipeline import rerank
    from robustrank.ranked import TIE_RULE
    from robustrank.records import Document

    class Flat:
        name = "flat"

        def score(self, query, docs):
            return [1.0 if "x" in d else 0.5 for d in docs]

    docs = {d: Document(d, "x" if d in ("a", "c", "e") else "y") for d in "abcdef"}
    run = rerank(Flat(), {"q": "x"}, {"q": [(d, 0.0) for d in "abcdef"]}, docs)
    assert [d for d, _ in run["q"]] == ["e", "c", "a", "f", "d", "b"]
    qrels = {"q": {"a": 1, "d": 1}}
    by_score = evaluate(run, qrels, ["AP@100", "nDCG@10"], ["q"])
    positional = {"q": [(d, float(-i)) for i, (d, _) in enumerate(run["q"])]}  # no ties left
    assert evaluate(positional, qrels, ["AP@100", "nDCG@10"], ["q"]) == by_score
    assert "descending" in TIE_RULE


def test_item13_results_say_which_tie_rule(tmp_path, tiny_dataset, ranker_path):
    results, _ = run_audit(load_config(audit_config(tmp_path, tiny_dataset)), out_dir=tmp_path / "o", progress=False, render_html=False)
    assert results["ranking"]["tie_rule"].startswith("score descending, ties by doc_id descending")


def test_item13_bm25_cut_is_deterministic_with_ties():
    from robustrank.rankers.bm25 import BM25Ranker
    from robustrank.records import Document

    docs = {f"d{i}": Document(f"d{i}", "alpha beta") for i in range(6)}
    docs.update({f"z{i}": Document(f"z{i}", f"gamma delta{i}") for i in range(10)})
    hits = BM25Ranker(docs).retrieve("alpha", 3)
    assert [d for d, _ in hits] == ["d5", "d4", "d3"]  # all six tie: the evaluation order decides


# 14 -----------------------------------------------------------------------------------------------
def test_item14_output_dir_is_relative_to_the_config_file(tmp_path, tiny_dataset, ranker_path, monkeypatch):
    cfg = audit_config(tmp_path, tiny_dataset, extra="output: {dir: 'rel/{name}', html: false}\n")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _, path = run_audit(load_config(cfg), progress=False)
    assert path == tmp_path / "rel" / "h15" / "results.json"
    assert not (elsewhere / "rel").exists()


# 15 -----------------------------------------------------------------------------------------------
def test_item15_dollar_math_in_dataset_name_keeps_all_figures(results):
    import copy

    from robustrank.report.view import task_views

    doc = copy.deepcopy(results)
    t3 = doc["tasks"]["t3"]["result"]
    name = next(iter(t3["domains"]))
    t3["domains"] = {"$\\frac$" + name: t3["domains"][name]}
    views = task_views(doc, figures=True)
    figs = {key: v.figures for key, v in views.items()}
    assert figs["t3"] and all(figs["t3"].values())
    assert figs.get("t4") and all(figs["t4"].values())
    assert figs.get("certify") and all(figs["certify"].values())
    assert "\\frac" in next(iter(figs["t3"].values()))


def test_item15_broken_attack_plugin_is_one_error_row(tmp_path, tiny_dataset, ranker_path, tiny_bi_encoder, monkeypatch):
    site = tmp_path / "site"
    info = site / "broken_attack-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-attack\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[robustrank.attacks]\nbroken_attack = broken_attack_mod:Attack\n")
    (site / "broken_attack_mod.py").write_text("raise ImportError('missing dependency')\n")
    monkeypatch.syspath_prepend(str(site))
    t4 = (f"  t4:\n    enabled: true\n    targets: {{rank_ranges: [[3, 10]], per_query: 1, queries: 2}}\n"
          f"    budget: {{max_words: 2, max_victim_queries: 4}}\n    similarity_model: {tiny_bi_encoder}\n"
          f"    fluency: {{order: 2}}\n    injection: {{enabled: false}}\n"
          f"    attacks:\n      - name: broken_attack\n      - name: keyword_stuffing\n        options: {{mode: prepend}}\n")
    cfg = audit_config(tmp_path, tiny_dataset)
    text = cfg.read_text().replace("tasks: {t1: {bootstrap_samples: 50}, t2: {enabled: false}, t3: {enabled: false}}\n",
                                   "tasks:\n  t1: {enabled: false}\n  t2: {enabled: false}\n  t3: {enabled: false}\n" + t4)
    cfg.write_text(text)
    results, _ = run_audit(load_config(cfg), out_dir=tmp_path / "o", progress=False, render_html=True)
    task = results["tasks"]["t4"]
    assert task["status"] == "ok", task.get("error")
    attacks = task["result"]["attacks"]
    assert attacks["broken_attack"]["status"] == "error" and "missing dependency" in attacks["broken_attack"]["error"]
    assert attacks["keyword_stuffing"]["systems"]["neural"]["status"] == "ok"
    assert "missing dependency" in (tmp_path / "o" / "report.html").read_text()


def test_item15_disk_full_while_checkpointing_keeps_finished_results(tmp_path, tiny_dataset, ranker_path, monkeypatch):
    """A failing writer (ENOSPC after a few records): the audit still writes results.json with
    every task's results, and the checkpoint on disk stays a valid, resumable file."""
    import errno

    import robustrank.checkpoint as ckmod

    real_open = open
    state = {"writes": 0}

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, s):
            state["writes"] += 1
            if state["writes"] > 4:
                self.fh.write(s[: len(s) // 2])  # a torn record, as on a real full disk
                self.fh.flush()
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(s)

        def __getattr__(self, k):
            return getattr(self.fh, k)

    def fake_open(path, mode="r", *a, **kw):
        fh = real_open(path, mode, *a, **kw)
        return Full(fh) if str(path).endswith("checkpoint.jsonl") and mode in ("w", "a") else fh

    monkeypatch.setattr(ckmod, "open", fake_open, raising=False)
    cfg = audit_config(tmp_path, tiny_dataset)
    out = tmp_path / "o"
    results, path = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False)
    assert results["tasks"]["t1"]["status"] == "ok"
    assert "No space left" in results["checkpoint"]["write_error"]
    assert json.loads(path.read_text())["tasks"]["t1"]["status"] == "ok"
    lines = (out / "checkpoint.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x) for x in lines)  # no torn record left behind
    monkeypatch.undo()
    resumed, _ = run_audit(load_config(cfg), out_dir=out, progress=False, render_html=False, resume=True)
    assert resumed["checkpoint"]["resumed_units"] == 3
    assert resumed["metrics"] == results["metrics"]


def test_item08_task_plugin_calling_sys_exit_is_recorded_as_task_error(tmp_path, tiny_dataset, ranker_path, monkeypatch):
    import robustrank.plugins as plugins
    from robustrank.tasks.iid import T1Config

    class Exiting:
        title = "exits"
        Options = T1Config

        def __init__(self, options):
            pass

        def run(self, ctx):
            raise SystemExit(0)

    real = plugins.load_plugin

    def fake(kind, name, **kw):
        if (kind, name) == ("task", "t1"):
            return Exiting, plugins.PluginInfo(kind, name, "x:Exiting", "tests", "0")
        return real(kind, name, **kw)

    monkeypatch.setattr(plugins, "load_plugin", fake)
    results, path = run_audit(load_config(audit_config(tmp_path, tiny_dataset)), out_dir=tmp_path / "o", progress=False, render_html=False)
    assert results["tasks"]["t1"]["status"] == "error" and "SystemExit" in results["tasks"]["t1"]["error"]
    assert path.exists()
