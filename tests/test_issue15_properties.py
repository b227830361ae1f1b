"""Property-based hostile-input tests (hypothesis): config, data files, results.json and gate
expressions. Whatever the input, the outcome is a value or a one-line RobustRankError (the CLI's
exit 2), never another exception, and each call finishes in bounded time."""

from __future__ import annotations

import json
import string
import time
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from robustrank.errors import RobustRankError  # noqa: E402

FAST = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True), st.text(max_size=20))
json_like = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)), max_leaves=20)


def _no_traceback_errors(fn, *args, **kw):
    t0 = time.monotonic()
    try:
        fn(*args, **kw)
    except RobustRankError as exc:
        assert str(exc).strip(), "an error message must say something"
    assert time.monotonic() - t0 < 2.0


# -- config ----------------------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=300))
def test_any_bytes_as_model_yaml(tmp_path_factory, data):
    from robustrank.config import load_config

    p = tmp_path_factory.mktemp("cfg") / "m.yaml"
    p.write_bytes(data)
    _no_traceback_errors(load_config, p)


SECTIONS = ["name", "seed", "measures", "max_queries", "ranker", "candidates", "datasets", "tasks", "gate", "output", "executor", "lexicon"]


@FAST
@given(st.dictionaries(st.sampled_from(SECTIONS), json_like, max_size=6))
def test_any_structure_as_model_yaml(tmp_path_factory, doc):
    from robustrank.config import load_config

    base = {"name": "x", "ranker": {"type": "bm25"}, "datasets": {"in_domain": {"path": "d"}}}
    base.update(doc)
    p = tmp_path_factory.mktemp("cfg") / "m.yaml"
    try:
        p.write_text(yaml.safe_dump(base, allow_unicode=True))
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    _no_traceback_errors(load_config, p)


# -- data files ------------------------------------------------------------------------------------------
jsonl_line = st.one_of(
    st.text(max_size=40),
    st.builds(lambda d: json.dumps(d), st.dictionaries(st.sampled_from(["_id", "text", "title", "x"]), scalars, max_size=4)),
    st.just('{"_id": "d9", "text": "\\ud800"}'),
)


@FAST
@given(st.lists(jsonl_line, max_size=6), st.lists(jsonl_line, max_size=4), st.lists(st.text(alphabet=string.printable, max_size=30), max_size=5), st.booleans())
def test_any_beir_files(tmp_path_factory, corpus, queries, qrels, gz):
    import gzip

    from robustrank.data.beir import load_beir

    d = tmp_path_factory.mktemp("beir")
    (d / "qrels").mkdir()

    def put(name: str, lines: list[str]) -> None:
        raw = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
        if gz:
            (d / f"{name}.gz").write_bytes(gzip.compress(raw)[: max(10, len(raw))])
        else:
            (d / name).write_bytes(raw)

    put("corpus.jsonl", corpus)
    put("queries.jsonl", queries)
    put("qrels/test.tsv", qrels)
    _no_traceback_errors(load_beir, d, name="h")


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_as_trec_files(tmp_path_factory, data):
    from robustrank.data.trec import read_trec_qrels, read_trec_run, read_trec_topics

    p = tmp_path_factory.mktemp("trec") / "f.txt"
    p.write_bytes(data)
    for fn in (read_trec_qrels, read_trec_run, read_trec_topics):
        _no_traceback_errors(fn, p)


# -- results.json and the gate -----------------------------------------------------------------------------
CONDITIONS = st.lists(st.fixed_dictionaries({"check": st.sampled_from(["t1.nDCG@10.mean >= 0.4", "$.tasks.t1.result.n_queries >= 1", "delta(t1.nDCG@10.mean) >= -0.1", "t9.x == true"])}), max_size=3)


@FAST
@given(json_like, json_like, CONDITIONS)
def test_any_results_document_through_the_gate_cli(tmp_path_factory, tasks, metrics, conditions):
    from click.testing import CliRunner

    from robustrank.cli import main

    d = tmp_path_factory.mktemp("res")
    doc = {"schema_version": "1.0", "name": "h", "tasks": tasks, "metrics": metrics, "config": {"gate": {"conditions": conditions}}}
    (d / "r.json").write_text(json.dumps(doc))
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["gate", str(d / "r.json"), "--junit", str(d / "g.xml"), "--markdown", str(d / "g.md")])
    assert isinstance(r.exception, SystemExit) and r.exit_code in (0, 1, 2), (r.exception, r.output)
    assert "Traceback" not in r.output
    assert time.monotonic() - t0 < 5
    if r.exit_code in (0, 1):
        import xml.etree.ElementTree as ET

        ET.parse(d / "g.xml")


TASK_RECORDS = st.fixed_dictionaries({"status": st.sampled_from(["ok", "error", "skipped"]), "result": json_like, "error": st.text(max_size=20)})


@FAST
@given(st.dictionaries(st.sampled_from(["t1", "t2", "t3", "t4", "certify"]), TASK_RECORDS, max_size=3))
def test_any_task_results_through_report_cli(tmp_path_factory, tasks):
    from click.testing import CliRunner

    from robustrank.cli import main

    d = tmp_path_factory.mktemp("rep")
    (d / "r.json").write_text(json.dumps({"schema_version": "1.0", "name": "h", "tasks": tasks, "config": {"measures": ["nDCG@10"]}}))
    r = CliRunner().invoke(main, ["report", str(d / "r.json")])
    assert isinstance(r.exception, SystemExit) or r.exception is None, repr(r.exception)
    assert r.exit_code in (0, 2) and "Traceback" not in r.output


# -- gate expressions ------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=500)
@given(st.text(alphabet=" \t.$[]\"'()<>=!-0123456789abcdelt@", max_size=2000))
def test_any_condition_text_parses_or_fails_fast(text):
    from robustrank.gate.expr import parse_condition

    t0 = time.monotonic()
    try:
        parse_condition(text)
    except ValueError as exc:
        assert str(exc)
    assert time.monotonic() - t0 < 0.1


@settings(max_examples=80, deadline=500)
@given(
    st.from_regex(r"\At[1-4]\.[A-Za-z@0-9_]{1,12}\.(mean|std)\Z"),
    st.sampled_from([">=", "<=", ">", "<", "==", "!="]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.booleans(),
    st.integers(0, 50),
)
def test_valid_conditions_round_trip(ref, op, value, delta, pad):
    from robustrank.gate.expr import parse_condition

    lhs = f"delta({ref})" if delta else ref
    c = parse_condition(f"{' ' * pad}{lhs}{' ' * pad}{op}{' ' * pad}{value!r}{' ' * pad}")
    assert (c.ref.text, c.op, c.value, c.delta) == (ref, op, float(value), delta)


def test_property_suite_is_registered_in_dev_extra():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert "hypothesis" in text.split("dev = [", 1)[1].split("]", 1)[0]
