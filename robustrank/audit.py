"""Run an audit: config -> ranker and tasks from the registry -> results.json (+ report.html)."""

from __future__ import annotations

import datetime as _dt
import logging
import time
import traceback
from pathlib import Path
from typing import Any

from robustrank import __version__
from robustrank.checkpoint import Checkpoint
from robustrank.config import AuditConfig, RankerConfig
from robustrank.context import AuditContext
from robustrank.errors import ConfigError, RobustRankError
from robustrank.plugins import load_plugin
from robustrank.rankers.base import Ranker, SupportsFingerprint
from robustrank.rankers.cache import CachedRanker
from robustrank.results import SCHEMA_VERSION, environment, write_json_atomic
from robustrank.tasks.base import TaskSkipped

__all__ = ["build_ranker", "build_ranker_from_config", "config_fingerprint", "run_audit"]

log = logging.getLogger(__name__)


def build_ranker_from_config(rc: RankerConfig, base_dir: Path, *, collection: Any = None, source: str = "<config>") -> Ranker:
    """Build a ranker from a RankerConfig through the ``robustrank.rankers`` registry.

    Raises:
        ConfigError / ModelNotFoundError / PluginError: naming ``ranker.*``.
    """
    factory, _ = load_plugin("ranker", rc.type, required=("from_config",))
    try:
        return factory.from_config(rc, base_dir=base_dir, collection=collection)
    except RobustRankError:
        raise
    except TypeError as exc:
        raise ConfigError(f"{source}: ranker.options: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: ranker: cannot load {rc.model or rc.type}: {exc}") from None


def build_ranker(rc: RankerConfig, config: AuditConfig, *, collection: Any = None) -> Ranker:
    """Build the ranker of an audit config (BM25 as the audited ranker indexes the in-domain collection)."""
    if rc.type == "bm25" and collection is None:
        from robustrank.data import load_dataset

        collection = load_dataset(config.datasets.in_domain, config.resolve)
    return build_ranker_from_config(rc, config.base_dir, collection=collection, source=config.source)


def _task_entries(config: AuditConfig) -> list[tuple[str, Any]]:
    entries = []
    for key in type(config.tasks).model_fields:
        options = getattr(config.tasks, key)
        if getattr(options, "enabled", True):
            entries.append((key, options))
    return entries


def _ranker_description(ranker: Ranker) -> dict[str, Any]:
    inner = getattr(ranker, "inner", ranker)
    desc = inner.describe() if hasattr(inner, "describe") else {"type": type(inner).__name__, "name": getattr(inner, "name", "?")}
    if isinstance(inner, SupportsFingerprint):
        desc["weights_sha256"] = inner.fingerprint()
    return desc


def config_fingerprint(config: AuditConfig) -> str:
    """sha256 of everything in the config that shapes results (all but ``output``) and the tool version."""
    import hashlib
    import json

    data = config.model_dump(mode="json", exclude={"output"})
    return hashlib.sha256(json.dumps([__version__, data], sort_keys=True).encode()).hexdigest()


def _resume_fingerprint(config: AuditConfig, ranker: Ranker) -> str:
    """The config fingerprint, extended by the ranker's own fingerprint when it has one (e.g. a callable's source file)."""
    import hashlib

    base = config_fingerprint(config)
    if config.ranker.type != "callable" or not isinstance(ranker, SupportsFingerprint):
        return base
    return hashlib.sha256(f"{base}:{sorted(ranker.fingerprint().items())}".encode()).hexdigest()


def run_audit(
    config: AuditConfig,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    render_html: bool | None = None,
    resume: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Run every enabled task and write ``results.json`` (and ``report.html``).

    A task that raises is recorded with ``status: error`` and its message; the others still run.

    Args:
        config: Validated configuration.
        out_dir: Output folder (default: ``output.dir`` with ``{name}`` filled in).
        progress: Show tqdm bars.
        render_html: Override ``output.html``.
        resume: Reuse finished work units from ``checkpoint.jsonl`` in the output folder
            (and cached artefacts under ``artifacts/``); without it the checkpoint starts afresh.

    Returns:
        The results document and the path of results.json.

    Raises:
        RobustRankError: When the ranker cannot be built (config/model errors) — before any task runs.
    """
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir else config.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    ranker = CachedRanker(build_ranker(config.ranker, config), config.ranker.cache_size)
    checkpoint = Checkpoint(out / "checkpoint.jsonl", _resume_fingerprint(config, ranker.inner), resume=resume)
    ctx = AuditContext(config, ranker, progress=progress, checkpoint=checkpoint, artifacts=out / "artifacts")
    ctx.timings["build_ranker"] = time.perf_counter() - t0

    tasks: dict[str, Any] = {}
    _, ranker_info = load_plugin("ranker", config.ranker.type)
    plugins: dict[str, Any] = {
        f"ranker:{config.ranker.type}": {"distribution": ranker_info.distribution, "version": ranker_info.version, "entry_point": ranker_info.value}
    }
    for key, options in _task_entries(config):
        t_task = time.perf_counter()
        try:
            cls, info = load_plugin("task", key, required=("run",))
            plugins[f"task:{key}"] = {"distribution": info.distribution, "version": info.version, "entry_point": info.value}
            log.info("task %s: %s", key, getattr(cls, "title", key))
            result = cls(options).run(ctx)
            tasks[key] = {"status": "ok", "title": getattr(cls, "title", key), "result": result}
            ctx.task_results[key] = result
        except TaskSkipped as skip:
            log.info("task %s skipped: %s", key, skip)
            tasks[key] = {"status": "skipped", "title": getattr(cls, "title", key), "reason": str(skip)}
        except Exception as exc:  # a crashing task is recorded, not fatal
            log.error("task %s failed: %s", key, exc)
            log.debug("task %s traceback", key, exc_info=True)
            tasks[key] = {
                "status": "error",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=20),
            }
        tasks[key]["duration_s"] = round(time.perf_counter() - t_task, 3)

    datasets = {}
    for name, coll in ctx.loaded_collections().items():
        datasets[name] = {**coll.summary(), "sha256": coll.fingerprint()}
    ctx.timings["total"] = time.perf_counter() - t0
    ranker_desc = _ranker_description(ranker)
    metrics = {
        f"{key}.{name}": value
        for key, task in tasks.items()
        if task["status"] == "ok" and isinstance(task["result"].get("metrics"), dict)
        for name, value in task["result"]["metrics"].items()
    }
    results = {
        "schema_version": SCHEMA_VERSION,
        "robustrank_version": __version__,
        "name": config.name,
        "seed": config.seed,
        "started_at": started.isoformat(),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "config_path": config.source,
        "config": config.model_dump(mode="json"),
        "environment": environment(),
        "plugins": plugins,
        "ranker": ranker_desc,
        "baseline": {"bm25": {"implementation": "rank_bm25.BM25Okapi", **config.candidates.bm25.model_dump()}},
        "fingerprints": {
            "model": ranker_desc.get("weights_sha256", {}),
            "datasets": {n: d["sha256"] for n, d in datasets.items()},
        },
        "datasets": datasets,
        "lexicon": ctx.lexicon_info(),
        "score_cache": ranker.stats(),
        "checkpoint": {"path": str(out / "checkpoint.jsonl"), "fingerprint": checkpoint.fingerprint, "resumed_units": checkpoint.loaded},
        "timings": {k: round(v, 3) for k, v in ctx.timings.items()},
        "metrics": metrics,
        "tasks": tasks,
    }
    first_stage = ctx.first_stage_info()
    if first_stage is not None:
        results["first_stage"] = first_stage
    if config.output.runs:
        from robustrank.runfiles import export_runs

        results["runs"] = export_runs(ctx.recorded_runs, out, name=config.name)
    checkpoint.close()
    path = write_json_atomic(out / "results.json", results)
    log.info("wrote %s", path)
    if config.output.html if render_html is None else render_html:
        from robustrank.report import render_compliance, render_report

        render_report(results, out / "report.html", results_path=path)
        render_compliance(results, out / "compliance.html", results_path=path)
        log.info("wrote %s and %s", out / "report.html", out / "compliance.html")
    return results, path
