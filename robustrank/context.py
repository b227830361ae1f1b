"""What a task gets to work with: the ranker under audit, BM25, data, runs and seeds.

Everything is computed on first use and cached, so tasks share the in-domain runs and a task
that needs no OOD data never loads it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.config import AuditConfig, DatasetConfig
from robustrank.data import Collection, load_dataset, read_trec_run
from robustrank.metrics import evaluate
from robustrank.pipeline import first_stage_bm25, rerank
from robustrank.rankers.base import Ranker

__all__ = ["AuditContext", "derive_seed"]

log = logging.getLogger(__name__)


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed derived from the audit seed and any identifying parts (stable across runs)."""
    h = hashlib.blake2b(repr((seed, *parts)).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "big") >> 1


class AuditContext:
    """Shared state of one audit.

    Args:
        config: The validated configuration.
        ranker: The (cached) ranker under audit.
        progress: Show progress bars.
    """

    def __init__(self, config: AuditConfig, ranker: Ranker, *, progress: bool = False):
        self.config = config
        self.ranker = ranker
        self.progress = progress
        self.seed = config.seed
        self.timings: dict[str, float] = {}
        self._collections: dict[str, Collection] = {}
        self._bm25: dict[str, Any] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._lexicon: Any = None

    # -- data ---------------------------------------------------------------------------------
    def collection(self, ds: DatasetConfig) -> Collection:
        """Load (once) the collection of a dataset entry."""
        key = ds.display_name
        if key not in self._collections:
            with self.timed(f"load:{key}"):
                self._collections[key] = load_dataset(ds, self.config.resolve)
        return self._collections[key]

    @property
    def in_domain(self) -> Collection:
        """The in-domain collection."""
        return self.collection(self.config.datasets.in_domain)

    def loaded_collections(self) -> dict[str, Collection]:
        """Collections loaded so far, by name."""
        return dict(self._collections)

    def query_ids(self, coll: Collection) -> list[str]:
        """Judged query ids evaluated on ``coll`` (the first ``max_queries`` when set)."""
        qids = coll.judged_query_ids()
        if self.config.max_queries:
            qids = qids[: self.config.max_queries]
        return qids

    def rng(self, *parts: object) -> np.random.Generator:
        """A generator seeded from the audit seed and ``parts`` (e.g. task name, query id)."""
        return np.random.default_rng(derive_seed(self.seed, *parts))

    @property
    def lexicon(self):
        """The synonym lexicon (``lexicon:`` of the config, else the bundled one), loaded once."""
        if self._lexicon is None:
            from robustrank.lexicon import Lexicon

            path = self.config.resolve(self.config.lexicon) if self.config.lexicon else None
            self._lexicon = Lexicon.load(path)
        return self._lexicon

    def lexicon_info(self) -> dict[str, Any] | None:
        """Provenance of the lexicon if a task used it (name, version, sha256), else None."""
        return self._lexicon.info if self._lexicon is not None else None

    # -- systems ------------------------------------------------------------------------------
    def bm25(self, coll: Collection):
        """The BM25 ranker indexed on ``coll`` (built once)."""
        if coll.name not in self._bm25:
            from robustrank.rankers.bm25 import BM25Ranker

            p = self.config.candidates.bm25
            with self.timed(f"bm25_index:{coll.name}"):
                self._bm25[coll.name] = BM25Ranker(coll.documents, k1=p.k1, b=p.b, stem=p.stem, stopwords=p.stopwords, progress=self.progress)
        return self._bm25[coll.name]

    def runs(self, coll: Collection) -> dict[str, Any]:
        """BM25 run, candidates and neural run for the evaluated queries of ``coll`` (cached).

        Returns:
            {"bm25": run, "candidates": run, "neural": run, "queries": {query_id: text}}.
        """
        if coll.name not in self._runs:
            qids = self.query_ids(coll)
            queries = {q: coll.queries[q].text for q in qids}
            cfg = self.config.candidates
            with self.timed(f"first_stage:{coll.name}"):
                bm25_run = first_stage_bm25(self.bm25(coll), queries, cfg.depth, progress=self.progress)
                if cfg.source == "run" and coll.name == self.in_domain.name:
                    full = read_trec_run(self.config.resolve(cfg.run))
                    candidates = {q: full.get(q, [])[: cfg.depth] for q in qids}
                else:
                    candidates = bm25_run
            with self.timed(f"rerank:{coll.name}"):
                neural = rerank(self.ranker, queries, candidates, coll.documents, progress=self.progress, desc=f"rerank {coll.name}")
            self._runs[coll.name] = {"bm25": bm25_run, "candidates": candidates, "neural": neural, "queries": queries}
        return self._runs[coll.name]

    def rerank_queries(self, coll: Collection, queries: Mapping[str, str], ranker: Ranker | None = None, desc: str = "rerank") -> dict[str, Any]:
        """BM25 retrieval and neural re-ranking for arbitrary query texts (e.g. variants)."""
        bm25_run = first_stage_bm25(self.bm25(coll), queries, self.config.candidates.depth)
        neural = rerank(ranker or self.ranker, queries, bm25_run, coll.documents, progress=self.progress, desc=desc)
        return {"bm25": bm25_run, "neural": neural}

    def evaluate(self, run, coll: Collection, query_ids: list[str] | None = None) -> dict[str, dict[str, float]]:
        """Per-query values of the configured measures on ``coll``."""
        return evaluate(run, coll.qrels, self.config.measures, query_ids if query_ids is not None else self.query_ids(coll))

    # -- bookkeeping --------------------------------------------------------------------------
    def timed(self, label: str):
        """Context manager adding the elapsed seconds to ``timings[label]``."""
        ctx = self

        class _Timer:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                ctx.timings[label] = ctx.timings.get(label, 0.0) + time.perf_counter() - self.t0
                return False

        return _Timer()

    def resolve(self, path: str) -> Path:
        """Resolve a config path (relative to the config file)."""
        return self.config.resolve(path)
