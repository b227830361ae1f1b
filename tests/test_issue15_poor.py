"""Issue 15, "Poorly handled": each case ends with one line on stderr, the documented exit code
(see robustrank.cli) and no traceback."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from robustrank.cli import EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, EXIT_TASK_ERRORS, main
from robustrank.errors import ConfigError, DataError

FULL = Path(__file__).parent / "fixtures" / "results" / "full.json"


def cli(*args: str):
    """Run the CLI in-process; return (exit code, combined output)."""
    r = CliRunner().invoke(main, ["-q", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.output


def one_line_error(out: str) -> str:
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if ln.startswith(("error:", "internal error:"))]
    assert len(lines) == 1, out
    return lines[0]


def _cfg(tmp_path: Path, dataset: Path, ranker: str = "{type: callable, callable: 'poor_ranker:score'}", body: str = "return [float(len(d) % 7) for d in docs]", extra: str = "") -> Path:
    (tmp_path / "poor_ranker.py").write_text(f"def score(query, docs):\n    {body}\n")
    p = tmp_path / "m.yaml"
    p.write_text(f"name: poor\nranker: {ranker}\ncandidates: {{depth: 10}}\ndatasets: {{in_domain: {{path: {dataset}}}}}\n"
                 f"tasks: {{t1: {{bootstrap_samples: 50}}, t2: {{enabled: false}}, t3: {{enabled: false}}}}\n"
                 f"output: {{dir: {tmp_path / 'out'}, html: false}}\n{extra}")
    return p


@pytest.fixture()
def mods(tmp_path, monkeypatch):
    import sys

    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("poor_ranker", None)


# -- exit codes of the audit -------------------------------------------------------------------------
def test_broken_in_domain_data_with_callable_ranker_exits_2(tmp_path, tiny_dataset, mods):
    (tiny_dataset / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\nnot json\n')
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)))
    assert code == EXIT_INPUT_ERROR
    assert "corpus.jsonl:2: invalid JSON" in one_line_error(out)


def test_audit_with_an_errored_task_exits_3(tmp_path, tiny_dataset, mods):
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset, body="raise RuntimeError('boom')")))
    assert code == EXIT_TASK_ERRORS
    assert "tasks with errors (recorded in results.json): t1" in out
    assert json.loads((tmp_path / "out" / "results.json").read_text())["tasks"]["t1"]["status"] == "error"


def test_nan_score_names_query_and_document(tmp_path, tiny_dataset, mods):
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset, body="return [float('nan') if 'microwave' in d else 1.0 for d in docs]")))
    assert code == EXIT_TASK_ERRORS
    err = json.loads((tmp_path / "out" / "results.json").read_text())["tasks"]["t1"]["error"]
    assert "returned nan for query" in err and "document 'd" in err


def test_inf_score_from_http_ranker_names_query_and_document(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from robustrank.pipeline import rerank
    from robustrank.ranked import NonFiniteScore
    from robustrank.rankers.http import HTTPRanker, HTTPRankerOptions
    from robustrank.records import Document

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = len(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["documents"])
            payload = ('{"scores": [' + ", ".join(["Infinity"] + ["1.0"] * (n - 1)) + "]}").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = HTTPRanker(HTTPRankerOptions(url=f"http://127.0.0.1:{srv.server_address[1]}/", retries=0))
        docs = {"d1": Document("d1", "a"), "d2": Document("d2", "b")}
        with pytest.raises(NonFiniteScore, match=r"returned inf for query 'q7', document 'd1'"):
            rerank(r, {"q7": "x"}, {"q7": [("d1", 0), ("d2", 0)]}, docs)
    finally:
        srv.shutdown()
        srv.server_close()


def test_queries_without_any_qrels_exit_2(tmp_path, tiny_dataset, mods):
    (tiny_dataset / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n")
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)))
    assert code == EXIT_INPUT_ERROR
    assert "no query has a relevance judgment" in one_line_error(out)


# -- unreadable / hostile inputs ----------------------------------------------------------------------
def test_non_utf8_config_policy_and_results(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    code, out = cli("audit", str(bad))
    assert code == EXIT_INPUT_ERROR and "m.yaml:1: not UTF-8" in one_line_error(out)
    res = tmp_path / "r.json"
    res.write_bytes(b'{"schema_version": "1.0", "tasks": {}, "name": "\xff"}')
    code, out = cli("gate", str(res))
    assert code == EXIT_INPUT_ERROR and "r.json:1: not UTF-8" in one_line_error(out)
    good = tmp_path / "good.json"
    good.write_bytes(FULL.read_bytes())
    code, out = cli("gate", str(good), "--policy", str(bad))
    assert code == EXIT_INPUT_ERROR and "m.yaml:1: not UTF-8" in one_line_error(out)
    code, out = cli("report", str(res))
    assert code == EXIT_INPUT_ERROR and "not UTF-8" in one_line_error(out)


def test_deeply_nested_results_json(tmp_path):
    p = tmp_path / "r.json"
    p.write_text('{"schema_version": "1.0", "tasks": {}, "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    code, out = cli("gate", str(p))
    assert code == EXIT_INPUT_ERROR and "nested too deeply" in one_line_error(out)


def test_gate_requires_schema_version_and_tasks(tmp_path):
    for doc, msg in (({"tasks": {}}, "no schema_version"), ({"schema_version": "1.0"}, "no tasks mapping"), ({"schema_version": "1.0", "tasks": []}, "no tasks mapping")):
        p = tmp_path / "r.json"
        p.write_text(json.dumps(doc))
        code, out = cli("gate", str(p))
        assert code == EXIT_INPUT_ERROR and msg in one_line_error(out)


def test_report_on_tampered_field_types(tmp_path):
    doc = json.loads(FULL.read_text())
    doc["tasks"]["t1"]["result"]["measures"] = "not a mapping"
    doc["tasks"]["t2"]["result"] = 42
    doc["datasets"] = [1, 2]
    p = tmp_path / "results.json"
    p.write_text(json.dumps(doc))
    code, out = cli("report", str(p))
    assert code in (0, EXIT_INPUT_ERROR), out
    assert "Traceback" not in out
    if code:
        one_line_error(out)


def test_checkpoint_record_lacking_fields(tmp_path, tiny_dataset, mods):
    cfg = _cfg(tmp_path, tiny_dataset)
    assert cli("audit", str(cfg))[0] == 0
    ck = tmp_path / "out" / "checkpoint.jsonl"
    lines = ck.read_text().splitlines()
    lines.insert(2, json.dumps({"task": "rerank", "result": []}))
    ck.write_text("\n".join(lines) + "\n")
    code, out = cli("audit", str(cfg), "--resume")
    assert code == EXIT_INPUT_ERROR and "checkpoint.jsonl:3: checkpoint record lacks task, unit or result" in one_line_error(out)


def test_read_only_output_folder(tmp_path, tiny_dataset, mods, monkeypatch):
    import errno

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:  # root ignores permissions: make the folder behave read-only
        real_mkdir = Path.mkdir

        def mkdir(self, *a, **k):
            if str(self).startswith(str(ro) + os.sep):
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_mkdir(self, *a, **k)

        monkeypatch.setattr(Path, "mkdir", mkdir)
    try:
        code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)), "--out", str(ro / "x"))
    finally:
        ro.chmod(0o700)
    assert code == EXIT_INPUT_ERROR and "Permission denied" in one_line_error(out)


def test_output_path_not_a_folder_and_too_long(tmp_path, tiny_dataset, mods):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)), "--out", str(blocker / "sub"))
    assert code == EXIT_INPUT_ERROR and str(blocker) in one_line_error(out)
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)), "--out", str(tmp_path / ("n" * 300)))
    assert code == EXIT_INPUT_ERROR and "too long" in one_line_error(out)


def test_disk_full_writing_results_is_one_line(tmp_path, tiny_dataset, mods, monkeypatch):
    import errno

    import robustrank.audit as audit_mod

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(audit_mod, "write_json_atomic", full)
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)))
    line = one_line_error(out)
    assert code == EXIT_INPUT_ERROR and "No space left on device" in line and "--resume" in line
    assert len((tmp_path / "out" / "checkpoint.jsonl").read_text().splitlines()) > 1  # the work is kept


@pytest.mark.parametrize("damage", ["empty-config", "truncated-weights"])
def test_broken_model_folder(tmp_path, tiny_dataset, tiny_bi_encoder, damage):
    model = tmp_path / "model"
    shutil.copytree(tiny_bi_encoder, model)
    if damage == "empty-config":
        (model / "config.json").write_text("{}")
    else:
        w = model / "model.safetensors"
        w.write_bytes(w.read_bytes()[:1000])
    cfg = _cfg(tmp_path, tiny_dataset, ranker=f"{{type: bi-encoder, model: {model}, device: cpu}}")
    code, out = cli("audit", str(cfg))
    assert code == EXIT_INPUT_ERROR and f"ranker: cannot load {model}" in one_line_error(out)


def test_internal_error_is_one_line_exit_4(tmp_path, tiny_dataset, mods, monkeypatch):
    import robustrank.audit as audit_mod

    def bug(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(audit_mod, "run_audit", bug)
    code, out = cli("audit", str(_cfg(tmp_path, tiny_dataset)))
    assert code == EXIT_INTERNAL_ERROR and "internal error: ZeroDivisionError: a bug" in one_line_error(out)


# -- data files ------------------------------------------------------------------------------------------
def test_corrupted_gzip_names_the_file(tmp_path, tiny_dataset):
    from robustrank.data.beir import load_beir

    raw = gzip.compress((tiny_dataset / "corpus.jsonl").read_bytes())
    (tiny_dataset / "corpus.jsonl").unlink()
    bad = tiny_dataset / "corpus.jsonl.gz"
    bad.write_bytes(raw[:20] + bytes(b ^ 0x5A for b in raw[20:60]) + raw[60:])
    with pytest.raises(DataError, match=r"corpus.jsonl.gz: cannot decode"):
        load_beir(tiny_dataset, name="t")
    bad.write_bytes(raw[: len(raw) // 2])  # truncated
    with pytest.raises(DataError, match=r"corpus.jsonl.gz: cannot decode"):
        load_beir(tiny_dataset, name="t")


@pytest.mark.parametrize("rel", ["100000000000000000000000", "-99999999999"])
def test_relevance_out_of_int_range(tmp_path, tiny_dataset, rel):
    from robustrank.data.beir import load_beir
    from robustrank.data.trec import read_trec_qrels

    q = tiny_dataset / "qrels" / "test.tsv"
    q.write_text(q.read_text() + f"q1\td2\t{rel}\n")
    with pytest.raises(DataError, match=r"test.tsv:\d+: relevance .* is out of range"):
        load_beir(tiny_dataset, name="t")
    t = tmp_path / "qrels.txt"
    t.write_text(f"q1 0 d1 1\nq1 0 d2 {rel}\n")
    with pytest.raises(DataError, match=r"qrels.txt:2: relevance .* is out of range"):
        read_trec_qrels(t)


def test_lone_surrogate_names_file_and_line(tiny_dataset):
    from robustrank.data.beir import load_beir

    c = tiny_dataset / "corpus.jsonl"
    c.write_text(c.read_text() + '{"_id": "dz", "text": "bad \\ud800 text"}\n')
    n = len(c.read_text().splitlines())
    with pytest.raises(DataError, match=rf"corpus.jsonl:{n}: text holds a lone surrogate"):
        load_beir(tiny_dataset, name="t")
    c.write_text(c.read_text().replace("\\ud800", "\\ud83d\\ude00"))  # a valid pair is fine
    assert load_beir(tiny_dataset, name="t").documents["dz"].text == "bad \U0001F600 text"


# -- config limits ------------------------------------------------------------------------------------------
def test_bootstrap_samples_upper_bound():
    from robustrank.config import parse_config

    with pytest.raises(ConfigError, match=r"m.yaml: tasks.t1.bootstrap_samples: Input should be less than or equal to 100000"):
        parse_config({"name": "x", "ranker": {"type": "bm25"}, "datasets": {"in_domain": {"path": "d"}}, "tasks": {"t1": {"bootstrap_samples": 10**9}}}, source="m.yaml")


def test_duplicate_yaml_keys_rejected(tmp_path):
    from robustrank.config import load_config
    from robustrank.gate.policy import policy_from_yaml

    p = tmp_path / "m.yaml"
    p.write_text("name: a\nseed: 1\nname: b\n")
    with pytest.raises(ConfigError, match=r"m.yaml:3: YAML error: duplicate key 'name' \(first at line 1\)"):
        load_config(p)
    p.write_text("gate:\n  conditions: []\n  conditions: [{check: 't1.x >= 1'}]\n")
    with pytest.raises(ConfigError, match=r"m.yaml:3: YAML error: duplicate key 'conditions'"):
        policy_from_yaml(p)


def test_deep_yaml_rejected(tmp_path):
    from robustrank.config import load_config

    p = tmp_path / "m.yaml"
    p.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"m.yaml.*(nesting|YAML)"):
        load_config(p)
