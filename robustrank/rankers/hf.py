"""Hugging Face rankers loaded from a local folder: bi-encoders and cross-encoders.

Both batch inputs sorted by token count (batch size per device unless set), run under ``torch.inference_mode``, honour
``device: auto|cpu|cuda[:n]`` and a half-precision dtype on GPU, and expose the optional
capabilities ``tokenizer``, ``embedding_gradients`` and ``fingerprint``.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.errors import ConfigError
from robustrank.rankers.base import TokenGradients
from robustrank.rankers.batching import length_sorted_batches, pick_batch_size, token_sorted_batches
from robustrank.rankers.device import resolve_device, resolve_dtype
from robustrank.rankers.resolve import resolve_model, weights_fingerprint

__all__ = ["BiEncoderRanker", "CrossEncoderRanker", "length_sorted_batches"]

log = logging.getLogger(__name__)


def _check_loaded(path: str, model: Any, info: dict[str, Any]) -> None:
    """Refuse a checkpoint whose weights mostly do not belong to the model its config.json
    describes (e.g. ``{}`` as config.json): transformers would silently use random weights."""

    missing = info.get("missing_keys") or []
    total = len(model.state_dict())
    if total and len(missing) >= 0.5 * total:
        kind = getattr(model.config, "model_type", "?")
        raise ConfigError(
            f"ranker: cannot load {path}: {len(missing)} of {total} weights of a {kind!r} model are not in the checkpoint "
            "(config.json does not describe these weights)"
        )


class _Backbone:
    """Tokenizer + model on a device: the part both rankers share."""

    def __init__(self, model_cls_name: str, path: str, *, device: str, dtype: str, allow_network: bool, max_length: int):
        import torch
        import transformers

        self.path = path
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        local_only = not allow_network
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=local_only)
        model_cls = getattr(transformers, model_cls_name)
        self.model, info = model_cls.from_pretrained(path, local_files_only=local_only, output_loading_info=True)
        _check_loaded(path, self.model, info)
        self.model.to(device=self.device, dtype=self.dtype).eval()
        self.max_length = min(max_length, getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self._torch = torch

    def encode_inputs(self, *texts: Sequence[str]) -> dict[str, Any]:
        enc = self.tokenizer(*texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def batches(self, first: Sequence[str], second: Sequence[str] | None, batch_size: int) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """Batches sorted by token count, as tensors on the device (see :func:`token_sorted_batches`)."""
        for idx, enc in token_sorted_batches(self.tokenizer, first, second, batch_size=batch_size, max_length=self.max_length):
            yield idx, {k: self._torch.from_numpy(v).to(self.device) for k, v in enc.items()}

    def word_embeddings(self):
        return self.model.get_input_embeddings()

    def embedding_rows(self, token_ids: Sequence[int]) -> np.ndarray:
        with self._torch.no_grad():
            idx = self._torch.as_tensor(list(token_ids), dtype=self._torch.long, device=self.device)
            return self.word_embeddings().weight[idx].float().cpu().numpy()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _st_settings(folder: str) -> dict[str, Any]:
    """Pooling, normalisation, similarity and max length from a sentence-transformers folder."""
    p = Path(folder)
    out: dict[str, Any] = {"pooling": "mean", "normalize": False, "similarity": None, "max_seq_length": None}
    modules = _read_json(p / "modules.json")
    if isinstance(modules, list):
        for mod in modules:
            kind = str(mod.get("type", ""))
            if kind.endswith("Pooling"):
                cfg = _read_json(p / mod.get("path", "") / "config.json")
                if cfg.get("pooling_mode_cls_token"):
                    out["pooling"] = "cls"
                elif cfg.get("pooling_mode_max_tokens"):
                    out["pooling"] = "max"
            elif kind.endswith("Normalize"):
                out["normalize"] = True
    out["similarity"] = _read_json(p / "config_sentence_transformers.json").get("similarity_fn_name")
    out["max_seq_length"] = _read_json(p / "sentence_bert_config.json").get("max_seq_length")
    return out


class BiEncoderRanker:
    """A sentence-transformers style bi-encoder: score = cos or dot of pooled embeddings.

    Pooling, normalisation and similarity default to what the model folder's
    sentence-transformers config says (modules.json, 1_Pooling/config.json, Normalize module,
    ``similarity_fn_name``); without such config: mean pooling and cosine.
    Document and query embeddings are cached by text (LRU), so a document shared by many
    queries is encoded once.

    Args:
        model: Local folder (or hub id, see :func:`~robustrank.rankers.resolve.resolve_model`).
        batch_size: Texts per forward pass (None: 16 on CPU, 64 on GPU).
        max_length: Maximum tokens.
        device: auto | cpu | cuda[:n] | mps.
        dtype: float32 | float16 | bfloat16 (GPU only).
        similarity: auto | cosine | dot.
        pooling: auto | mean | cls | max.
        allow_network: Allow a hub download.
        embedding_cache: Texts whose embeddings are kept.
        base_dir: Folder relative model paths resolve against.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int | None = None,
        max_length: int = 256,
        device: str = "auto",
        dtype: str = "float32",
        similarity: str = "auto",
        pooling: str = "auto",
        allow_network: bool = False,
        embedding_cache: int = 200_000,
        base_dir: Path | None = None,
    ):
        path = resolve_model(model, base_dir=base_dir, allow_network=allow_network)
        st = _st_settings(path)
        if st["max_seq_length"]:
            max_length = min(max_length, int(st["max_seq_length"]))
        self.backbone = _Backbone("AutoModel", path, device=device, dtype=dtype, allow_network=allow_network, max_length=max_length)
        self.tokenizer = self.backbone.tokenizer
        self.name = model
        self.model_path = path
        self.batch_size = pick_batch_size(batch_size, self.backbone.device)
        self.pooling = st["pooling"] if pooling == "auto" else pooling
        if similarity == "auto":
            similarity = "cosine" if st["normalize"] else (st["similarity"] or "cosine")
            if similarity not in ("cosine", "dot"):
                log.warning("similarity %r from the model config is not supported; using cosine", similarity)
                similarity = "cosine"
        self.similarity = similarity
        self._emb_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._emb_cache_size = embedding_cache
        self.forward_texts = 0

    @classmethod
    def from_config(cls, config: Any, *, base_dir: Path | None = None, **_: Any) -> BiEncoderRanker:
        """Build from a :class:`~robustrank.config.RankerConfig`."""
        return cls(
            config.model,
            batch_size=config.batch_size,
            max_length=config.max_length,
            device=config.device,
            dtype=config.dtype,
            similarity=config.similarity,
            pooling=config.pooling,
            allow_network=config.allow_network,
            base_dir=base_dir,
            **config.options,
        )

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {
            "type": "bi-encoder",
            "model": self.name,
            "path": self.model_path,
            "pooling": self.pooling,
            "similarity": self.similarity,
            "max_length": self.backbone.max_length,
            "device": str(self.backbone.device),
            "dtype": str(self.backbone.dtype).removeprefix("torch."),
        }

    def fingerprint(self) -> dict[str, str]:
        """sha256 of the model's weight files."""
        return weights_fingerprint(self.model_path)

    def _pool(self, hidden, mask):
        torch = self.backbone._torch
        if self.pooling == "cls":
            emb = hidden[:, 0]
        elif self.pooling == "max":
            emb = hidden.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(hidden.dtype).min).max(dim=1).values
        else:
            m = mask.unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        if self.similarity == "cosine":
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
        return emb.float()

    def _forward(self, texts: Sequence[str]):
        enc = self.backbone.encode_inputs(list(texts))
        out = self.backbone.model(**enc)
        return self._pool(out.last_hidden_state, enc["attention_mask"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (cached by text), in batches sorted by length.

        Returns:
            Float32 array [len(texts), dim]; L2-normalised when similarity is cosine.
        """
        missing = list(dict.fromkeys(t for t in texts if t not in self._emb_cache))
        if missing:
            with self.backbone._torch.inference_mode():
                for idx, enc in self.backbone.batches(missing, None, self.batch_size):
                    embs = self._pool(self.backbone.model(**enc).last_hidden_state, enc["attention_mask"]).cpu().numpy()
                    for i, e in zip(idx, embs):
                        self._emb_cache[missing[i]] = e
            self.forward_texts += len(missing)
        result = np.stack([self._emb_cache[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)
        for t in texts:
            self._emb_cache.move_to_end(t)
        while len(self._emb_cache) > self._emb_cache_size:
            self._emb_cache.popitem(last=False)
        return result

    def prime_embeddings(self, texts: Sequence[str], embeddings: np.ndarray) -> None:
        """Remember embeddings computed earlier (e.g. read from the dense-index cache)."""
        for t, e in zip(texts, embeddings):
            self._emb_cache[t] = np.asarray(e, dtype=np.float32)
        while len(self._emb_cache) > self._emb_cache_size:
            self._emb_cache.popitem(last=False)

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Similarity of the query embedding with each document embedding."""
        if not docs:
            return np.zeros(0)
        q = self.encode([query])[0]
        return (self.encode(docs) @ q).astype(np.float64)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Similarity for each (query, doc) pair, encoding each distinct text once."""
        if not pairs:
            return np.zeros(0)
        texts = list(dict.fromkeys([t for p in pairs for t in p]))
        embs = dict(zip(texts, self.encode(texts)))
        return np.array([float(embs[q] @ embs[d]) for q, d in pairs], dtype=np.float64)

    def input_embeddings(self, token_ids: Sequence[int]) -> np.ndarray:
        """Rows of the input word-embedding table for ``token_ids`` (white-box attacks)."""
        return self.backbone.embedding_rows(token_ids)

    def embedding_gradients(self, query: str, doc: str) -> TokenGradients:
        """Gradient of score(query, doc) w.r.t. the document's input word embeddings."""
        torch = self.backbone._torch
        with torch.inference_mode():
            q = self._forward([query])[0]
        q = q.clone()
        enc = self.backbone.encode_inputs([doc])
        with torch.enable_grad():
            embeds = self.backbone.word_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
            out = self.backbone.model(inputs_embeds=embeds, attention_mask=enc["attention_mask"], token_type_ids=enc.get("token_type_ids"))
            d = self._pool(out.last_hidden_state, enc["attention_mask"])[0]
            score = d @ q
            score.backward()
        ids = enc["input_ids"][0].tolist()
        return TokenGradients(
            tuple(self.tokenizer.convert_ids_to_tokens(ids)),
            tuple(ids),
            embeds.grad[0].float().cpu().numpy(),
            float(score.detach()),
        )


class CrossEncoderRanker:
    """A cross-encoder (``AutoModelForSequenceClassification``) scoring (query, doc) jointly.

    The score is the logit for one output, or logit[1] - logit[0] (the log-odds of "relevant")
    for a two-class head.

    Args:
        model: Local folder (or hub id, see :func:`~robustrank.rankers.resolve.resolve_model`).
        batch_size: Pairs per forward pass (None: 16 on CPU, 64 on GPU).
        max_length: Maximum tokens per pair (truncation: longest first).
        device: auto | cpu | cuda[:n] | mps.
        dtype: float32 | float16 | bfloat16 (GPU only).
        allow_network: Allow a hub download.
        base_dir: Folder relative model paths resolve against.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int | None = None,
        max_length: int = 256,
        device: str = "auto",
        dtype: str = "float32",
        allow_network: bool = False,
        base_dir: Path | None = None,
    ):
        path = resolve_model(model, base_dir=base_dir, allow_network=allow_network)
        self.backbone = _Backbone(
            "AutoModelForSequenceClassification", path, device=device, dtype=dtype, allow_network=allow_network, max_length=max_length
        )
        self.tokenizer = self.backbone.tokenizer
        self.name = model
        self.model_path = path
        self.batch_size = pick_batch_size(batch_size, self.backbone.device)
        self.num_labels = int(self.backbone.model.config.num_labels)
        if self.num_labels > 2:
            raise ValueError(f"{model}: cross-encoder head has {self.num_labels} labels; expected 1 or 2")
        self.forward_pairs = 0

    @classmethod
    def from_config(cls, config: Any, *, base_dir: Path | None = None, **_: Any) -> CrossEncoderRanker:
        """Build from a :class:`~robustrank.config.RankerConfig`."""
        return cls(
            config.model,
            batch_size=config.batch_size,
            max_length=config.max_length,
            device=config.device,
            dtype=config.dtype,
            allow_network=config.allow_network,
            base_dir=base_dir,
            **config.options,
        )

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {
            "type": "cross-encoder",
            "model": self.name,
            "path": self.model_path,
            "num_labels": self.num_labels,
            "max_length": self.backbone.max_length,
            "device": str(self.backbone.device),
            "dtype": str(self.backbone.dtype).removeprefix("torch."),
        }

    def fingerprint(self) -> dict[str, str]:
        """sha256 of the model's weight files."""
        return weights_fingerprint(self.model_path)

    def _logits_to_score(self, logits):
        logits = logits.float()
        return logits[:, 0] if self.num_labels == 1 else logits[:, 1] - logits[:, 0]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Score (query, doc) pairs in batches sorted by length."""
        out = np.empty(len(pairs), dtype=np.float64)
        with self.backbone._torch.inference_mode():
            for idx, enc in self.backbone.batches([q for q, _ in pairs], [d for _, d in pairs], self.batch_size):
                out[idx] = self._logits_to_score(self.backbone.model(**enc).logits).cpu().numpy()
        self.forward_pairs += len(pairs)
        return out

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Score each document for the query."""
        return self.score_pairs([(query, d) for d in docs])

    def input_embeddings(self, token_ids: Sequence[int]) -> np.ndarray:
        """Rows of the input word-embedding table for ``token_ids`` (white-box attacks)."""
        return self.backbone.embedding_rows(token_ids)

    def embedding_gradients(self, query: str, doc: str) -> TokenGradients:
        """Gradient of score(query, doc) w.r.t. the document segment's input word embeddings."""
        torch = self.backbone._torch
        enc = self.backbone.encode_inputs([query], [doc])
        with torch.enable_grad():
            embeds = self.backbone.word_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
            kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
            score = self._logits_to_score(self.backbone.model(inputs_embeds=embeds, **kwargs).logits)[0]
            score.backward()
        ids = enc["input_ids"][0].tolist()
        seq = enc.sequence_ids(0) if hasattr(enc, "sequence_ids") else None
        if "token_type_ids" in enc:
            keep = [i for i, t in enumerate(enc["token_type_ids"][0].tolist()) if t == 1]
        elif seq is not None:
            keep = [i for i, s in enumerate(seq) if s == 1]
        else:
            keep = list(range(len(ids)))
        grads = embeds.grad[0].float().cpu().numpy()[keep]
        kept_ids = [ids[i] for i in keep]
        return TokenGradients(tuple(self.tokenizer.convert_ids_to_tokens(kept_ids)), tuple(kept_ids), grads, float(score.detach()))
