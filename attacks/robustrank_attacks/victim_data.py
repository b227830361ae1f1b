"""What a black-box attacker learns its surrogate from: query splits, scored lists, synthetic queries.

* **Split** (:func:`split_queries`): queries whose documents are attacked on this system
  (``env.attacked_query_ids``) are kept out of training and out of the fidelity measurement;
  of the rest, a seeded sample is held out to measure fidelity and the remainder trains.
* **Synthetic queries** (:func:`synthesize_queries`): random word n-grams of collection
  documents, each ranked by the victim over its BM25 top-``depth`` candidates. Every text the
  victim scores counts as a victim query spent in ``prepare`` (``env.env_queries``). The victim's
  answers are cached under ``artifact_dir("victim-scores", key)`` (key: a hash of the query texts,
  candidates and the victim's scores of the first lists), so a resumed audit does not query again;
  the recorded count is the number of texts the victim scored for them, cached or not.
* **Scored lists** (:func:`scored_lists`): the teacher signal of score distillation.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustrank.api import AttackEnvironment, ScoredList, bm25_tokenize, words

__all__ = ["QuerySplit", "scored_lists", "split_queries", "synthesize_queries"]

log = logging.getLogger(__name__)


@dataclass
class QuerySplit:
    """Train and held-out queries (query_id -> text) and how the attacked queries were treated."""

    train: dict[str, str]
    heldout: dict[str, str]
    attacked_excluded: list[str] = field(default_factory=list)
    attacked_in_training: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """Counts for results.json."""
        return {
            "train_queries": len(self.train),
            "heldout_queries": len(self.heldout),
            "attacked_queries_excluded": len(self.attacked_excluded),
            "attacked_queries_in_training": len(self.attacked_in_training),
            "policy": (
                "attacked queries excluded from training and held-out fidelity; held-out queries excluded from training"
                if not self.attacked_in_training
                else "too few unattacked queries: attacked queries used for training (transductive); held-out queries excluded from training"
            ),
        }


def split_queries(env: AttackEnvironment, n_heldout: int, rng: np.random.Generator, *, n_train: int | None = None, min_list: int = 2) -> QuerySplit:
    """Split the queries with victim lists into train / held-out, excluding attacked queries.

    Args:
        env: The attack environment (queries, victim rankings, attacked query ids).
        n_heldout: Queries held out for fidelity (at most all but one of the usable queries).
        rng: Seeded generator of the split.
        n_train: Cap on the training queries (seeded sample; None: all the rest).
        min_list: Lists shorter than this are unusable.
    """
    qids = sorted(q for q, r in env.victim_rankings.items() if q in env.queries and len(r) >= min_list)
    attacked = sorted(set(qids) & set(env.attacked_query_ids))
    pool = [q for q in qids if q not in set(attacked)]
    overlap: list[str] = []
    if len(pool) < 2 and attacked:
        # e.g. a defended system whose lists exist only for the attacked queries: train on them, say so
        log.warning("only %d unattacked queries with victim lists: the attacked queries are used for training", len(pool))
        pool, overlap, attacked = qids, attacked, []
    order = [pool[int(i)] for i in rng.permutation(len(pool))]
    k = min(n_heldout, max(0, len(pool) - 1))
    held, rest = sorted(order[:k]), order[k:]
    if n_train is not None and n_train < len(rest):
        rest = rest[:n_train]
    overlap = sorted(set(overlap) & set(rest))
    return QuerySplit({q: env.queries[q] for q in sorted(rest)}, {q: env.queries[q] for q in held}, attacked, overlap)


def scored_lists(
    rankings: Mapping[str, Sequence[tuple[str, float | None]]], queries: Mapping[str, str], documents: Mapping[str, str], *, depth: int = 100
) -> list[ScoredList]:
    """The victim's scored lists of ``queries`` (lists without scores are skipped)."""
    out = []
    for qid in sorted(queries):
        lst = [(d, s) for d, s in list(rankings.get(qid, ()))[:depth] if d in documents]
        if len(lst) < 2 or any(s is None for _, s in lst):
            continue
        out.append(ScoredList(queries[qid], tuple(documents[d] for d, _ in lst), tuple(float(s) for _, s in lst)))
    return out


def synthesize_queries(
    env: AttackEnvironment, n: int, *, n_words: int, depth: int, rng: np.random.Generator, exclude_docs: set[str] | None = None
) -> tuple[dict[str, list[tuple[str, float | None]]], dict[str, Any]]:
    """Synthetic queries (document word n-grams) and the victim's lists for them.

    Returns:
        ({query text: [(doc_id, victim score or None)] best first}, info with
        ``victim_texts_scored`` and whether the answers came from the cache).
    """
    from rank_bm25 import BM25Okapi

    info: dict[str, Any] = {"requested": n, "words": n_words, "depth": depth, "victim_texts_scored": 0, "cached": False}
    if n <= 0:
        return {}, info
    if env.score_fn is None and env.rank_fn is None:
        log.warning("no access to the victim in prepare: synthetic queries skipped")
        info["skipped"] = "no victim access in prepare"
        return {}, info
    ids = sorted(env.documents)
    bm25 = BM25Okapi([bm25_tokenize(env.documents[d]) or ["\x00"] for d in ids], k1=0.9, b=0.4)
    pool = [i for i, d in enumerate(ids) if not exclude_docs or d not in exclude_docs]
    planned: dict[str, list[str]] = {}
    for j in rng.choice(len(pool), size=min(n, len(pool)), replace=False):
        ws = words(env.documents[ids[pool[int(j)]]])
        if len(ws) < 2:
            continue
        start = int(rng.integers(0, max(1, len(ws) - n_words + 1)))
        text = " ".join(ws[start : start + n_words])
        terms = bm25_tokenize(text)
        if not terms or text in planned or text in env.queries.values():
            continue
        scores = bm25.get_scores(terms)
        top = [int(i) for i in np.argsort(-scores, kind="stable")[: min(depth, len(ids))] if scores[int(i)] > 0]
        if len(top) >= 2:
            planned[text] = [ids[i] for i in top]
    with_scores = env.expose_scores and env.score_fn is not None
    h = hashlib.sha256(json.dumps([sorted(planned.items()), with_scores], sort_keys=True).encode()).hexdigest()[:24]
    cache = env.artifact_dir("victim-scores", h) / "lists.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    n_texts = sum(len(c) for c in planned.values())
    if cache.is_file():
        out = {t: [(d, s) for d, s in lst] for t, lst in json.loads(cache.read_text()).items()}
        info["cached"] = True
    else:
        out = {}
        for text, cand in planned.items():
            texts = [env.documents[d] for d in cand]
            if with_scores:
                s = env.victim_scores(text, texts)
                order = sorted(range(len(cand)), key=lambda i: (-s[i], cand[i]))
                out[text] = [(cand[i], float(s[i])) for i in order]
            else:
                order = env.victim_rank(text, texts) or []
                out[text] = [(cand[int(i)], None) for i in order]
        cache.write_text(json.dumps(out))
    info["queries"] = len(out)
    info["victim_texts_scored"] = n_texts
    info["victim_signal"] = "scores" if with_scores else "ranks"
    return out, info
