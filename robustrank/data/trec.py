"""TREC-style files: topics, qrels and run files (plus a JSONL/TSV corpus)."""

from __future__ import annotations

import re
from pathlib import Path

from robustrank.data.beir import read_corpus_jsonl
from robustrank.data.collection import Collection
from robustrank.data.io import check_relevance, iter_lines, read_all_text
from robustrank.errors import DataError
from robustrank.ranked import sort_ranked
from robustrank.records import Document, Query, ScoredDoc

__all__ = ["read_trec_topics", "read_trec_qrels", "read_trec_run", "read_corpus", "load_trec"]

_TOP_RE = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_NUM_RE = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.I)
_TITLE_RE = re.compile(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?=<|\Z)", re.S | re.I)


def read_corpus(path: Path) -> dict[str, Document]:
    """Read a corpus from JSONL (BEIR fields) or TSV (``doc_id<TAB>text[<TAB>title]``)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        return read_corpus_jsonl(path)
    docs: dict[str, Document] = {}
    for lineno, line in iter_lines(path):
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataError(f"{path}:{lineno}: expected doc_id<TAB>text, got {len(cols)} column(s)")
        if cols[0] in docs:
            raise DataError(f"{path}:{lineno}: duplicate document id {cols[0]!r}")
        docs[cols[0]] = Document(cols[0], cols[1], cols[2] if len(cols) > 2 else "")
    if not docs:
        raise DataError(f"{path}: no documents")
    return docs


def read_trec_topics(path: Path) -> dict[str, Query]:
    """Read topics as TSV (``query_id<TAB>text``) or a classic TREC ``<top>`` file (title field)."""
    text = read_all_text(path)
    queries: dict[str, Query] = {}
    if "<top>" in text[:4096].lower():
        for block in _TOP_RE.findall(text):
            num, title = _NUM_RE.search(block), _TITLE_RE.search(block)
            if not num or not title:
                line = text[: text.find(block)].count("\n") + 1
                raise DataError(f"{path}:{line}: <top> block without <num> or <title>")
            queries[num.group(1)] = Query(num.group(1), " ".join(title.group(1).split()))
    else:
        for lineno, line in iter_lines(path):
            cols = line.split("\t")
            if len(cols) < 2:
                raise DataError(f"{path}:{lineno}: expected query_id<TAB>text, got {len(cols)} column(s)")
            if cols[0] in queries:
                raise DataError(f"{path}:{lineno}: duplicate query id {cols[0]!r}")
            queries[cols[0]] = Query(cols[0], cols[1])
    if not queries:
        raise DataError(f"{path}: no topics")
    return queries


def read_trec_qrels(path: Path, queries: dict[str, Query] | None = None) -> dict[str, dict[str, int]]:
    """Read TREC qrels (``query_id iteration doc_id relevance``, whitespace-separated)."""
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in iter_lines(path):
        cols = line.split()
        if len(cols) != 4:
            raise DataError(f"{path}:{lineno}: expected 4 columns (query_id iter doc_id relevance), got {len(cols)}")
        qid, _, did, rel = cols
        relevance = check_relevance(path, lineno, rel)
        if queries is not None and qid not in queries:
            raise DataError(f"{path}:{lineno}: query id {qid!r} is not in the topics")
        qrels.setdefault(qid, {})[did] = relevance
    return qrels


def read_trec_run(path: Path) -> dict[str, list[ScoredDoc]]:
    """Read a TREC run (``query_id Q0 doc_id rank score tag``); lists sorted by score, best first
    (ties by doc_id descending, as trec_eval evaluates them)."""
    run: dict[str, list[ScoredDoc]] = {}
    for lineno, line in iter_lines(path):
        cols = line.split()
        if len(cols) != 6:
            raise DataError(f"{path}:{lineno}: expected 6 columns (query_id Q0 doc_id rank score tag), got {len(cols)}")
        try:
            score = float(cols[4])
        except ValueError:
            raise DataError(f"{path}:{lineno}: score {cols[4]!r} is not a number") from None
        run.setdefault(cols[0], []).append(ScoredDoc(cols[0], cols[2], score))

    for qid in run:
        order = {d: i for i, (d, _) in enumerate(sort_ranked((s.doc_id, s.score) for s in run[qid]))}
        run[qid].sort(key=lambda s: order[s.doc_id])
    return run


def load_trec(corpus: Path, topics: Path, qrels: Path, *, name: str) -> Collection:
    """Load a collection from a corpus file, a topics file and a qrels file."""
    docs = read_corpus(corpus)
    queries = read_trec_topics(topics)
    judgments = read_trec_qrels(qrels, queries)
    return Collection(name, docs, queries, judgments, (corpus, topics, qrels), f"{corpus}, {topics}, {qrels}")
