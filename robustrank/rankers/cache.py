"""A score cache keyed by (query, document text), so a repeated pair costs nothing.

In memory (an LRU) and, when a :class:`~robustrank.rankers.score_store.ScoreStore` is attached,
across audits: a pair missing from memory is looked up in the store before it is scored, and
newly scored pairs are added to it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from robustrank.rankers.base import Ranker, score_pairs
from robustrank.rankers.score_store import ScoreStore

__all__ = ["CachedRanker"]


def _key(query: str, doc: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(query.encode("utf-8"))
    h.update(b"\x00")
    h.update(doc.encode("utf-8"))
    return h.digest()


class CachedRanker:
    """Wraps a ranker with an LRU cache of pair scores.

    Keys are 16-byte BLAKE2b digests of the (query, doc) text, so memory per entry is small.
    Capabilities of the wrapped ranker stay reachable through :attr:`inner`.

    Args:
        inner: The ranker to cache.
        max_entries: LRU capacity (0 disables caching).
    """

    def __init__(self, inner: Ranker, max_entries: int = 1_000_000):
        self.inner = inner
        self.name = inner.name
        self.max_entries = max_entries
        self._cache: OrderedDict[bytes, float] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.store: ScoreStore | None = None
        self.store_hits = 0

    def attach_store(self, store: ScoreStore | None) -> None:
        """Look up and keep scores in ``store`` from now on (None: memory only)."""
        self.store = store

    def flush(self) -> None:
        """Write the store's pending scores (no-op without a store)."""
        if self.store is not None:
            self.store.flush()

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Score docs for a query, computing only pairs not seen before."""
        return self.score_pairs([(query, d) for d in docs])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Score (query, doc) pairs, computing only pairs not seen before."""
        if self.max_entries <= 0:
            self.misses += len(pairs)
            return score_pairs(self.inner, pairs)
        keys = [_key(q, d) for q, d in pairs]
        out = np.empty(len(pairs), dtype=np.float64)
        todo: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            hit = self._cache.get(k)
            if hit is None:
                todo.setdefault(k, []).append(i)
            else:
                self._cache.move_to_end(k)
                out[i] = hit
                self.hits += 1
        if todo and self.store is not None:
            todo_keys = list(todo)
            for j, s in self.store.lookup(todo_keys).items():
                k = todo_keys[j]
                out[todo.pop(k)] = s
                self._cache[k] = s
                self.store_hits += 1
        if todo:
            firsts = [idx[0] for idx in todo.values()]
            fresh = score_pairs(self.inner, [pairs[i] for i in firsts])
            self.misses += len(firsts)
            for (k, idx), s in zip(todo.items(), fresh.tolist()):
                out[idx] = s
                self._cache[k] = s
            if self.store is not None:
                self.store.add(list(todo), fresh.tolist())
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return out

    def stats(self) -> dict[str, Any]:
        """Hits, misses (pairs actually scored) and current size; with a store also its hits
        (pairs scored by an earlier audit) and its counts."""
        out: dict[str, Any] = {"hits": self.hits, "misses": self.misses, "entries": len(self._cache)}
        if self.store is not None:
            out["store"] = {"hits": self.store_hits, **self.store.stats(), "folder": str(self.store.folder)}
        return out
