"""Adversarial passages for corpus poisoning of a dense retriever (Zhong et al., EMNLP 2023).

The attacker holds a set of queries. Their embeddings are grouped by k-means; for each group one
passage of ``tokens`` word-piece tokens is optimised to maximise the mean similarity to the group's
queries. Because similarity is linear in the query embedding, that mean equals the similarity to
the group's mean query embedding (the *target*), so one forward pass scores a passage.

* :func:`hotflip_passage` (white-box): each step takes the gradient of target·embedding w.r.t. the
  passage's input word embeddings, ranks replacement tokens for one position by ``E @ grad``
  (HotFlip, Ebrahimi et al. 2018), scores the ``candidates`` best exactly and keeps the best if it
  improves. Positions are visited in a seeded random order, cycling.
* :func:`blackbox_passage`: the same search with replacement tokens drawn at random (half from the
  attacker's query words, half from the vocabulary), scored through the victim's ``encode`` only.

Deviations from the paper (for CPU cost and a faithful text): passages start from random whole-word
tokens rather than ``[MASK]``; replacements are restricted to whole-word alphanumeric tokens, so the
injected *text* (tokens joined by spaces) re-tokenises to exactly the optimised ids; the passage is
measured by re-encoding that text through the ordinary pipeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PoisonedPassage", "blackbox_passage", "count_in_topk", "hotflip_passage", "kmeans", "whole_word_vocab"]

log = logging.getLogger(__name__)

_WORD = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class PoisonedPassage:
    """One optimised passage.

    Attributes:
        cluster: Index of the attacker-query cluster it targets.
        attack_queries: Queries in that cluster.
        token_ids: The optimised word-piece ids (without special tokens).
        text: The injected text.
        similarity: Mean similarity to the cluster's queries at the end of the search.
        initial_similarity: The same for the random starting passage.
        accepted_steps: Steps whose best candidate improved the passage.
        victim_encodings: Texts the victim embedded for this passage (black-box cost).
    """

    cluster: int
    attack_queries: int
    token_ids: tuple[int, ...]
    text: str
    similarity: float
    initial_similarity: float
    accepted_steps: int
    victim_encodings: int


def whole_word_vocab(tokenizer: Any) -> np.ndarray:
    """Ids of whole-word alphanumeric tokens (no ``##`` pieces, specials or punctuation)."""
    vocab = tokenizer.get_vocab()
    special = set(getattr(tokenizer, "all_special_ids", []))
    return np.array(sorted(i for t, i in vocab.items() if _WORD.match(t) and i not in special), dtype=np.int64)


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 50) -> np.ndarray:
    """Seeded k-means (k-means++ start) on rows of ``x``; returns a label per row."""
    n = x.shape[0]
    k = min(k, n)
    centers = [x[int(rng.integers(n))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.asarray(centers)[None]) ** 2).sum(-1), axis=1)
        p = d / d.sum() if d.sum() > 0 else np.full(n, 1 / n)
        centers.append(x[int(rng.choice(n, p=p))])
    c = np.asarray(centers)
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iters):
        new = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                c[j] = x[labels == j].mean(0)
    return labels


def _text(tokenizer: Any, ids: Sequence[int]) -> str:
    return " ".join(tokenizer.convert_ids_to_tokens(list(ids)))


class _IdEncoder:
    """Embeds token-id sequences with a Hugging Face bi-encoder's own model (for HotFlip)."""

    def __init__(self, ranker: Any):
        import torch

        self.torch = torch
        self.ranker = ranker
        self.model = ranker.backbone.model
        self.device = ranker.backbone.device
        self.embeddings = ranker.backbone.word_embeddings()
        tok = ranker.tokenizer
        self.cls, self.sep = tok.cls_token_id, tok.sep_token_id

    def _wrap(self, ids: np.ndarray):
        t = self.torch
        body = t.as_tensor(ids, dtype=t.long, device=self.device)
        b = body.shape[0]
        cls = t.full((b, 1), self.cls, dtype=t.long, device=self.device)
        sep = t.full((b, 1), self.sep, dtype=t.long, device=self.device)
        return t.cat([cls, body, sep], dim=1)

    def _pool(self, hidden):
        t = self.torch
        pooling = getattr(self.ranker, "pooling", "mean")
        emb = hidden[:, 0] if pooling == "cls" else hidden.max(dim=1).values if pooling == "max" else hidden.mean(dim=1)
        if getattr(self.ranker, "similarity", "cosine") == "cosine":
            emb = t.nn.functional.normalize(emb.float(), dim=-1)
        return emb.float()

    def similarity(self, ids: np.ndarray, target: np.ndarray) -> np.ndarray:
        """target · embedding for each row of ids (no gradient)."""
        t = self.torch
        with t.inference_mode():
            full = self._wrap(ids)
            out = self.model(input_ids=full, attention_mask=t.ones_like(full), token_type_ids=t.zeros_like(full))
            emb = self._pool(out.last_hidden_state)
            return (emb @ t.as_tensor(target, device=self.device)).cpu().numpy()

    def gradient(self, ids: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        """target · embedding of one passage and its gradient w.r.t. the passage's input embeddings."""
        t = self.torch
        full = self._wrap(ids[None])
        with t.enable_grad():
            embeds = self.embeddings(full).detach().requires_grad_(True)
            out = self.model(inputs_embeds=embeds, attention_mask=t.ones_like(full), token_type_ids=t.zeros_like(full))
            value = self._pool(out.last_hidden_state)[0] @ t.as_tensor(target, device=self.device)
            value.backward()
        return float(value.detach()), embeds.grad[0, 1:-1].float().cpu().numpy()

    def weight(self) -> np.ndarray:
        return self.embeddings.weight.detach().float().cpu().numpy()


def hotflip_passage(
    ranker: Any, target: np.ndarray, *, tokens: int, steps: int, candidates: int, rng: np.random.Generator, vocab: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float, float, int]:
    """White-box HotFlip search; returns (ids, final similarity, initial similarity, accepted steps)."""
    enc = _IdEncoder(ranker)
    w = weight if weight is not None else enc.weight()[vocab]
    ids = rng.choice(vocab, size=tokens)
    best = initial = float(enc.similarity(ids[None], target)[0])
    order = rng.permutation(tokens)
    accepted = 0
    for step in range(steps):
        pos = int(order[step % tokens])
        _, grad = enc.gradient(ids, target)
        gain = w @ grad[pos]
        top = vocab[np.argsort(-gain)[:candidates]]
        batch = np.repeat(ids[None], len(top), axis=0)
        batch[:, pos] = top
        sims = enc.similarity(batch, target)
        j = int(np.argmax(sims))
        if sims[j] > best:
            best, ids, accepted = float(sims[j]), batch[j].copy(), accepted + 1
    return ids, best, initial, accepted


def blackbox_passage(
    encoder: Any, tokenizer: Any, target: np.ndarray, *, tokens: int, steps: int, candidates: int, rng: np.random.Generator,
    vocab: np.ndarray, query_vocab: np.ndarray,
) -> tuple[np.ndarray, float, float, int, int]:
    """Black-box search through ``encoder.encode`` only; returns (ids, sim, initial sim, accepted, texts encoded)."""
    pool = query_vocab if query_vocab.size else vocab

    def sims(rows: np.ndarray) -> np.ndarray:
        return np.asarray(encoder.encode([_text(tokenizer, r) for r in rows]), dtype=np.float32) @ target

    ids = rng.choice(pool, size=tokens)
    best = initial = float(sims(ids[None])[0])
    calls = 1
    order = rng.permutation(tokens)
    accepted = 0
    for step in range(steps):
        pos = int(order[step % tokens])
        half = candidates // 2
        proposals = np.unique(np.concatenate([rng.choice(pool, size=half), rng.choice(vocab, size=candidates - half)]))
        batch = np.repeat(ids[None], len(proposals), axis=0)
        batch[:, pos] = proposals
        s = sims(batch)
        calls += len(batch)
        j = int(np.argmax(s))
        if s[j] > best:
            best, ids, accepted = float(s[j]), batch[j].copy(), accepted + 1
    return ids, best, initial, accepted, calls


def count_in_topk(corpus_scores: np.ndarray, passage_scores: np.ndarray, k: int) -> np.ndarray:
    """Poisoned passages among the top-k of corpus + passages, per query (a corpus document wins a tie).

    Args:
        corpus_scores: [n_queries, >= k] the corpus's best scores per query.
        passage_scores: [n_queries, n_passages].
        k: Cut-off.
    """
    counts = np.zeros(corpus_scores.shape[0], dtype=np.int64)
    for row, (cs, ps) in enumerate(zip(corpus_scores, passage_scores)):
        cs = np.asarray(cs)[:k]
        for m, s in enumerate(sorted(ps.tolist(), reverse=True)):
            if m + int((cs >= s).sum()) < k:
                counts[row] += 1
    return counts
