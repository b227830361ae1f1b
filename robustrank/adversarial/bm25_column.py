"""T4's BM25 column, reused across audits: BM25's attack results do not depend on the audited model.

Attacking BM25 (its own top list, scored with the collection's statistics) gives the same records
whichever neural ranker an audit examines, so :class:`BM25Column` keeps each (attack, ``bm25``)
row in the shared artefact cache (:mod:`robustrank.sharedcache`, kind ``t4-bm25``) under a key
that hashes everything the row depends on, and nothing of the audited model:

* robustrank's version and the source of its adversarial package and of the attack plugin's package;
* the configuration minus the ranker, the output, the gate, the other tasks and the performance
  keys (so data locations, candidates, seeds, query sampling and every T4 option are in it);
* the sha256 of every data file; the attack's results key and spec; the targets;
* the similarity and fluency measures' provenance (when the audited model judges similarity,
  that provenance names it and the key changes with it).

Rows are cached only when the attack ran (``status: ok``) and no document screen is fitted (a
screen's calibration may involve the neural ranker's lists). Both a fresh and a reused row pass
through the same JSON round trip, so the task sees identical rows either way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from robustrank import __version__, plugins
from robustrank.fingerprint import PERFORMANCE_KEYS, data_part
from robustrank.sharedcache import SharedCache, cache_root

__all__ = ["BM25Column", "column_key"]

log = logging.getLogger(__name__)

KIND = "t4-bm25"
_LEFT_OUT = {"ranker", "gate", "output", *(p[0] for p in PERFORMANCE_KEYS if len(p) == 1)}


def _tree_sha(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.py")):
        h.update(p.relative_to(folder).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _plugin_code(name: str) -> str:
    """sha256 of the source of the package that provides attack ``name``."""
    info = next((p for p in plugins.available("attack") if p.name == name), None)
    if info is None:
        return "unknown"
    top = info.value.split(":")[0].split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        return "unknown"
    if spec.submodule_search_locations:
        return _tree_sha(Path(next(iter(spec.submodule_search_locations))))
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest() if spec.origin else "unknown"


def column_key(config: Any, attack_key: str, spec: Any, targets: list[Any], measures: dict[str, Any], data: dict[str, str] | None = None) -> str:
    """The content key of one (attack, bm25) row (see the module docstring); ``data``: a
    precomputed :func:`~robustrank.fingerprint.data_part` of ``config``."""
    cfg = {k: v for k, v in config.model_dump(mode="json").items() if k not in _LEFT_OUT}
    cfg["tasks"] = {"t4": (cfg.get("tasks") or {}).get("t4")}
    parts = {
        "version": __version__,
        "adversarial_code": _tree_sha(Path(__file__).parent),
        "plugin_code": _plugin_code(spec.name),
        "config": cfg,
        "data": data if data is not None else data_part(config),
        "attack": [attack_key, spec.model_dump(mode="json") if hasattr(spec, "model_dump") else repr(spec)],
        "targets": [list(t) for t in targets],
        "measures": measures,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-able")


def _round_trip(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_plain))


class BM25Column:
    """Runs (attack, system) pairs through a campaign, reusing cached ``bm25`` rows.

    Args:
        config: The audit's AuditConfig.
        measures: Provenance of the similarity and fluency measures.
        enabled: False when the rows must not be shared (e.g. document screens are fitted).
    """

    def __init__(self, config: Any, measures: dict[str, Any], *, enabled: bool = True):
        self.config = config
        # which model the audit examines matters only when that model judges similarity
        self.measures = _round_trip({
            name: {k: v for k, v in info.items() if k != "victim_model" or info.get("judged_by_victim")} if isinstance(info, dict) else info
            for name, info in measures.items()
        })
        root = cache_root() if enabled else None
        self.cache = SharedCache(root) if root is not None else None
        self.reused: list[str] = []
        self._data: dict[str, str] | None = None

    def run(self, campaign: Any, key: str, spec: Any, system: Any, entry: dict[str, Any]) -> dict[str, Any]:
        """``campaign.run(key, spec, system, entry)``, from the shared cache when ``system`` is bm25."""
        if self.cache is None or system.name != "bm25":
            return campaign.run(key, spec, system, entry)
        if self._data is None:
            self._data = data_part(self.config)  # hash the data files once per audit
        ck = column_key(self.config, key, spec, system.targets, self.measures, self._data)
        hit = self.cache.get_json(KIND, ck)
        if hit is not None:
            log.info("t4: %s on bm25 reused from the shared cache (%s)", key, ck)
            self.reused.append(key)
            if hit.get("prepare") is not None:
                entry["prepare"]["bm25"] = hit["prepare"]
            return hit["row"]
        row = campaign.run(key, spec, system, entry)
        if row.get("status") != "ok":
            return row
        try:
            payload = _round_trip({"row": row, "prepare": entry["prepare"].get("bm25")})
        except (TypeError, ValueError) as exc:
            log.warning("t4: %s on bm25 not cached: %s", key, exc)
            return row
        self.cache.put_json(KIND, ck, payload)
        if payload["prepare"] is not None:
            entry["prepare"]["bm25"] = payload["prepare"]
        return payload["row"]
