"""Plain data the report templates render, gathered generically from the tasks' own views.

Nothing here knows a particular task: each task class (found through the registry,
:func:`robustrank.plugins.load_plugin`) may provide ``report_view`` (summary rows, sample sizes,
limitations, figures; see :class:`robustrank.tasks.base.TaskView`) and its own template
fragments. Nothing here builds markup, and every number is copied from results.json, never
computed anew (the report must agree with the JSON to the digit).
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from robustrank.errors import PluginError
from robustrank.tasks.base import TaskView

__all__ = [
    "ci_of",
    "diff_segments",
    "fmt_p",
    "fmt_pct",
    "known_limitations",
    "pair",
    "sample_sizes",
    "summary_row",
    "summary_rows",
    "task_class",
    "task_result",
    "task_views",
]

log = logging.getLogger(__name__)


def task_result(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The result of task ``key`` when it finished ok, else None."""
    t = (results.get("tasks") or {}).get(key)
    return t.get("result") if t and t.get("status") == "ok" else None


def task_class(key: str) -> Any | None:
    """The task class registered as ``key``, or None when it is not installed here (its section
    then renders through the generic fragment)."""
    from robustrank.plugins import load_plugin

    try:
        return load_plugin("task", key)[0]
    except PluginError as exc:
        log.info("report: task %s has no installed class (%s); generic section", key, exc)
        return None


def task_views(results: dict[str, Any], *, figures: bool = False, classes: dict[str, Any] | None = None) -> dict[str, TaskView]:
    """The :class:`TaskView` of every task that finished ok (empty for a task without
    ``report_view``, or whose view failed - logged, the page still renders)."""
    out: dict[str, TaskView] = {}
    for key in results.get("tasks") or {}:
        res = task_result(results, key)
        if res is None:
            continue
        cls = classes[key] if classes is not None and key in classes else task_class(key)
        hook = getattr(cls, "report_view", None)
        view = TaskView()
        if hook is not None:
            try:
                view = hook(res, results, figures=figures)
                if isinstance(view, dict):  # a plugin may return the fields as a mapping
                    view = TaskView(**{k: tuple(v) if isinstance(v, list) else v for k, v in view.items()})
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                log.warning("report: the view of task %s failed (%s: %s); its summary rows and figures are left out", key, type(exc).__name__, exc)
        out[key] = view
    return out


def draw(fn: Any, *args: Any) -> str | None:
    """Draw one figure; a figure that fails is left out (logged) without losing the others."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - matplotlib raises many types on odd data
        log.warning("report: figure %s not drawn: %s: %s", getattr(fn, "__name__", fn), type(exc).__name__, exc)
        return None


def summary_row(item: str, neural: Any, neural_ci: Any, bm25: Any, bm25_ci: Any, extra: Any, note: str) -> dict[str, Any]:
    """One row of the summary table: neural vs BM25 with CIs; ``extra`` is (label, value, CI) or None."""
    return {"item": item, "neural": neural, "neural_ci": neural_ci, "bm25": bm25, "bm25_ci": bm25_ci, "extra": extra, "note": note}


def summary_rows(results: dict[str, Any], views: dict[str, TaskView] | None = None) -> list[dict[str, Any]]:
    """Every task's summary rows, in task order, each with its ``task`` key."""
    views = task_views(results) if views is None else views
    return [{"task": key, **row} for key, view in views.items() for row in view.summary]


def sample_sizes(results: dict[str, Any], views: dict[str, TaskView] | None = None) -> list[dict[str, Any]]:
    """What was measured on how many units, per task (for the compliance page)."""
    views = task_views(results) if views is None else views
    return [{"task": key, **row} for key, view in views.items() for row in view.sizes]


def known_limitations(results: dict[str, Any], views: dict[str, TaskView] | None = None) -> list[str]:
    """Limitations a reviewer should weigh, derived from what the results record."""
    views = task_views(results) if views is None else views
    out: list[str] = []
    cfg = results.get("config") or {}
    if results.get("lexicon"):
        if not cfg.get("lexicon"):
            out.append(
                "Synonym lexicon is the bundled WordNet 3.0 + GloVe 6B-50d table, not the counter-fitted word "
                "vectors used by PRADA and CertDR; synonym variations, substitution attacks and certification "
                "neighbourhoods differ from the papers'."
            )
        else:
            out.append(f"Synonym lexicon is a user-supplied table ({cfg.get('lexicon')}).")
    bm = (results.get("baseline") or {}).get("bm25") or {}
    if bm:
        out.append(
            f"BM25 baseline is {bm.get('implementation', 'rank-bm25')} (k1={bm.get('k1')}, b={bm.get('b')}, "
            f"stemming {'on' if bm.get('stem') else 'off'}), not Anserini/Lucene; absolute BM25 numbers can differ from published runs."
        )
    if cfg.get("max_queries"):
        out.append(f"Only the first {cfg['max_queries']} judged queries were evaluated (max_queries); intervals are wide on small samples.")
    cand = cfg.get("candidates") or {}
    if cand:
        out.append(f"The neural ranker re-ranks the first stage's top {cand.get('depth')}; recall beyond that depth cannot change.")
    for key, t in (results.get("tasks") or {}).items():
        if t.get("status") == "error":
            out.append(f"Task {key} errored ({t.get('error')}); its conditions are ERROR in the gate.")
        elif t.get("status") == "skipped":
            out.append(f"Task {key} was skipped ({t.get('reason')}).")
        res = t.get("result") or {}
        for note in res.get("deviations", []) if isinstance(res.get("deviations"), list) else []:
            out.append(f"{key}: {note}")
    for view in views.values():
        out += list(view.limitations)
    return out


def pair(lo: Any, hi: Any) -> tuple[Any, Any] | None:
    """(lo, hi), or None when either end is missing."""
    return None if lo is None or hi is None else (lo, hi)


def ci_of(summary: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (ci_low, ci_high) pair of a summary record."""
    return pair(summary.get("ci_low"), summary.get("ci_high"))


def fmt_p(v: Any) -> str:
    """A p-value for a note: ``<0.001`` or three decimals; ``–`` when missing."""
    if not isinstance(v, (int, float)):
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def fmt_pct(v: Any) -> str:
    """A share as a percentage with one decimal; ``–`` when missing."""
    return f"{v * 100:.1f}%" if isinstance(v, (int, float)) else "–"


def diff_segments(original: str, changed: str) -> list[dict[str, str]]:
    """Word-level diff of two texts as segments ``{"kind": same|del|ins, "text": ...}``.

    A substitution shows as a deleted span followed by an inserted one; the template styles
    them (struck through / highlighted). Whitespace tokenisation keeps punctuation attached.
    """
    a, b = (original or "").split(), (changed or "").split()
    out: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append({"kind": "same", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"kind": "del", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            out.append({"kind": "ins", "text": " ".join(b[j1:j2])})
    return out
