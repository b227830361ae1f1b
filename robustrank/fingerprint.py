"""The resume fingerprint: what must be identical for ``--resume`` to reuse finished units.

It covers everything that shapes results and nothing that only shapes speed:

* ``config`` — the configuration minus ``output`` and minus the performance knobs
  (:data:`PERFORMANCE_KEYS`: ``ranker.batch_size``, ``ranker.device``, ``ranker.dtype``,
  ``ranker.cache_size``, the whole ``executor`` section and the declared ``intended_use`` /
  ``operating_domain``), plus the robustrank version;
* ``data`` — sha256 of every data file the config names (in-domain and OOD collections, a
  candidate run file, a lexicon file);
* ``model`` — the ranker's own fingerprint (sha256 of its weight files), or for a ``callable``
  ranker the sha256 of the source file of the module that defines the function.

So a resume on other data, other weights or edited code is refused, while moving the run to
another machine, device or executor backend (or changing the batch size) is allowed. The parts
are stored separately in the checkpoint header so a refusal can say which part changed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from pathlib import Path
from typing import Any

from robustrank import __version__
from robustrank.data.collection import sha256_file

__all__ = ["PERFORMANCE_KEYS", "audit_fingerprint", "callable_source_fingerprint", "config_part", "data_files"]

log = logging.getLogger(__name__)

PERFORMANCE_KEYS: tuple[tuple[str, ...], ...] = (
    ("output",),
    ("executor",),
    ("cache_dir",),
    ("ranker", "batch_size"),
    ("ranker", "device"),
    ("ranker", "dtype"),
    ("ranker", "cache_size"),
    ("intended_use",),
    ("operating_domain",),
)
"""Config keys left out of the fingerprint: where results go, how fast they are computed, and the
declarations the compliance record copies (intended use, operating domain)."""


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def config_part(config: Any) -> str:
    """sha256 of the result-shaping configuration (see :data:`PERFORMANCE_KEYS`) and the version."""
    data = config.model_dump(mode="json")
    for path in PERFORMANCE_KEYS:
        node = data
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return _sha([__version__, data])


def _dataset_files(ds: Any, resolve: Any) -> list[Path]:
    if ds.format == "beir":
        folder = resolve(ds.path)
        names = ["corpus.jsonl", "queries.jsonl", f"qrels/{ds.split}.tsv"]
        found = []
        for n in names:
            for cand in (folder / n, folder / f"{n}.gz"):
                if cand.is_file():
                    found.append(cand)
        return found
    if ds.format == "trec":
        return [resolve(p) for p in (ds.corpus, ds.topics, ds.qrels)]
    return []  # irds: identified by its id, which is in the config


def data_files(config: Any) -> dict[str, Path]:
    """Every data file the config names, keyed by a stable label (``in_domain:corpus.jsonl``...)."""
    out: dict[str, Path] = {}
    sets = [("in_domain", config.datasets.in_domain)] + [(f"ood[{i}]", ds) for i, ds in enumerate(config.datasets.ood)]
    for label, ds in sets:
        for f in _dataset_files(ds, config.resolve):
            out[f"{label}:{f.name}"] = f
    if config.candidates.source == "run" and config.candidates.run:
        out["candidates.run"] = config.resolve(config.candidates.run)
    if config.lexicon:
        out["lexicon"] = config.resolve(config.lexicon)
    return out


def data_part(config: Any) -> dict[str, str]:
    """sha256 of each data file (a missing file is recorded as missing; loading reports it)."""
    out = {}
    for label, path in sorted(data_files(config).items()):
        try:
            out[label] = sha256_file(path)
        except OSError:
            out[label] = "missing"
    return out


def callable_source_fingerprint(fn: Any) -> dict[str, str]:
    """sha256 of the source file of the module that defines ``fn`` ({} when it has none)."""
    try:
        target = inspect.unwrap(fn)
        module = inspect.getmodule(target) or inspect.getmodule(type(target))
        src = inspect.getsourcefile(module) if module is not None else None
    except (TypeError, ValueError):
        src = None
    if not src:
        return {}
    try:
        return {Path(src).name: sha256_file(Path(src))}
    except OSError:
        return {}


def model_part(ranker: Any) -> dict[str, str]:
    """The ranker's fingerprint: weight-file hashes, or a callable's module source hash."""
    inner = getattr(ranker, "inner", ranker)
    fp = getattr(inner, "fingerprint", None)
    if callable(fp):
        try:
            value = fp()
        except Exception as exc:  # a plugin's fingerprint failing must not hide the audit
            log.warning("ranker fingerprint failed: %s", exc)
            value = {}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return {"fingerprint": str(value)}
    fn = getattr(inner, "fn", None)
    if fn is not None and callable(fn):
        return callable_source_fingerprint(fn)
    return {}


def audit_fingerprint(config: Any, ranker: Any = None, *, model: dict[str, str] | None = None) -> dict[str, Any]:
    """The parts of the resume fingerprint and their combined digest.

    Args:
        config: The validated AuditConfig.
        ranker: The built ranker (its weights or code are hashed), unless ``model`` is given.
        model: A precomputed :func:`model_part`.

    Returns:
        ``{"digest": sha256, "parts": {"config": ..., "data": {...}, "model": {...}}}``.
    """
    parts = {
        "config": config_part(config),
        "data": data_part(config),
        "model": model if model is not None else (model_part(ranker) if ranker is not None else {}),
    }
    return {"digest": _sha(parts), "parts": parts}


def describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of two fingerprints differ, in words (for the refusal message)."""
    what = []
    if old.get("config") != new.get("config"):
        what.append("the configuration")
    od, nd = old.get("data") or {}, new.get("data") or {}
    changed = sorted(k for k in set(od) | set(nd) if od.get(k) != nd.get(k))
    if changed:
        what.append("the data (" + ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "") + ")")
    if (old.get("model") or {}) != (new.get("model") or {}):
        what.append("the model or ranker code")
    return " and ".join(what) or "another configuration"
