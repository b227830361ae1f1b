"""Immutable records with IR field names, shared by every part of robustrank."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Document", "Query", "Qrel", "ScoredDoc"]


@dataclass(frozen=True, slots=True)
class Document:
    """A document of a collection.

    Attributes:
        doc_id: Collection identifier.
        text: Body text.
        title: Title ("" when the collection has none).
    """

    doc_id: str
    text: str
    title: str = ""

    @property
    def full_text(self) -> str:
        """Title and body joined by a space (the text rankers score)."""
        return f"{self.title} {self.text}" if self.title else self.text


@dataclass(frozen=True, slots=True)
class Query:
    """A query (topic).

    Attributes:
        query_id: Identifier used by the qrels.
        text: Query text.
    """

    query_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Qrel:
    """A relevance judgment.

    Attributes:
        query_id: Judged query.
        doc_id: Judged document.
        relevance: Graded relevance (0 = not relevant).
    """

    query_id: str
    doc_id: str
    relevance: int


@dataclass(frozen=True, slots=True)
class ScoredDoc:
    """One entry of a ranked list (a run).

    Attributes:
        query_id: Query the document was ranked for.
        doc_id: Ranked document.
        score: Ranker score (higher is better).
    """

    query_id: str
    doc_id: str
    score: float
