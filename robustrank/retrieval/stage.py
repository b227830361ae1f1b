"""The configured first stage of an audit when it is not plain BM25: dense, or hybrid (BM25 + dense, RRF).

One :class:`FirstStage` per audit holds the encoder and one :class:`DenseRetriever` per collection,
so each corpus is encoded (or read from the cache) once however many tasks and query variants ask.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robustrank.errors import ConfigError
from robustrank.retrieval.dense import DenseRetriever, Encoder
from robustrank.retrieval.fusion import reciprocal_rank_fusion

__all__ = ["FirstStage"]

log = logging.getLogger(__name__)


class FirstStage:
    """Dense or hybrid candidates for any queries of any collection of the audit.

    Args:
        source: ``dense`` or ``hybrid``.
        encoder: The bi-encoder (has ``encode``).
        depth: Candidates per query.
        options: The ``candidates.dense`` section.
        cache_dir: Root of the embedding cache.
        batch_size: Texts per encode call.
        progress: Show progress bars.
    """

    def __init__(self, source: str, encoder: Encoder, depth: int, options: Any, *, cache_dir: Path | None, batch_size: int = 64, progress: bool = False):
        self.source = source
        self.encoder = encoder
        self.depth = depth
        self.options = options
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.progress = progress
        self.retrievers: dict[str, DenseRetriever] = {}

    @classmethod
    def from_context(cls, ctx: Any) -> FirstStage:
        """Build from an audit context: the encoder is ``candidates.dense.ranker`` or the ranker under audit."""
        cfg = ctx.config.candidates
        opt = cfg.dense
        if opt.ranker is not None:
            from robustrank.rankers.build import build_ranker

            encoder = build_ranker(opt.ranker, ctx.config)
            batch = opt.ranker.batch_size
        else:
            encoder = getattr(ctx.ranker, "inner", ctx.ranker)
            batch = ctx.config.ranker.batch_size
        batch = batch or getattr(encoder, "batch_size", None) or 64  # unset: the encoder's per-device default
        if not isinstance(encoder, Encoder):
            kind = opt.ranker.type if opt.ranker is not None else ctx.config.ranker.type
            raise ConfigError(
                f"{ctx.config.source}: candidates.dense.ranker: a {kind!r} ranker cannot encode texts; "
                "name a bi-encoder (type bi-encoder or onnx) under candidates.dense.ranker"
            )
        cache = ctx.config.resolve(opt.cache_dir) if opt.cache_dir else Path(ctx.artifacts or Path(ctx.config.output_dir()) / "artifacts") / "dense"
        return cls(cfg.source, encoder, cfg.depth, opt, cache_dir=cache, batch_size=batch, progress=ctx.progress)

    def retriever(self, coll: Any) -> DenseRetriever:
        """The dense retriever over ``coll`` (corpus encoded or loaded on first use)."""
        if coll.name not in self.retrievers:
            o = self.options
            self.retrievers[coll.name] = DenseRetriever.build(
                self.encoder, coll.documents, cache_dir=self.cache_dir, kind=o.index, hnsw_m=o.hnsw_m,
                ef_search=o.ef_search, batch_size=self.batch_size, progress=self.progress,
            )
        return self.retrievers[coll.name]

    def candidates(self, coll: Any, queries: Mapping[str, str], bm25_run: Mapping[str, Any]) -> dict[str, list[tuple[str, float]]]:
        """Dense top-depth, or RRF of BM25's and dense's top-depth (hybrid)."""
        dense = self.retriever(coll).retrieve(queries, self.depth)
        if self.source == "dense":
            return dense
        bm25 = {q: bm25_run.get(q, []) for q in queries}
        return reciprocal_rank_fusion([bm25, dense], k=self.options.fusion_k, depth=self.depth)

    def describe(self) -> dict[str, Any]:
        """Per collection: index, corpus size, cache use and approximate-search recall."""
        inner = getattr(self.encoder, "inner", self.encoder)
        return {
            "source": self.source,
            "depth": self.depth,
            "encoder": inner.describe() if hasattr(inner, "describe") else {"name": getattr(inner, "name", "?")},
            "fusion": {"method": "reciprocal_rank_fusion", "k": self.options.fusion_k} if self.source == "hybrid" else None,
            "collections": {name: r.describe() for name, r in self.retrievers.items()},
        }
