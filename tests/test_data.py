"""Data readers: BEIR, TREC, gz, and clear errors with file and line."""

from __future__ import annotations

import gzip
import shutil

import pytest

from robustrank.config import DatasetConfig
from robustrank.data import load_dataset, read_trec_run
from robustrank.data.beir import load_beir
from robustrank.data.trec import load_trec, read_trec_topics
from robustrank.errors import DataError


def test_load_tiny_beir(tiny_dataset):
    coll = load_beir(tiny_dataset, name="tiny")
    assert len(coll.documents) == 12 and len(coll.queries) == 5
    assert coll.documents["d1"].title == "Microwave measurement"
    assert coll.documents["d1"].full_text.startswith("Microwave measurement measurement of")
    assert coll.qrels["q1"] == {"d1": 2, "d12": 1}
    assert coll.judged_query_ids() == ["q1", "q2", "q3", "q4"]
    assert coll.unjudged_query_ids() == ["q5"]
    summary = coll.summary()
    assert summary["unjudged_queries_skipped"] == 1 and summary["qrels"] == 7
    fp = coll.fingerprint()
    assert len(fp) == 3 and all(len(h) == 64 for h in fp.values())


def test_gzipped_corpus(tiny_dataset):
    src = tiny_dataset / "corpus.jsonl"
    with open(src, "rb") as fi, gzip.open(tiny_dataset / "corpus.jsonl.gz", "wb") as fo:
        shutil.copyfileobj(fi, fo)
    src.unlink()
    assert len(load_beir(tiny_dataset, name="t").documents) == 12


def test_malformed_jsonl_line(tiny_dataset):
    p = tiny_dataset / "corpus.jsonl"
    lines = p.read_text().splitlines()
    lines[2] = '{"_id": "d3", "text": "broken'
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"corpus.jsonl:3: invalid JSON"):
        load_beir(tiny_dataset, name="t")


def test_missing_id_field(tiny_dataset):
    p = tiny_dataset / "queries.jsonl"
    p.write_text(p.read_text() + '{"text": "no id"}\n')
    with pytest.raises(DataError, match=r"queries.jsonl:6: missing field '_id'"):
        load_beir(tiny_dataset, name="t")


def test_qrels_too_few_columns(tiny_dataset):
    p = tiny_dataset / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q2\td4\n")
    with pytest.raises(DataError, match=r"test.tsv:9: expected 3 tab-separated columns"):
        load_beir(tiny_dataset, name="t")


def test_qrels_unknown_query(tiny_dataset):
    p = tiny_dataset / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q99\td4\t1\n")
    with pytest.raises(DataError, match=r"test.tsv:9: query id 'q99' is not in the queries file"):
        load_beir(tiny_dataset, name="t")


def test_qrels_bad_relevance(tiny_dataset):
    p = tiny_dataset / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q2\td4\thigh\n")
    with pytest.raises(DataError, match=r"test.tsv:9: relevance 'high' is not an integer"):
        load_beir(tiny_dataset, name="t")


def test_missing_folder_and_file(tmp_path, tiny_dataset):
    with pytest.raises(DataError, match=r"dataset folder not found"):
        load_beir(tmp_path / "nothing", name="t")
    (tiny_dataset / "queries.jsonl").unlink()
    with pytest.raises(DataError, match=r"queries.jsonl: file not found"):
        load_beir(tiny_dataset, name="t")


def test_trec_files(tmp_path, tiny_dataset):
    topics = tmp_path / "topics.txt"
    topics.write_text("<top>\n<num> Number: 301\n<title> microwave dielectric\n<desc> Description:\nx\n</top>\n")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("301 0 d1 1\n301 0 d2 0\n")
    coll = load_trec(tiny_dataset / "corpus.jsonl", topics, qrels, name="trec")
    assert coll.queries["301"].text == "microwave dielectric"
    assert coll.qrels["301"] == {"d1": 1, "d2": 0}
    tsv = tmp_path / "topics.tsv"
    tsv.write_text("a\tfirst query\nb\tsecond\n")
    assert [q.text for q in read_trec_topics(tsv).values()] == ["first query", "second"]
    qrels.write_text("301 0 d1\n")
    with pytest.raises(DataError, match=r"qrels.txt:1: expected 4 columns"):
        load_trec(tiny_dataset / "corpus.jsonl", topics, qrels, name="trec")


def test_trec_run(tmp_path):
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d2 2 1.5 sys\nq1 Q0 d1 1 2.5 sys\nq2 Q0 d3 1 0.1 sys\n")
    parsed = read_trec_run(run)
    assert [s.doc_id for s in parsed["q1"]] == ["d1", "d2"]
    run.write_text("q1 Q0 d2 2 notanumber sys\n")
    with pytest.raises(DataError, match=r"run.trec:1: score 'notanumber' is not a number"):
        read_trec_run(run)


def test_loader_dispatch_and_irds_hint(tiny_dataset):
    coll = load_dataset(DatasetConfig(path=str(tiny_dataset)))
    assert coll.name == "tiny"
    import importlib.util

    if importlib.util.find_spec("ir_datasets") is None:
        with pytest.raises(DataError, match=r"pip install 'robustrank\[irds\]'"):
            load_dataset(DatasetConfig(format="irds", id="vaswani"))
