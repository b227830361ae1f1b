"""PRADA's surrogate training triples (ranks-only oracle) and the listed deviations from the
reference implementation (docs/attacks.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustrank.api import PairwiseExample

__all__ = ["DEVIATIONS_COMMON", "DEVIATIONS_REFERENCE", "DEVIATIONS_ROBUSTRANK", "build_triples"]


def build_triples(
    rankings: dict[str, list[tuple[str, Any]]],
    queries: dict[str, str],
    documents: dict[str, str],
    *,
    n_queries: int | None,
    positive_depth: int,
    negative_from: int,
    pairs_per_query: int,
    rng: np.random.Generator,
) -> list[PairwiseExample]:
    """Pseudo-relevance-feedback triples from a victim's ranked lists (our builder; see module doc)."""
    qids = sorted(q for q in rankings if q in queries and len(rankings[q]) >= negative_from)
    if n_queries is not None and n_queries < len(qids):
        qids = sorted(rng.choice(qids, size=n_queries, replace=False).tolist())
    out = []
    for qid in qids:
        ranked = [d for d, _ in rankings[qid] if d in documents]
        pos, neg = ranked[:positive_depth], ranked[negative_from - 1 :]
        if not pos or not neg:
            continue
        for _ in range(pairs_per_query):
            p, n = pos[int(rng.integers(len(pos)))], neg[int(rng.integers(len(neg)))]
            out.append(PairwiseExample(queries[qid], documents[p], documents[n]))
    return out


DEVIATIONS_COMMON = [
    "surrogate initialised from all-MiniLM-L6-v2 (the reference starts from BERT-base) and trained on a short CPU schedule",
    "surrogate trained by score distillation on the victim's scored lists when scores are exposed "
    "(the reference trains on pseudo-relevance triples); ranks only: our own triple builder "
    "(positive ~ U(ranks 1..positive_depth), negative ~ U(ranks negative_from..end)) since the reference's is missing",
    "surrogate architecture matched to the victim's family (bi-encoder surrogate for a bi-encoder victim); the reference "
    "always uses a cross-encoder",
    "lexicon: robustrank's WordNet+GloVe table instead of counter-fitted vectors",
    "the audit's word budget is a hard limit on words changed (word-level edit distance) on top of m",
]
DEVIATIONS_ROBUSTRANK = [
    "margin loss over loss_docs documents spread evenly over the list, one batch, pgd_iterations PGD steps "
    "(reference: the whole list in 5 batches of 20, 3 cumulative steps per batch = 15 steps)",
    "only words that have synonyms compete for the m important-word slots (reference: rank all tokens, then drop those without synonyms)",
    "surrogate in eval mode for gradients (reference: train mode, dropout on)",
    "greedy step: each occurrence is tried on the accepted text only (rejected replacements are dropped) and the budget "
    "counts words (reference: keeps earlier replacements of the word and counts accepted steps)",
    "candidates_per_word synonyms scored per position in one victim batch (reference: 1)",
]
DEVIATIONS_REFERENCE = [
    "words are ranked over the document's distinct words (mean word-piece gradient norm) rather than over word-piece ids",
]
