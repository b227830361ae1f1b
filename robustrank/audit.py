"""Run an audit: config -> ranker and tasks from the registry -> results.json (+ report.html)."""

from __future__ import annotations

import datetime as _dt
import graphlib
import logging
import time
import traceback
from pathlib import Path
from typing import Any

from robustrank import __version__, cache_events
from robustrank.checkpoint import Checkpoint
from robustrank.config.audit import AuditConfig
from robustrank.config.tasks import task_class
from robustrank.context import AuditContext
from robustrank.errors import TaskSkipped
from robustrank.fingerprint import audit_fingerprint, config_part, model_part
from robustrank.memory import release_memory
from robustrank.outdir import OutputLock, OutputWriteError, set_aside_checkpoint
from robustrank.plugins import load_plugin
from robustrank.ranked import TIE_RULE
from robustrank.rankers.base import Ranker, SupportsFingerprint
from robustrank.rankers.build import build_ranker
from robustrank.rankers.cache import CachedRanker
from robustrank.rankers.score_store import open_score_store
from robustrank.report import render_compliance, render_report
from robustrank.results import SCHEMA_VERSION, check_task_result, environment, write_json_atomic
from robustrank.runfiles import export_runs
from robustrank.sharedcache import cache_root, using_cache_dir

__all__ = ["config_fingerprint", "run_audit"]

log = logging.getLogger(__name__)


def _task_entries(config: AuditConfig) -> list[tuple[str, Any, Any, Any]]:
    """Enabled tasks as (key, options, class, registration), ordered by their declared ``after``
    dependencies (stable: otherwise in config order)."""
    enabled = {key: opts for key, opts in config.tasks.items() if getattr(opts, "enabled", True)}
    loaded = {key: task_class(key) for key in enabled}
    graph = {key: [d for d in getattr(loaded[key][0], "after", ()) if d in enabled] for key in enabled}
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=list(enabled).index)
        order += ready
        sorter.done(*ready)
    return [(key, enabled[key], *loaded[key]) for key in order]


def _ranker_description(ranker: Ranker, model_fp: dict[str, str] | None = None) -> dict[str, Any]:
    inner = getattr(ranker, "inner", ranker)
    desc = inner.describe() if hasattr(inner, "describe") else {"type": type(inner).__name__, "name": getattr(inner, "name", "?")}
    if isinstance(inner, SupportsFingerprint):
        desc["weights_sha256"] = model_fp if model_fp is not None else inner.fingerprint()
    elif model_fp:
        desc["code_sha256"] = model_fp
    return desc


def config_fingerprint(config: AuditConfig) -> str:
    """sha256 of the result-shaping config (all but ``output`` and performance knobs) and the
    tool version; see :mod:`robustrank.fingerprint` for the full resume fingerprint."""
    return config_part(config)


def run_audit(
    config: AuditConfig,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    progress_mode: str = "bar",
    render_html: bool | None = None,
    resume: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Run every enabled task and write ``results.json`` (and ``report.html``).

    A task that raises is recorded with ``status: error`` and its message; the others still run.

    Args:
        config: Validated configuration.
        out_dir: Output folder (default: ``output.dir`` with ``{name}`` filled in).
        progress: Show progress of long steps.
        progress_mode: ``bar`` (tqdm) or ``json`` (JSON-line log records, ``--log-json``).
        render_html: Override ``output.html``.
        resume: Reuse finished work units from ``checkpoint.jsonl`` in the output folder
            (and cached artefacts under ``artifacts/``); without it the checkpoint starts afresh
            and an existing one is kept aside (never truncated). The resume fingerprint covers
            config, data and model (:mod:`robustrank.fingerprint`).

    Returns:
        The results document and the path of results.json.

    Raises:
        RobustRankError: When the ranker cannot be built (config/model errors) or the in-domain
            data cannot be read — before the checkpoint is touched; OutputBusy when another
            audit holds the output folder; OutputWriteError when results.json cannot be written.
    """
    out = Path(out_dir) if out_dir else config.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    cache = config.cache_dir if config.cache_dir in (None, "off") else str(config.resolve(config.cache_dir))
    with OutputLock(out), using_cache_dir(cache), cache_events.collecting():
        return _run_locked(config, out, progress=progress, render_html=render_html, resume=resume, progress_mode=progress_mode)


def _run_locked(config: AuditConfig, out: Path, *, progress: bool, render_html: bool | None, resume: bool,
                progress_mode: str = "bar") -> tuple[dict[str, Any], Path]:
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    # everything that can fail on bad input happens before the checkpoint is touched
    ranker = CachedRanker(build_ranker(config.ranker, config), config.ranker.cache_size)
    ctx = AuditContext(config, ranker, progress=progress, artifacts=out / "artifacts", progress_mode=progress_mode)
    ctx.timings["build_ranker"] = time.perf_counter() - t0
    ctx.in_domain  # unreadable in-domain data is an input error (exit 2), not an errored task  # noqa: B018
    model_fp = model_part(ranker)
    ranker.attach_store(open_score_store(config.ranker.model_dump(mode="json"), ranker.inner, model_fp))
    fp = audit_fingerprint(config, model=model_fp)
    ckpt_path = out / "checkpoint.jsonl"
    if not resume:
        set_aside_checkpoint(ckpt_path)
    checkpoint = ctx.checkpoint = Checkpoint(ckpt_path, fp["digest"], resume=resume, parts=fp["parts"])
    try:
        return _run_tasks(config, out, ctx, ranker, checkpoint, model_fp, started, t0, render_html)
    finally:
        ctx.close()
        ranker.flush()
        checkpoint.close()


def _run_tasks(config, out, ctx, ranker, checkpoint, model_fp, started, t0, render_html) -> tuple[dict[str, Any], Path]:

    tasks: dict[str, Any] = {}
    _, ranker_info = load_plugin("ranker", config.ranker.type)
    plugins: dict[str, Any] = {
        f"ranker:{config.ranker.type}": {"distribution": ranker_info.distribution, "version": ranker_info.version, "entry_point": ranker_info.value}
    }
    for key, options, cls, info in _task_entries(config):
        t_task = time.perf_counter()
        try:
            plugins[f"task:{key}"] = {"distribution": info.distribution, "version": info.version, "entry_point": info.value}
            log.info("task %s: %s", key, getattr(cls, "title", key))
            result = cls(options).run(ctx)
            check_task_result(key, result)
            tasks[key] = {"status": "ok", "title": getattr(cls, "title", key), "result": result}
            ctx.task_results[key] = result
        except TaskSkipped as skip:
            log.info("task %s skipped: %s", key, skip)
            tasks[key] = {"status": "skipped", "title": getattr(cls, "title", key), "reason": str(skip)}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a crashing task (even one calling sys.exit) is recorded, not fatal
            log.error("task %s failed: %s", key, exc)
            log.debug("task %s traceback", key, exc_info=True)
            tasks[key] = {
                "status": "error",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=20),
            }
        tasks[key]["duration_s"] = round(time.perf_counter() - t_task, 3)
        release_memory()  # a task's working memory (indexes, models, batches) back to the system before the next

    datasets = {}
    for name, coll in ctx.loaded_collections().items():
        datasets[name] = {**coll.summary(), "sha256": coll.fingerprint()}
    ranker.flush()  # so results.json counts the scores kept for the next audit
    ctx.timings["total"] = time.perf_counter() - t0
    ranker_desc = _ranker_description(ranker, model_fp)
    metrics = {name: value for task in tasks.values() if task["status"] == "ok" for name, value in (task["result"].get("metrics") or {}).items()}
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
        "ranking": {"tie_rule": TIE_RULE},
        "fingerprints": {
            "model": model_fp,
            "datasets": {n: d["sha256"] for n, d in datasets.items()},
        },
        "datasets": datasets,
        "lexicon": ctx.lexicon_info(),
        "score_cache": ranker.stats(),
        "checkpoint": {
            "path": str(out / "checkpoint.jsonl"), "fingerprint": checkpoint.fingerprint, "fingerprint_parts": checkpoint.parts,
            "resumed_units": checkpoint.loaded, "write_error": checkpoint.write_error,
        },
        "timings": {k: round(v, 3) for k, v in ctx.timings.items()},
        "execution": ctx.executor_info(),
        "shared_cache": cache_events.summary(cache_root()),
        "metrics": metrics,
        "tasks": tasks,
    }
    first_stage = ctx.first_stage_info()
    if first_stage is not None:
        results["first_stage"] = first_stage
    if config.output.runs:
        results["runs"] = export_runs(ctx.recorded_runs, out, name=config.name)
    checkpoint.close()
    try:
        path = write_json_atomic(out / "results.json", results)
    except OSError as exc:
        raise OutputWriteError(
            f"{out / 'results.json'}: cannot write: {exc.strerror or exc}; finished units are kept in "
            f"{out / 'checkpoint.jsonl'} (rerun with --resume once the problem is fixed)"
        ) from None
    log.info("wrote %s", path)
    if config.output.html if render_html is None else render_html:
        render_report(results, out / "report.html", results_path=path)
        render_compliance(results, out / "compliance.html", results_path=path)
        log.info("wrote %s and %s", out / "report.html", out / "compliance.html")
    return results, path
