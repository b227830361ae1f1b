"""The in-memory test collection record."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from robustrank.records import Document, Query

__all__ = ["Collection", "sha256_file"]


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Collection:
    """Documents, queries and relevance judgments of one test collection.

    Attributes:
        name: Display name.
        documents: doc_id -> Document.
        queries: query_id -> Query, in file order.
        qrels: query_id -> {doc_id: relevance}; only judged queries appear.
        files: Files the collection was read from (for fingerprints).
        source: Human-readable origin (folder, files or ir_datasets id).
    """

    name: str
    documents: Mapping[str, Document]
    queries: Mapping[str, Query]
    qrels: Mapping[str, Mapping[str, int]]
    files: tuple[Path, ...] = ()
    source: str = ""
    _fingerprint: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def judged_query_ids(self) -> list[str]:
        """Ids of queries with at least one judgment, in query-file order.

        Queries without judgments are skipped by evaluation, as trec_eval does.
        """
        return [qid for qid in self.queries if self.qrels.get(qid)]

    def unjudged_query_ids(self) -> list[str]:
        """Ids of queries without any judgment (skipped in evaluation)."""
        return [qid for qid in self.queries if not self.qrels.get(qid)]

    def fingerprint(self) -> dict[str, str]:
        """sha256 of every file the collection was read from, keyed by file path."""
        if not self._fingerprint:
            self._fingerprint.update({str(p): sha256_file(p) for p in self.files})
        return dict(self._fingerprint)

    def summary(self) -> dict[str, object]:
        """Counts and origin, for results.json."""
        return {
            "name": self.name,
            "source": self.source,
            "documents": len(self.documents),
            "queries": len(self.queries),
            "judged_queries": len(self.judged_query_ids()),
            "unjudged_queries_skipped": len(self.unjudged_query_ids()),
            "qrels": sum(len(v) for v in self.qrels.values()),
        }
