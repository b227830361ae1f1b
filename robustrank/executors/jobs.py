"""Jobs: what a worker needs to run work units, shipped once and kept warm.

A job is any object with ``run_batch(payloads) -> results`` (or ``run(payload) -> result``):
the prepared attack with its victim, the smoothed scorer of certification, the ranker of a
re-ranking step. The driver pickles it once (cloudpickle, so closures travel too) and every
worker unpickles it once per process and keeps it for all the units it receives.

Rankers built from a ``ranker:`` config are never pickled by value: the pickler replaces each
registered ranker by a reference (its RankerConfig JSON and base folder), and the worker builds
that ranker once per process from its own copy of the weights - so model files never travel, and
rankers that cannot be pickled (ONNX sessions, HTTP clients) work on every backend.

Job bytes are addressed by their sha256; a worker checks the digest before unpickling what it
read from the job file, so a file replaced between write and read is refused (the files live
in a private temporary folder of the driver; see docs/security.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["WORKER_DEVICE_ENV", "JobRegistry", "cached_job", "dumps_job", "iter_job", "load_job", "run_job", "worker_ranker"]

WORKER_DEVICE_ENV = "ROBUSTRANK_WORKER_DEVICE"
"""Set in a worker that was given one GPU: the device its rankers use instead of the config's."""

_RANKERS: dict[str, Any] = {}
"""Worker process: rankers built from configs, by reference key."""
_JOBS: OrderedDict[str, Any] = OrderedDict()
"""Worker process: unpickled jobs by digest (a few kept, least recently used dropped)."""
_MAX_JOBS = 4


class JobRegistry:
    """Objects the pickler replaces by a reference: rankers a worker rebuilds from their config."""

    def __init__(self) -> None:
        self._refs: dict[int, tuple[str, str, str]] = {}
        self._keep: list[Any] = []  # keep registered objects alive so their ids stay unique

    def add(self, ranker: Any, ranker_config: Any, base_dir: Path) -> None:
        """Register ``ranker`` (and the ranker it wraps, if any) as built from ``ranker_config``."""
        rc_json = ranker_config.model_dump_json()
        self._refs[id(ranker)] = ("ranker", rc_json, str(base_dir))
        self._keep.append(ranker)
        inner = getattr(ranker, "inner", None)
        if inner is not None:
            self._refs[id(inner)] = ("ranker_inner", rc_json, str(base_dir))
            self._keep.append(inner)

    def ref(self, obj: Any) -> tuple[str, str, str] | None:
        """The reference replacing ``obj``, or None to pickle it by value."""
        return self._refs.get(id(obj))


def dumps_job(job: Any, registry: JobRegistry) -> tuple[str, bytes]:
    """Pickle ``job`` with registered rankers as references; returns (sha256 hex, bytes)."""
    import cloudpickle

    class _Pickler(cloudpickle.CloudPickler):
        def persistent_id(self, obj: Any) -> Any:  # noqa: D102 - pickle hook
            return registry.ref(obj)

    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(job)
    data = buf.getvalue()
    return hashlib.sha256(data).hexdigest(), data


def worker_ranker(rc_json: str, base_dir: str, *, inner: bool = False) -> Any:
    """Build (once per process) the ranker a RankerConfig JSON describes, with its score cache."""
    key = rc_json + "\0" + base_dir
    if key not in _RANKERS:
        from robustrank.config.ranker import RankerConfig
        from robustrank.rankers.build import build_ranker_from_config
        from robustrank.rankers.cache import CachedRanker

        rc = RankerConfig.model_validate(json.loads(rc_json))
        if os.environ.get(WORKER_DEVICE_ENV):
            rc = rc.model_copy(update={"device": os.environ[WORKER_DEVICE_ENV]})
        _RANKERS[key] = CachedRanker(build_ranker_from_config(rc, Path(base_dir)), rc.cache_size)
    ranker = _RANKERS[key]
    return ranker.inner if inner else ranker


def _loads(data: bytes) -> Any:
    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:  # noqa: D102 - pickle hook
            kind, rc_json, base_dir = pid
            if kind not in ("ranker", "ranker_inner"):
                raise pickle.UnpicklingError(f"unknown job reference {kind!r}")
            return worker_ranker(rc_json, base_dir, inner=kind == "ranker_inner")

    return _Unpickler(io.BytesIO(data)).load()


def cached_job(digest: str) -> Any | None:
    """The job with ``digest`` if this worker has it loaded, else None."""
    job = _JOBS.get(digest)
    if job is not None:
        _JOBS.move_to_end(digest)
    return job


def load_job(digest: str, source: Any) -> Any:
    """The job with ``digest`` in this worker: cached, else read from ``source`` (bytes or a file
    path), checked against the digest, and unpickled."""
    job = cached_job(digest)
    if job is not None:
        return job
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"job {digest[:12]}: content does not match its digest; refusing to load it")
    job = _JOBS[digest] = _loads(data)
    while len(_JOBS) > _MAX_JOBS:
        _JOBS.popitem(last=False)
    return job


def iter_job(job: Any, payloads: list[Any]) -> Iterator[Any]:
    """Results of ``job`` on unit payloads, in order: all at once from ``run_batch`` when the job
    batches across units, else one unit at a time, each computed only when asked for."""
    if hasattr(job, "run_batch"):
        yield from job.run_batch(payloads)
    else:
        for p in payloads:
            yield job.run(p)


def run_job(job: Any, payloads: list[Any]) -> list[Any]:
    """Run ``job`` on a batch of unit payloads (``run_batch`` when the job has one)."""
    return list(iter_job(job, payloads))
