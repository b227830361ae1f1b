"""BEIR layout: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` (optionally .gz)."""

from __future__ import annotations

from pathlib import Path

from robustrank.data.collection import Collection
from robustrank.data.io import check_relevance, find_file, iter_jsonl, iter_lines
from robustrank.errors import DataError
from robustrank.records import Document, Query

__all__ = ["read_corpus_jsonl", "read_queries_jsonl", "read_qrels_tsv", "load_beir"]


def _field(path: Path, lineno: int, obj: dict, key: str, *, required: bool = True) -> str:
    if key not in obj:
        if required:
            raise DataError(f"{path}:{lineno}: missing field {key!r}")
        return ""
    val = obj[key]
    if val is None:
        return ""
    if not isinstance(val, (str, int)):
        raise DataError(f"{path}:{lineno}: field {key!r} must be a string, got {type(val).__name__}")
    return str(val)


def read_corpus_jsonl(path: Path) -> dict[str, Document]:
    """Read a BEIR corpus (``_id``, ``title``, ``text``)."""
    docs: dict[str, Document] = {}
    for lineno, obj in iter_jsonl(path):
        doc_id = _field(path, lineno, obj, "_id")
        if doc_id in docs:
            raise DataError(f"{path}:{lineno}: duplicate document id {doc_id!r}")
        docs[doc_id] = Document(doc_id, _field(path, lineno, obj, "text"), _field(path, lineno, obj, "title", required=False))
    if not docs:
        raise DataError(f"{path}: no documents")
    return docs


def read_queries_jsonl(path: Path) -> dict[str, Query]:
    """Read BEIR queries (``_id``, ``text``)."""
    queries: dict[str, Query] = {}
    for lineno, obj in iter_jsonl(path):
        qid = _field(path, lineno, obj, "_id")
        if qid in queries:
            raise DataError(f"{path}:{lineno}: duplicate query id {qid!r}")
        queries[qid] = Query(qid, _field(path, lineno, obj, "text"))
    if not queries:
        raise DataError(f"{path}: no queries")
    return queries


def read_qrels_tsv(path: Path, queries: dict[str, Query]) -> dict[str, dict[str, int]]:
    """Read BEIR qrels: ``query-id<TAB>corpus-id<TAB>score`` with an optional header line.

    Raises:
        DataError: Too few columns, a non-integer score, or a query id absent from the queries.
    """
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in iter_lines(path):
        cols = line.split("\t")
        if len(cols) < 3:
            raise DataError(f"{path}:{lineno}: expected 3 tab-separated columns (query-id, corpus-id, score), got {len(cols)}")
        qid, did, rel = cols[0].strip(), cols[1].strip(), cols[2].strip()
        if lineno == 1 and not _is_int(rel):
            continue  # header
        relevance = check_relevance(path, lineno, rel)
        if qid not in queries:
            raise DataError(f"{path}:{lineno}: query id {qid!r} is not in the queries file")
        qrels.setdefault(qid, {})[did] = relevance
    return qrels


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def load_beir(folder: Path, *, name: str, split: str = "test") -> Collection:
    """Load a BEIR-layout folder.

    Args:
        folder: Folder with corpus.jsonl[.gz], queries.jsonl[.gz] and qrels/<split>.tsv[.gz].
        name: Display name.
        split: Qrels split.

    Returns:
        The collection.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found")
    corpus_p = find_file(folder, "corpus.jsonl")
    queries_p = find_file(folder, "queries.jsonl")
    qrels_p = find_file(folder / "qrels", f"{split}.tsv")
    docs = read_corpus_jsonl(corpus_p)
    queries = read_queries_jsonl(queries_p)
    qrels = read_qrels_tsv(qrels_p, queries)
    return Collection(name, docs, queries, qrels, (corpus_p, queries_p, qrels_p), str(folder))
