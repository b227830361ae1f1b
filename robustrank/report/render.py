"""Render the report page and the compliance page from a results document alone (never the model).

Both pages are single self-contained HTML files (inline CSS, inline SVG figures from
:mod:`robustrank.report.plots`) produced by jinja2 templates with autoescaping. The page knows no
task: every task that finished ok gets a section rendered from its own template fragment (the
``report_fragment`` / ``compliance_fragment`` of its class, found through the registry and loaded
from the task's package, so a third-party package ships its own), or from the generic fragment
(status, metrics, per-query record counts) when it has none or is not installed here. A fragment
that fails on the result (a field it expects is missing) falls back to the generic fragment with
a visible notice; the other sections are unaffected. Markup that bypasses escaping: matplotlib's
SVG output (``|safe``, its text escaped by matplotlib) and the sections, which are rendered by the
same autoescaping environment.

The verdict banner shows a gate outcome: the one passed in (``audit --gate``), or else the
policy recorded in the results' own config evaluated on them (with its baseline when the
recorded path still resolves). Pages without a policy show no verdict.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from robustrank.errors import RobustRankError
from robustrank.gate.evaluate import evaluate_gate, results_digest
from robustrank.gate.policy import policy_from_results
from robustrank.report import view
from robustrank.report.compliance import build_record
from robustrank.report.scorecard import findings as scorecard_findings
from robustrank.report.significance import direction_class
from robustrank.results import read_results, write_text_atomic

__all__ = ["compliance_record", "render_compliance", "render_compliance_html", "render_html", "render_report", "gate_for_report"]

log = logging.getLogger(__name__)


def _env(classes: dict[str, Any] | None = None):
    """The autoescaping environment: robustrank's page templates, and under
    ``<key>:<attr>/`` the template folder of each fragment a task class names."""
    import jinja2

    prefixes = {}
    for key, cls in (classes or {}).items():
        for attr in ("report_fragment", "compliance_fragment"):
            where = _fragment_location(cls, attr)
            if where:
                prefixes[f"{key}:{attr}"] = jinja2.PackageLoader(where[0], where[1])
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("robustrank.report", "templates"), jinja2.PrefixLoader(prefixes)]),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pval"] = _pval
    env.filters["pct"] = _pct
    env.globals["signif"] = direction_class  # colour only significant differences
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
    return env


def _fragment_location(cls: Any, attr: str) -> tuple[str, str, str] | None:
    """(package, folder, file) of a task class's fragment: ``attr`` is a path relative to the
    folder of the package the class's module belongs to."""
    import sys

    path = getattr(cls, attr, None) if cls is not None else None
    if not isinstance(path, str) or not path:
        return None
    module = sys.modules.get(cls.__module__)
    package = getattr(module, "__package__", None) or cls.__module__.rpartition(".")[0] or cls.__module__
    folder, _, name = path.rpartition("/")
    return package, folder or ".", name


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def _pval(value: Any) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _pct(value: Any, digits: int = 1) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    return f"{value * 100:.{digits}f}%"


def gate_for_report(results: dict[str, Any], results_path: str | Path | None = None) -> Any:
    """Evaluate the policy recorded in ``results`` (None when it has no conditions).

    A policy that cannot be evaluated (invalid, unreadable baseline) yields None and a warning;
    the report still renders.
    """

    try:
        gate, base = policy_from_results(results)
        if not gate.conditions:
            return None
        baseline = bpath = bdigest = None
        if gate.baseline:
            bp = Path(gate.baseline).expanduser()
            bp = bp if bp.is_absolute() or base is None else base / bp
            if bp.is_file():
                baseline, bpath, bdigest = read_results(bp), str(bp), results_digest(bp)
        digest = results_digest(results_path) if results_path and Path(results_path).is_file() else None
        return evaluate_gate(gate, results, baseline=baseline, results_digest=digest, baseline_path=bpath, baseline_digest=bdigest)
    except RobustRankError as exc:
        log.warning("report: gate policy not evaluated: %s", exc)
        return None


def _sections(env: Any, page: str, results: dict[str, Any], views: dict[str, Any], classes: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """One rendered section per task that finished ok, in task order."""
    from markupsafe import Markup

    attr = "report_fragment" if page == "report" else "compliance_fragment"
    out = []
    for key, task_view in views.items():
        task = results["tasks"][key]
        ctx = {**base, "key": key, "task": task, "res": task["result"], "view": task_view, "figures": task_view.figures, "notice": None}
        where = _fragment_location(classes.get(key), attr)
        html = ""
        if where is None:
            if page == "report":
                html = env.get_template("_task_generic.html.j2").render(**ctx)
        else:
            try:
                html = env.get_template(f"{key}:{attr}/{where[2]}").render(**ctx)
            except Exception as exc:  # noqa: BLE001 - any failure of one fragment costs that section only
                notice = f"{type(exc).__name__}: {exc}"
                log.warning("report: the %s fragment of task %s could not render its result (%s); generic section shown", page, key, notice)
                fallback = "_task_generic.html.j2" if page == "report" else "_task_notice.html.j2"
                html = env.get_template(fallback).render(**{**ctx, "notice": notice})
        out.append({"key": key, "html": Markup(html)})
    return out


def _render(page: str, results: dict[str, Any], gate: Any, digest: str | None, figures: bool, **extra: Any) -> str:
    classes = {key: view.task_class(key) for key, t in (results.get("tasks") or {}).items() if t.get("status") == "ok"}
    views = view.task_views(results, figures=figures, classes=classes)
    env = _env(classes)
    base = {"r": results, "gate": gate, "digest": digest, "diff": view.diff_segments}
    ctx = {
        **base,
        "summary": view.summary_rows(results, views),
        "sizes": view.sample_sizes(results, views),
        "limitations": view.known_limitations(results, views),
        "sections": _sections(env, page, results, views, classes, base),
        **extra,
        "scorecard": scorecard_findings(results) if page == "report" else [],
    }
    return env.get_template(f"{page}.html.j2").render(**ctx)


def render_html(
    results: dict[str, Any],
    gate: Any = None,
    *,
    results_path: str | Path | None = None,
    evaluate_policy: bool = True,
    figures: bool = True,
) -> str:
    """Return the report page for a results document.

    Args:
        results: The parsed results.json.
        gate: A :class:`robustrank.gate.GateResult` for the verdict banner; None evaluates the
            recorded policy (unless ``evaluate_policy`` is False).
        results_path: The file the results came from (for its sha256).
        evaluate_policy: Evaluate the recorded policy when ``gate`` is None.
        figures: Draw the matplotlib figures (about 1-2 s); False renders tables only.
    """

    if gate is None and evaluate_policy:
        gate = gate_for_report(results, results_path)
    digest = results_digest(results_path) if results_path and Path(results_path).is_file() else None
    return _render("report", results, gate, digest, figures)


def render_compliance_html(results: dict[str, Any], gate: Any = None, *, results_path: str | Path | None = None, evaluate_policy: bool = True) -> str:
    """Return the printable compliance document for a results document (arguments as
    :func:`render_html`)."""

    if gate is None and evaluate_policy:
        gate = gate_for_report(results, results_path)
    digest = results_digest(results_path) if results_path and Path(results_path).is_file() else None
    return _render("compliance", results, gate, digest, False, rec=build_record(results, gate, digest=digest))


def compliance_record(results: dict[str, Any], gate: Any = None, *, results_path: str | Path | None = None, evaluate_policy: bool = True) -> dict[str, Any]:
    """The compliance record behind the compliance page, for the JSON export (arguments as
    :func:`render_html`); see :mod:`robustrank.report.compliance`."""

    if gate is None and evaluate_policy:
        gate = gate_for_report(results, results_path)
    digest = results_digest(results_path) if results_path and Path(results_path).is_file() else None
    return build_record(results, gate, digest=digest)


def _write(path: str | Path, html: str) -> Path:

    return write_text_atomic(path, html)


def render_report(results: dict[str, Any], path: str | Path, gate: Any = None, *, results_path: str | Path | None = None) -> Path:
    """Write the report page for ``results`` to ``path`` (atomically)."""
    return _write(path, render_html(results, gate, results_path=results_path))


def render_compliance(results: dict[str, Any], path: str | Path, gate: Any = None, *, results_path: str | Path | None = None) -> Path:
    """Write the compliance page for ``results`` to ``path`` (atomically)."""
    return _write(path, render_compliance_html(results, gate, results_path=results_path))
