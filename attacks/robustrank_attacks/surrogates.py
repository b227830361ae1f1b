"""Differentiable stand-ins for a black-box victim: surrogate (PRADA) and imitation (PAT) models.

A :class:`SurrogateModel` wraps a trained student - a cross-encoder (one logit per (query,
document) pair) or a bi-encoder (mean-pooled, L2-normalised embeddings, score = cosine times a
scale) - and gives the attacks what they need: scores, the input word-embedding matrix, the
gradient of an objective at one document position (PAT), and scores as a function of an
embedding table shared by a batch of texts (PRADA's importance ranking and PGD).

The bi-encoder's scale turns cosines into logit-sized scores, so objectives such as
``log sigmoid(s(q, d) - s(q, anchor))`` weigh a score gap the same way for both architectures:
the scale a distilled student learned (``training.json: logit_scale``), else ``default_scale``
(20, the scale of sentence-transformers' in-batch softmax loss for cosine models).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EmbeddingTable", "SurrogateModel", "detect_architecture"]

log = logging.getLogger(__name__)


def detect_architecture(path: str | Path) -> str:
    """``bi-encoder`` for a sentence-transformers folder (modules.json), else ``cross-encoder``."""
    return "bi-encoder" if (Path(path) / "modules.json").is_file() else "cross-encoder"


@dataclass
class EmbeddingTable:
    """A batch of texts scored through one shared table of input-embedding rows.

    Attributes:
        ids: The distinct token ids of the batch (1-D long tensor).
        rows: Their embedding rows (detached copy) [len(ids), dim].
        scores: ``scores(table) -> tensor[len(texts)]``: the batch's scores when row ``i`` of
            ``table`` is the embedding of token ``ids[i]``.
        doc_ids: Token ids of the first text's document (specials removed).
    """

    ids: Any
    rows: Any
    scores: Callable[[Any], Any]
    doc_ids: set[int]


class SurrogateModel:
    """A trained student ranker with the gradient access the black-box attacks need.

    Args:
        path: Model folder (a cross-encoder, or a sentence-transformers bi-encoder).
        architecture: bi-encoder | cross-encoder | auto (from the folder).
        device: torch device spec ("auto" prefers CUDA).
        max_length: Tokens per input.
        batch_size: Inputs per forward pass.
        default_scale: Cosine scale of a bi-encoder without a learned one.
    """

    def __init__(self, path: str, *, architecture: str = "auto", device: str = "auto", max_length: int = 128, batch_size: int = 32, default_scale: float = 20.0):
        import torch
        from transformers import (
            AutoModel,
            AutoModelForSequenceClassification,
            AutoTokenizer,
        )

        self.path = str(path)
        self.architecture = detect_architecture(path) if architecture == "auto" else architecture
        dev = device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        self._torch = torch
        self._dev = torch.device(dev)
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.bi = self.architecture == "bi-encoder"
        cls = AutoModel if self.bi else AutoModelForSequenceClassification
        self.model = cls.from_pretrained(self.path, local_files_only=True).to(self._dev).eval()
        for prm in self.model.parameters():
            prm.requires_grad_(False)
        self.scale = 1.0
        self.pooling = "mean"
        if self.bi:
            info = self._read(Path(self.path) / "training.json")
            self.scale = float(info.get("logit_scale") or default_scale)
            pool = self._read(Path(self.path) / "1_Pooling" / "config.json")
            self.pooling = "cls" if pool.get("pooling_mode_cls_token") else "mean"
        self.forward_pairs = 0

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def describe(self) -> dict[str, Any]:
        """Architecture, folder and score scale, for results.json."""
        return {"architecture": self.architecture, "path": self.path, "scale": self.scale, "pooling": self.pooling if self.bi else None}

    def train_mode(self, on: bool) -> None:
        """Dropout on (``on``) or off for the following forwards (gradients stay off the weights)."""
        self.model.train(on)

    # -- encoding --------------------------------------------------------------------------------
    def _pool(self, hidden, mask):
        torch = self._torch
        if self.pooling == "cls":
            emb = hidden[:, 0]
        else:
            m = mask.unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(emb.float(), dim=-1)

    def _tok1(self, texts: Sequence[str]):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(self._dev)

    def _tok2(self, queries: Sequence[str], docs: Sequence[str]):
        return self.tokenizer(list(queries), list(docs), padding=True, truncation="only_second", max_length=self.max_length, return_tensors="pt").to(self._dev)

    def _embed(self, texts: Sequence[str], inputs_embeds=None, enc=None):
        enc = enc if enc is not None else self._tok1(texts)
        if inputs_embeds is None:
            out = self.model(**enc)
        else:
            out = self.model(inputs_embeds=inputs_embeds, **{k: v for k, v in enc.items() if k != "input_ids"})
        return self._pool(out.last_hidden_state, enc["attention_mask"])

    # -- scoring ---------------------------------------------------------------------------------
    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Scores (cross-encoder logits, or scaled bi-encoder cosines) of (query, document) pairs."""
        out = np.empty(len(pairs), dtype=np.float64)
        with self._torch.inference_mode():
            if self.bi:
                texts = list(dict.fromkeys(t for p in pairs for t in p))
                order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
                emb: dict[str, Any] = {}
                for s in range(0, len(order), self.batch_size):
                    idx = order[s : s + self.batch_size]
                    e = self._embed([texts[i] for i in idx])
                    for i, row in zip(idx, e):
                        emb[texts[i]] = row
                for j, (q, d) in enumerate(pairs):
                    out[j] = float(emb[q] @ emb[d]) * self.scale
            else:
                order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
                for s in range(0, len(order), self.batch_size):
                    idx = order[s : s + self.batch_size]
                    enc = self._tok2([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
                    out[idx] = self.model(**enc).logits[:, 0].float().cpu().numpy()
        self.forward_pairs += len(pairs)
        return out

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Scores of documents for one query."""
        return self.score_pairs([(query, d) for d in docs])

    def embedding_matrix(self):
        """The input word-embedding matrix [vocab, dim] (a torch tensor, no grad)."""
        return self.model.get_input_embeddings().weight.detach()

    # -- gradients -------------------------------------------------------------------------------
    def token_gradient(self, query: str, doc: str, anchor_score: float) -> tuple[Any, float]:
        """Gradient of ``log sigmoid(s(query, doc) - anchor_score)`` w.r.t. the embedding at the doc's ``[MASK]``.

        Returns:
            (gradient [dim] as a torch tensor, the embedding at the mask position [dim]).

        Raises:
            ValueError: The mask token was truncated away.
        """
        torch = self._torch
        enc = self._tok1([doc]) if self.bi else self._tok2([query], [doc])
        ids = enc["input_ids"][0]
        pos = (ids == self.tokenizer.mask_token_id).nonzero()
        if len(pos) == 0:
            raise ValueError("mask position truncated; lower the trigger position or raise max_length")
        p = int(pos[-1])
        with torch.enable_grad():
            embeds = self.model.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
            if self.bi:
                with torch.no_grad():
                    q = self._embed([query])[0]
                s = (self._embed([doc], inputs_embeds=embeds, enc=enc)[0] @ q) * self.scale
            else:
                kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
                s = self.model(inputs_embeds=embeds, **kwargs).logits[0, 0]
            obj = torch.nn.functional.logsigmoid(s - anchor_score)
            obj.backward()
        self.forward_pairs += 1
        return embeds.grad[0, p].detach(), embeds[0, p].detach()

    def table(self, query: str, texts: Sequence[str]) -> EmbeddingTable:
        """The batch (query, texts[i]) scored through one shared table of embedding rows (PRADA)."""
        torch = self._torch
        weight = self.model.get_input_embeddings().weight
        special = {self.tokenizer.sep_token_id, self.tokenizer.cls_token_id, self.tokenizer.pad_token_id}
        if self.bi:
            enc_q, enc_d = self._tok1([query]), self._tok1(texts)
            flat = torch.cat([enc_q["input_ids"].flatten(), enc_d["input_ids"].flatten()])
            uniq, inverse = torch.unique(flat, return_inverse=True)
            nq = enc_q["input_ids"].numel()
            inv_q = inverse[:nq].view_as(enc_q["input_ids"])
            inv_d = inverse[nq:].view_as(enc_d["input_ids"])

            def scores(sub):
                q = self._embed([query], inputs_embeds=sub[inv_q], enc=enc_q)[0]
                return (self._embed(texts, inputs_embeds=sub[inv_d], enc=enc_d) @ q) * self.scale

            doc_ids = set(enc_d["input_ids"][0].tolist()) - special
        else:
            enc = self._tok2([query] * len(texts), texts)
            ids = enc["input_ids"]
            uniq, inverse = torch.unique(ids, return_inverse=True)
            kwargs = {k: v for k, v in enc.items() if k != "input_ids"}

            def scores(sub):
                return self.model(inputs_embeds=sub[inverse], **kwargs).logits[:, 0]

            if "token_type_ids" in enc:
                doc_ids = set(ids[0][enc["token_type_ids"][0] == 1].tolist())
            else:
                doc_ids = set(ids[0].tolist())
            doc_ids -= special
        self.forward_pairs += len(texts)
        return EmbeddingTable(uniq, weight[uniq].detach().clone(), scores, doc_ids)
