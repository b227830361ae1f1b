"""Dense first stage: the corpus encoded once by a bi-encoder, cached on disk, searched with faiss.

* :func:`encode_corpus` embeds the documents in length-sorted batches (a tqdm bar), and keeps the
  embeddings in ``<cache_dir>/<key>/`` where ``key`` hashes the encoder (weights fingerprint and
  settings) and the corpus (doc ids and texts): a second audit of the same model on the same corpus
  reads them back instead of encoding again.
* :class:`DenseIndex` searches by inner product: exact (``faiss.IndexFlatIP``) or approximate
  (``faiss.IndexHNSWFlat``); for an approximate index, :meth:`DenseRetriever.retrieve` measures the
  overlap of its top-k with the exact top-k on the queries it serves (recall against exact).
* :func:`brute_force_search` is the numpy reference the faiss search is tested against.

An encoder is any object with ``encode(texts) -> float32 array [n, dim]`` (the bi-encoder and ONNX
rankers); with cosine similarity the embeddings are already L2-normalised, so inner product = cosine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robustrank.errors import ConfigError

__all__ = [
    "DenseIndex",
    "DenseRetriever",
    "Encoder",
    "brute_force_search",
    "corpus_hash",
    "encode_corpus",
    "encoder_key",
]

log = logging.getLogger(__name__)

_SETTINGS_IGNORED = ("device", "path", "dtype")


@runtime_checkable
class Encoder(Protocol):
    """A bi-encoder: texts in, one embedding per text out."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 embeddings [len(texts), dim]."""
        ...


def corpus_hash(doc_ids: Sequence[str], texts: Sequence[str]) -> str:
    """sha256 of the documents in order (id and text), identifying the corpus the embeddings are of."""
    h = hashlib.sha256()
    for did, text in zip(doc_ids, texts):
        h.update(did.encode("utf-8"))
        h.update(b"\x00")
        h.update(text.encode("utf-8"))
        h.update(b"\x01")
    return h.hexdigest()


def encoder_key(encoder: Any) -> dict[str, Any]:
    """What identifies an encoder's embeddings: its weights fingerprint and its settings.

    Device and dtype are left out (CPU always runs float32); an encoder without a fingerprint is
    identified by its description or name only, so its cache is only as safe as that name.
    """
    inner = getattr(encoder, "inner", encoder)
    desc = inner.describe() if hasattr(inner, "describe") else {"name": getattr(inner, "name", type(inner).__name__)}
    settings = {k: v for k, v in desc.items() if k not in _SETTINGS_IGNORED}
    fp = inner.fingerprint() if hasattr(inner, "fingerprint") else {}
    return {"settings": settings, "fingerprint": fp}


def _key_digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:24]


@dataclass
class EncodeInfo:
    """How the corpus embeddings were obtained.

    Attributes:
        key: Cache key (encoder + corpus).
        cache_dir: Folder holding the cached embeddings (None: not cached).
        cache_hit: Read back from the cache instead of encoded.
        documents: Documents embedded.
        dim: Embedding dimension.
        seconds: Time spent encoding (or loading).
    """

    key: str
    cache_dir: str | None
    cache_hit: bool
    documents: int
    dim: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


def encode_corpus(
    encoder: Encoder,
    doc_ids: Sequence[str],
    texts: Sequence[str],
    *,
    cache_dir: Path | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, EncodeInfo]:
    """Embed a corpus once: from the on-disk cache when present, else in length-sorted batches.

    Args:
        encoder: Has ``encode(texts)``.
        doc_ids: Document ids, aligned with ``texts``.
        texts: Document texts.
        cache_dir: Root of the embedding cache (None: no cache).
        batch_size: Texts per ``encode`` call (and per progress-bar step).
        progress: Show a tqdm bar.

    Returns:
        Float32 embeddings [len(texts), dim] aligned with ``doc_ids``, and how they were obtained.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    key = _key_digest({"encoder": encoder_key(encoder), "corpus": corpus_hash(doc_ids, texts)})
    folder = Path(cache_dir) / key if cache_dir is not None else None
    if folder is not None and (folder / "embeddings.npy").is_file():
        embs = np.load(folder / "embeddings.npy")
        ids = json.loads((folder / "doc_ids.json").read_text("utf-8"))
        if ids == list(doc_ids) and embs.shape[0] == len(ids):
            log.info("dense: %d document embeddings read from %s", len(ids), folder)
            _prime(encoder, texts, embs)
            return embs, EncodeInfo(key, str(folder), True, len(ids), int(embs.shape[1]), time.perf_counter() - t0)
        log.warning("dense: cache %s does not match the corpus; encoding again", folder)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    embs: np.ndarray | None = None
    with tqdm(total=len(texts), desc="dense encode corpus", unit="doc", disable=not progress, leave=False) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = np.asarray(encoder.encode([texts[i] for i in idx]), dtype=np.float32)
            if embs is None:
                embs = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            embs[idx] = batch
            bar.update(len(idx))
    if embs is None:
        raise ConfigError("candidates.dense: the corpus has no documents to encode")
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "embeddings.tmp.npy"
        np.save(tmp, embs)
        (folder / "doc_ids.json").write_text(json.dumps(list(doc_ids)), "utf-8")
        (folder / "meta.json").write_text(json.dumps({"encoder": encoder_key(encoder), "documents": len(doc_ids)}, indent=2, default=str), "utf-8")
        tmp.replace(folder / "embeddings.npy")
    info = EncodeInfo(key, str(folder) if folder else None, False, len(doc_ids), int(embs.shape[1]), time.perf_counter() - t0)
    log.info("dense: encoded %d documents in %.1fs", len(doc_ids), info.seconds)
    return embs, info


def _prime(encoder: Any, texts: Sequence[str], embs: np.ndarray) -> None:
    """Hand cached embeddings to an encoder that keeps an embedding cache (re-ranking then reuses them)."""
    inner = getattr(encoder, "inner", encoder)
    prime = getattr(inner, "prime_embeddings", None)
    if prime is not None:
        prime(texts, embs)


def brute_force_search(doc_embs: np.ndarray, query_embs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by inner product in numpy (the reference for the faiss search).

    Returns:
        (scores [n_queries, k], indices [n_queries, k]), best first; ties by lower index.
    """
    k = min(k, doc_embs.shape[0])
    sims = query_embs.astype(np.float32) @ doc_embs.astype(np.float32).T
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, idx, axis=1), idx


class DenseIndex:
    """Inner-product search over document embeddings with faiss.

    Args:
        embeddings: Float32 [n_docs, dim].
        kind: ``flat`` (exact, ``IndexFlatIP``) or ``hnsw`` (approximate, ``IndexHNSWFlat``).
        hnsw_m: HNSW graph degree.
        ef_search: HNSW search breadth (higher = closer to exact, slower).
    """

    def __init__(self, embeddings: np.ndarray, *, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128):
        import faiss

        self.kind = kind
        self.size, self.dim = embeddings.shape
        data = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._exact = faiss.IndexFlatIP(self.dim)
        self._exact.add(data)
        if kind == "flat":
            self._index = self._exact
        elif kind == "hnsw":
            self._index = faiss.IndexHNSWFlat(self.dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = max(40, 2 * hnsw_m)
            self._index.hnsw.efSearch = ef_search
            self._index.add(data)
        else:
            raise ConfigError(f"candidates.dense.index: unknown index {kind!r}; use flat or hnsw")

    def search(self, query_embs: np.ndarray, k: int, *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, indices) per query, best first; ``exact`` forces the flat index."""
        k = min(k, self.size)
        index = self._exact if exact else self._index
        scores, idx = index.search(np.ascontiguousarray(query_embs, dtype=np.float32), k)
        return scores, idx


@dataclass
class DenseRetriever:
    """A bi-encoder over a corpus: encode once, search many times.

    Attributes:
        encoder: Has ``encode(texts)``.
        doc_ids: Documents in index order.
        index: The faiss index.
        encode_info: How the corpus embeddings were obtained.
        approx_overlap: For an approximate index, per searched query the share of the exact top-k
            that the approximate top-k contains (recall against exact).
    """

    encoder: Any
    doc_ids: list[str]
    index: DenseIndex
    encode_info: EncodeInfo
    approx_overlap: list[float] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        encoder: Encoder,
        documents: Mapping[str, Any],
        *,
        cache_dir: Path | None = None,
        kind: str = "flat",
        hnsw_m: int = 32,
        ef_search: int = 128,
        batch_size: int = 64,
        progress: bool = False,
    ) -> DenseRetriever:
        """Encode (or load) the corpus and index it. ``documents``: doc_id -> Document (or text)."""
        doc_ids = list(documents)
        texts = [_text(documents[d]) for d in doc_ids]
        embs, info = encode_corpus(encoder, doc_ids, texts, cache_dir=cache_dir, batch_size=batch_size, progress=progress)
        return cls(encoder, doc_ids, DenseIndex(embs, kind=kind, hnsw_m=hnsw_m, ef_search=ef_search), info)

    def retrieve(self, queries: Mapping[str, str], depth: int) -> dict[str, list[tuple[str, float]]]:
        """Top-``depth`` documents per query (query_id -> [(doc_id, score)], best first, ties by doc_id)."""
        qids = list(queries)
        if not qids:
            return {}
        q_embs = np.asarray(self.encoder.encode([queries[q] for q in qids]), dtype=np.float32)
        scores, idx = self.index.search(q_embs, depth)
        if self.index.kind != "flat":
            _, exact_idx = self.index.search(q_embs, depth, exact=True)
            for row, ex in zip(idx, exact_idx):
                got = set(row[row >= 0].tolist())
                self.approx_overlap.append(len(got & set(ex.tolist())) / max(1, len(ex)))
        out = {}
        for qid, srow, irow in zip(qids, scores, idx):
            pairs = [(self.doc_ids[i], float(s)) for s, i in zip(srow.tolist(), irow.tolist()) if i >= 0]
            out[qid] = sorted(pairs, key=lambda x: (-x[1], x[0]))
        return out

    def describe(self) -> dict[str, Any]:
        """Index kind, corpus size, cache and (for an approximate index) recall against exact."""
        out: dict[str, Any] = {"index": self.index.kind, "documents": self.index.size, "dim": self.index.dim, "encode": self.encode_info.as_dict()}
        if self.approx_overlap:
            arr = np.asarray(self.approx_overlap)
            out["recall_vs_exact"] = {"mean": float(arr.mean()), "min": float(arr.min()), "n_queries": int(arr.size)}
        return out


def _text(doc: Any) -> str:
    return doc if isinstance(doc, str) else doc.full_text
