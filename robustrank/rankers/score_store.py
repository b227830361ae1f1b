"""Pair scores kept across audits in the shared artefact cache, so a re-run skips its forwards.

A ranker's score of a (query, document text) pair depends only on the model (weights), how it
is run (ranker settings, dtype, device type) and the two texts. :class:`ScoreStore` keeps such
scores under ``<shared cache>/scores/<model key>/`` (see :mod:`robustrank.sharedcache` for the
folder, its trust rules and how to turn it off), where the model key hashes the ranker's weight
fingerprint, its result-shaping settings, the device type, the dtype and robustrank's version
(:func:`store_key`). ``ROBUSTRANK_SCORE_STORE=off`` turns the store off (the test suite does,
except where it tests the store). A ranker without a fingerprint (a plugin that does not provide one) gets no
store: its identity cannot be checked.

Layout: each audit appends the scores it computed as one *shard*, a file named by the sha256 of
its bytes (``<sha256>.rrsc``: a magic line, then 16-byte pair keys and float64 scores), written
under a temporary name and renamed, so a reader never sees a partial shard; a shard whose name
does not match its bytes is ignored (and logged). Lookups are vectorised over a batch: pair keys
are sorted by their first 8 bytes and the other 8 bytes are compared, so a lookup never returns
another pair's score (two stored pairs sharing the first 8 bytes would only turn a hit into a
recomputation).

A cached score is the one computed first; recomputing the same pair in another batch can differ
in the last float bits (batch padding), which is the same noise the executors' comparisons allow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from robustrank import __version__, cache_events
from robustrank.sharedcache import SharedCache, cache_root

__all__ = ["ScoreStore", "open_score_store", "store_key"]

log = logging.getLogger(__name__)

MAGIC = b"robustrank-scores-v1\n"
KIND = "scores"
MAX_ENTRIES = 5_000_000
"""Most scores loaded per model (24 bytes each in memory); the newest shards are loaded first."""
ENV_VAR = "ROBUSTRANK_SCORE_STORE"
"""Set to ``off`` to keep scores in memory only (the whole shared cache: ``cache_dir: off``)."""
FLUSH_EVERY = 100_000
"""Pending new scores written as a shard once this many accumulate (and at the end)."""


def store_key(ranker_settings: dict[str, Any], model_fingerprint: dict[str, str], device_type: str, dtype: str | None) -> str | None:
    """The model key of a store, or None when the model has no fingerprint (no store then).

    Args:
        ranker_settings: The ranker's result-shaping settings (its config minus speed knobs).
        model_fingerprint: Weight-file hashes (or a callable's source hash).
        device_type: cpu, cuda or mps (scores differ in the last bits between them).
        dtype: The ranker's dtype setting.
    """
    if not model_fingerprint:
        return None
    payload = {"format": 1, "robustrank": __version__, "settings": ranker_settings, "model": model_fingerprint,
               "device_type": device_type, "dtype": dtype}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _encode(keys: np.ndarray, values: np.ndarray) -> bytes:
    return MAGIC + keys.tobytes() + values.astype("<f8").tobytes()


def _decode(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    if not data.startswith(MAGIC) or (len(data) - len(MAGIC)) % 24:
        return None
    n = (len(data) - len(MAGIC)) // 24
    body = memoryview(data)[len(MAGIC):]
    keys = np.frombuffer(body[: 16 * n], dtype=np.uint8).reshape(n, 16)
    values = np.frombuffer(body[16 * n :], dtype="<f8")
    return keys, values


class ScoreStore:
    """Scores of one model kept in the shared cache (see the module docstring).

    Args:
        folder: ``<shared cache>/scores/<model key>``.
        max_entries: Most scores loaded (newest shards first).
    """

    def __init__(self, folder: Path, max_entries: int = MAX_ENTRIES):
        self.folder = Path(folder)
        self.max_entries = max_entries
        self._hi = np.zeros(0, dtype=np.uint64)
        self._lo = np.zeros(0, dtype=np.uint64)
        self._values = np.zeros(0)
        self._pending: dict[bytes, float] = {}
        self.loaded = 0
        self.written = 0
        self.ignored_shards = 0
        self._load()

    @classmethod
    def open(cls, key: str | None) -> ScoreStore | None:
        """The store of model ``key`` in the shared cache in force (None when off, untrusted or no key)."""
        root = cache_root()
        if key is None or root is None or not SharedCache(root).usable():
            return None
        folder = root / KIND / key
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            log.warning("score store %s not usable: %s", folder, exc)
            return None
        return cls(folder)

    def _load(self) -> None:
        shards = sorted(self.folder.glob("*.rrsc"), key=lambda p: p.stat().st_mtime, reverse=True)
        keys, values, total = [], [], 0
        for path in shards:
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.warning("score shard %s unreadable: %s; ignored", path, exc)
                self.ignored_shards += 1
                continue
            decoded = _decode(data) if hashlib.sha256(data).hexdigest() == path.stem else None
            if decoded is None:
                log.warning("score shard %s is incomplete or corrupt; ignored", path)
                self.ignored_shards += 1
                cache_events.note(KIND, self._event_key(path), "ignored")
                continue
            if total + len(decoded[1]) > self.max_entries:
                break
            cache_events.note(KIND, self._event_key(path), "hit")
            keys.append(decoded[0])
            values.append(decoded[1])
            total += len(decoded[1])
        if not keys:
            cache_events.note(KIND, self.folder.name, "miss")
            return
        k = np.concatenate(keys)
        v = np.concatenate(values)
        halves = k.copy().view(">u8").reshape(-1, 2)  # big-endian halves: sortable, comparable
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        order = np.lexsort((lo, hi))
        self._hi, self._lo, self._values = hi[order], lo[order], v[order]
        self.loaded = len(v)
        log.info("score store %s: %d stored scores loaded", self.folder, self.loaded)

    def __len__(self) -> int:
        return self.loaded + len(self._pending)

    def lookup(self, keys: list[bytes]) -> dict[int, float]:
        """Stored scores of the pair keys given: {position in ``keys``: score} for the hits."""
        out: dict[int, float] = {}
        if self.loaded and keys:
            halves = np.frombuffer(b"".join(keys), dtype=">u8").reshape(-1, 2)
            hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
            at = np.searchsorted(self._hi, hi)
            at_c = np.minimum(at, len(self._hi) - 1)
            hit = (at < len(self._hi)) & (self._hi[at_c] == hi) & (self._lo[at_c] == lo)
            for i in np.flatnonzero(hit).tolist():
                out[i] = float(self._values[at_c[i]])
        for i, k in enumerate(keys):
            if i not in out and k in self._pending:
                out[i] = self._pending[k]
        return out

    def add(self, keys: list[bytes], values: list[float]) -> None:
        """Remember newly computed scores (written as a shard by :meth:`flush`)."""
        self._pending.update(zip(keys, values))
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the pending scores as one shard (atomic rename; failures are logged, not raised)."""
        if not self._pending:
            return
        keys = np.frombuffer(b"".join(self._pending), dtype=np.uint8).reshape(-1, 16)
        values = np.fromiter(self._pending.values(), dtype=np.float64, count=len(self._pending))
        data = _encode(keys, values)
        path = self.folder / f"{hashlib.sha256(data).hexdigest()}.rrsc"
        tmp = self.folder / f".tmp-{uuid.uuid4().hex}"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not write score shard %s: %s", path, exc)
            tmp.unlink(missing_ok=True)
            return
        self.written += len(values)
        self._pending.clear()
        cache_events.note(KIND, self._event_key(path), "published")

    def _event_key(self, shard: Path) -> str:
        return f"{self.folder.name}/{shard.stem[:16]}"

    def stats(self) -> dict[str, int]:
        """Loaded, written (so far) and ignored-shard counts."""
        return {"loaded": self.loaded, "written": self.written, "ignored_shards": self.ignored_shards}


SPEED_SETTINGS = frozenset({"batch_size", "device", "dtype", "cache_size", "checkpoints", "allow_network"})
"""Ranker settings that do not shape a score (the device type and dtype enter the key resolved)."""


def open_score_store(settings: dict[str, Any], ranker: Any, model_fingerprint: dict[str, str]) -> ScoreStore | None:
    """The score store of a built ranker, or None.

    Only rankers that fingerprint their weights (``ranker.fingerprint()``) get one: a callable's
    source hash does not cover weights or state it may load, so its scores are never reused.

    Args:
        settings: The ranker's config (``RankerConfig.model_dump(mode="json")``).
        ranker: The built ranker (not the cache wrapper).
        model_fingerprint: Its fingerprint (``robustrank.fingerprint.model_part``).
    """
    if os.environ.get(ENV_VAR, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    if not callable(getattr(ranker, "fingerprint", None)):
        return None
    device = getattr(ranker, "device", "cpu")
    device_type = str(getattr(device, "type", device)).split(":")[0]
    dtype = str(getattr(ranker, "dtype", settings.get("dtype")))
    shaping = {k: v for k, v in settings.items() if k not in SPEED_SETTINGS}
    return ScoreStore.open(store_key(shaping, model_fingerprint, device_type, dtype))
