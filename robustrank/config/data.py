"""``candidates:`` and ``datasets:`` sections of model.yaml: first stage and test collections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from robustrank.schema_base import StrictModel

__all__ = ["BM25Params", "CandidatesConfig", "DatasetConfig", "DatasetsConfig"]


class BM25Params(StrictModel):
    """BM25 (rank-bm25 Okapi) settings, used for the first stage and the baseline."""

    k1: float = Field(0.9, gt=0, description="Term-frequency saturation (Anserini default 0.9).")
    b: float = Field(0.4, ge=0, le=1, description="Length normalisation (Anserini default 0.4).")
    stem: bool = Field(True, description="Porter-stem terms.")
    stopwords: bool = Field(True, description="Remove the bundled stopwords.")


class CandidatesConfig(StrictModel):
    """The first stage whose list the neural ranker re-ranks."""

    source: Literal["bm25", "run"] = Field("bm25", description="bm25 top-depth, or a TREC run file.")
    depth: int = Field(100, gt=0, description="Candidates re-ranked per query.")
    run: str | None = Field(None, description="TREC run file (source: run).")
    bm25: BM25Params = Field(default_factory=BM25Params)

    @model_validator(mode="after")
    def _check_run(self) -> CandidatesConfig:
        if self.source == "run" and not self.run:
            raise ValueError("source 'run' needs 'run: path/to/run.trec'")
        return self


class DatasetConfig(StrictModel):
    """One test collection."""

    name: str | None = Field(None, description="Display name; defaults to the folder or file stem.")
    format: Literal["beir", "trec", "irds"] = Field("beir", description="beir | trec | irds.")
    path: str | None = Field(None, description="BEIR folder (corpus.jsonl[.gz], queries.jsonl[.gz], qrels/).")
    split: str = Field("test", description="BEIR qrels split: qrels/<split>.tsv.")
    corpus: str | None = Field(None, description="TREC format: corpus as JSONL or TSV (doc_id<TAB>text).")
    topics: str | None = Field(None, description="TREC format: topics, TSV (query_id<TAB>text) or TREC <top> file.")
    qrels: str | None = Field(None, description="TREC format: qrels (query_id 0 doc_id relevance).")
    id: str | None = Field(None, description="irds format: ir_datasets id (downloads; optional extra).")

    @model_validator(mode="after")
    def _check_fields(self) -> DatasetConfig:
        if self.format == "beir" and not self.path:
            raise ValueError("format 'beir' needs 'path'")
        if self.format == "trec" and not (self.corpus and self.topics and self.qrels):
            raise ValueError("format 'trec' needs 'corpus', 'topics' and 'qrels'")
        if self.format == "irds" and not self.id:
            raise ValueError("format 'irds' needs 'id'")
        return self

    @property
    def display_name(self) -> str:
        """The name shown in results: ``name`` or derived from the path/id."""
        if self.name:
            return self.name
        if self.path:
            return Path(self.path).name
        if self.id:
            return self.id
        return Path(self.corpus or "dataset").stem


class DatasetsConfig(StrictModel):
    """In-domain collection and out-of-distribution collections."""

    in_domain: DatasetConfig
    ood: list[DatasetConfig] = Field(default_factory=list)
