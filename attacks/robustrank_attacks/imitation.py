"""Ranking imitation of a black-box victim (Liu et al., CCS 2022, Section 4 "ranking imitation").

The attacker sees only the victim's ranked lists. From each list it reads pairwise preferences
and trains a pairwise cross-encoder to reproduce them; PAT then attacks this imitation model.

Training pairs (reference code LauJames/PAT, ``bert_ranker/dataloader/sample_runs.py`` and the
``top_25_last_4`` model names):

* every ordered pair within the victim's top-25 (the higher-ranked document is "better");
* for every top-25 document, 4 random documents from below rank 25 as "worse".

That is 300 + 100 pairs per query. On a CPU the full set cannot be trained in the demo's time, so
``max_pairs`` caps the pairs by a seeded uniform sample (a documented deviation; the paper
trains on all pairs of many more queries on GPUs).

When the victim exposes scores, PAT instead distils them (``robustrank.api.train_distilled_ranker``,
architecture-matched to the victim); these pairs are the ranks-only path.

Fidelity on held-out queries (``robustrank.api.measure_fidelity``): the imitation model re-ranks
the victim's list of each held-out query, compared with the victim by Spearman, top-10 overlap
and rank-biased overlap (RBO, Webber et al., TOIS 2010, p = 0.7 as in the PAT paper's
imitation-agreement table), each with a bootstrap interval over queries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robustrank.api import PairwiseExample, rank_biased_overlap, top_k_overlap
from robustrank_attacks.surrogates import SurrogateModel

__all__ = [
    "ImitationModel",
    "build_imitation_pairs",
    "rank_biased_overlap",
    "top_k_overlap",
]

log = logging.getLogger(__name__)


def build_imitation_pairs(
    rankings: Mapping[str, Sequence[tuple[str, Any]]],
    queries: Mapping[str, str],
    documents: Mapping[str, str],
    rng: np.random.Generator,
    *,
    top: int = 25,
    negatives_per_doc: int = 4,
) -> list[PairwiseExample]:
    """Pairwise preferences read off the victim's ranked lists.

    Args:
        rankings: query_id -> the victim's list [(doc_id, score or None)], best first.
        queries: query_id -> text (only these queries are used).
        documents: doc_id -> text.
        rng: Draws the negatives from below ``top``.
        top: Depth within which every ordered pair is a preference (reference: 25).
        negatives_per_doc: Documents from below ``top`` paired with each top document (reference: 4).

    Returns:
        Preferences in a deterministic order (by query id, then rank).
    """
    out: list[PairwiseExample] = []
    for qid in sorted(queries):
        ranked = [d for d, _ in rankings.get(qid, ())]
        if len(ranked) < 2:
            continue
        q = queries[qid]
        head, tail = ranked[:top], ranked[top:]
        for i, better in enumerate(head):
            for worse in head[i + 1 :]:
                out.append(PairwiseExample(q, documents[better], documents[worse]))
            if tail and negatives_per_doc > 0:
                k = min(negatives_per_doc, len(tail))
                for j in rng.choice(len(tail), size=k, replace=False):
                    out.append(PairwiseExample(q, documents[better], documents[tail[int(j)]]))
    return out


ImitationModel = SurrogateModel
"""The imitation model PAT attacks (a :class:`~robustrank_attacks.surrogates.SurrogateModel`)."""
