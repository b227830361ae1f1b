"""Collections by ir_datasets id (optional extra; downloads data, so never used in tests)."""

from __future__ import annotations

from robustrank.data.collection import Collection
from robustrank.errors import DataError
from robustrank.records import Document, Query

__all__ = ["load_irds"]


def load_irds(dataset_id: str, *, name: str) -> Collection:
    """Load documents, queries and qrels of an ir_datasets id.

    Raises:
        DataError: ir_datasets is not installed, or the id is unknown.
    """
    try:
        import ir_datasets
    except ImportError:
        raise DataError(f"irds:{dataset_id}: ir_datasets is not installed; run: pip install 'robustrank[irds]'") from None
    try:
        ds = ir_datasets.load(dataset_id)
    except KeyError:
        raise DataError(f"irds:{dataset_id}: unknown ir_datasets id") from None
    docs = {d.doc_id: Document(d.doc_id, d.default_text()) for d in ds.docs_iter()}
    queries = {q.query_id: Query(q.query_id, q.default_text()) for q in ds.queries_iter()}
    qrels: dict[str, dict[str, int]] = {}
    for qr in ds.qrels_iter():
        qrels.setdefault(qr.query_id, {})[qr.doc_id] = int(qr.relevance)
    return Collection(name, docs, queries, qrels, (), f"irds:{dataset_id}")
