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

Fidelity on held-out queries (queries whose lists were not used for training): the imitation
model re-ranks the victim's list of each held-out query, compared with the victim's order by
top-10 overlap (|top-10 ∩ top-10| / 10) and rank-biased overlap (RBO, Webber et al., TOIS 2010,
extrapolated form ``RBO_ext`` of their Eq. 32, persistence p = 0.7 as in the PAT paper's
imitation-agreement table).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustrank.api import PairwiseExample

__all__ = [
    "ImitationModel",
    "build_imitation_pairs",
    "fidelity",
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


def top_k_overlap(a: Sequence[str], b: Sequence[str], k: int = 10) -> float:
    """|top-k(a) ∩ top-k(b)| / k."""
    return len(set(a[:k]) & set(b[:k])) / k


def rank_biased_overlap(a: Sequence[str], b: Sequence[str], p: float = 0.7) -> float:
    """Extrapolated rank-biased overlap of two rankings (Webber et al., 2010, Eq. 32).

    Both lists are read to the shorter one's depth k:
    ``RBO_ext = X_k / k * p^k + (1 - p) / p * sum_{d=1..k} X_d / d * p^d``, X_d the overlap at
    depth d. 1.0 for identical lists.
    """
    k = min(len(a), len(b))
    if k == 0:
        return 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap, acc = 0, 0.0
    for d in range(1, k + 1):
        x, y = a[d - 1], b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        acc += overlap / d * p**d
    return float(overlap / k * p**k + (1 - p) / p * acc)


@dataclass
class ImitationModel:
    """A trained pairwise cross-encoder with the gradient access PAT needs.

    Args:
        path: Model folder (as written by ``train_pairwise_cross_encoder``).
        device: torch device spec ("auto" prefers CUDA).
        max_length: Tokens per (query, document) input.
        batch_size: Pairs per forward pass.
    """

    path: str
    device: str = "auto"
    max_length: int = 128
    batch_size: int = 32

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        dev = self.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        self._torch = torch
        self._dev = torch.device(dev)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(self.path, local_files_only=True).to(self._dev).eval()
        for prm in self.model.parameters():
            prm.requires_grad_(False)
        self.forward_pairs = 0

    def _encode(self, queries: Sequence[str], docs: Sequence[str]):
        enc = self.tokenizer(list(queries), list(docs), padding=True, truncation="only_second", max_length=self.max_length, return_tensors="pt")
        return enc.to(self._dev)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Imitation scores (logits) of (query, document) pairs."""
        out = np.empty(len(pairs), dtype=np.float64)
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        with self._torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                enc = self._encode([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
                out[idx] = self.model(**enc).logits[:, 0].float().cpu().numpy()
        self.forward_pairs += len(pairs)
        return out

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Imitation scores of documents for one query."""
        return self.score_pairs([(query, d) for d in docs])

    def embedding_matrix(self):
        """The input word-embedding matrix [vocab, dim] (a torch tensor, no grad)."""
        return self.model.get_input_embeddings().weight.detach()

    def token_gradient(self, query: str, doc: str, anchor_score: float) -> tuple[Any, float]:
        """Gradient of the pairwise objective w.r.t. the embedding at the doc's ``[MASK]``.

        The objective is ``log sigmoid(s(query, doc) - anchor_score)``: the imitation model's
        log-probability that the document beats the anchor.

        Args:
            query: Query text.
            doc: Document text containing the tokenizer's mask token once.
            anchor_score: s(query, anchor), a constant.

        Returns:
            (gradient [dim] as a torch tensor, the embedding at the mask position [dim]).

        Raises:
            ValueError: The mask token was truncated away.
        """
        torch = self._torch
        enc = self._encode([query], [doc])
        ids = enc["input_ids"][0]
        pos = (ids == self.tokenizer.mask_token_id).nonzero()
        if len(pos) == 0:
            raise ValueError("mask position truncated; lower the trigger position or raise max_length")
        p = int(pos[-1])
        with torch.enable_grad():
            embeds = self.model.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
            kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
            s = self.model(inputs_embeds=embeds, **kwargs).logits[0, 0]
            obj = torch.nn.functional.logsigmoid(s - anchor_score)
            obj.backward()
        self.forward_pairs += 1
        return embeds.grad[0, p].detach(), embeds[0, p].detach()


def fidelity(
    model: ImitationModel,
    rankings: Mapping[str, Sequence[tuple[str, Any]]],
    queries: Mapping[str, str],
    documents: Mapping[str, str],
    *,
    depth: int = 100,
    k: int = 10,
    p: float = 0.7,
    progress: bool = False,
) -> dict[str, Any]:
    """Agreement of the imitation model with the victim on (held-out) queries.

    The imitation model re-ranks the victim's top-``depth`` list of each query.

    Returns:
        {"queries", "depth", "top10_overlap" (mean), "rbo" (mean), "rbo_p", "random_top10_overlap"
        (expected overlap of a random order), "per_query": {qid: {"top10_overlap", "rbo"}}}.
    """
    from tqdm.auto import tqdm

    per: dict[str, dict[str, float]] = {}
    for qid in tqdm(sorted(queries), desc="imitation fidelity", disable=not progress, leave=False):
        ranked = [d for d, _ in rankings.get(qid, ())][:depth]
        if len(ranked) < k:
            continue
        scores = model.score(queries[qid], [documents[d] for d in ranked])
        mine = [ranked[i] for i in sorted(range(len(ranked)), key=lambda i: (-scores[i], ranked[i]))]
        per[qid] = {"top10_overlap": top_k_overlap(ranked, mine, k), "rbo": rank_biased_overlap(ranked, mine, p)}
    n_depth = min((len(rankings.get(q, ())) for q in per), default=depth)
    return {
        "queries": len(per),
        "depth": min(depth, n_depth),
        "top10_overlap": float(np.mean([v["top10_overlap"] for v in per.values()])) if per else None,
        "rbo": float(np.mean([v["rbo"] for v in per.values()])) if per else None,
        "rbo_p": p,
        "random_top10_overlap": k / min(depth, n_depth) if per else None,
        "per_query": per,
    }
