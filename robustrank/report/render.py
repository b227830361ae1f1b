"""Render the report page and the compliance page from a results document alone (never the model).

Both pages are single self-contained HTML files (inline CSS, inline SVG figures from
:mod:`robustrank.report.plots`) produced by jinja2 templates with autoescaping. The only markup
that bypasses escaping is matplotlib's SVG output (``|safe``), whose text matplotlib escapes.

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
from robustrank.report import plots, view
from robustrank.report.view import task_result
from robustrank.results import read_results, write_text_atomic

__all__ = ["render_compliance", "render_compliance_html", "render_html", "render_report", "gate_for_report"]

log = logging.getLogger(__name__)


def _env(strict: bool = True):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("robustrank.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined if strict else _lenient_undefined(),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pval"] = _pval
    env.filters["pct"] = _pct
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
    return env


def _lenient_undefined():
    """An Undefined that chains, calls (``x.items()``) and iterates as empty: missing fields render blank."""
    import jinja2

    class Lenient(jinja2.ChainableUndefined):
        def __call__(self, *args: Any, **kwargs: Any) -> Lenient:
            return self

    return Lenient


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


def _figures(results: dict[str, Any]) -> dict[str, Any]:

    measures = (results.get("config") or {}).get("measures") or []
    figs: dict[str, Any] = {}
    try:
        _draw(results, figs, plots, task_result, measures)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:  # a malformed section loses its figures, not the page
        log.warning("report: some figures were not drawn: %s: %s", type(exc).__name__, exc)
    return figs


def _one(fn: Any, *args: Any) -> str | None:
    """Draw one figure; a figure that fails is left out (logged) without losing the others."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - matplotlib raises many types on odd data
        log.warning("report: figure %s not drawn: %s: %s", getattr(fn, "__name__", fn), type(exc).__name__, exc)
        return None


def _draw(results: dict[str, Any], figs: dict[str, Any], plots: Any, task_result: Any, measures: list[str]) -> None:
    t1 = task_result(results, "t1")
    if t1 and t1.get("per_query"):
        figs["t1"] = _one(plots.t1_distribution, t1["per_query"], list(t1.get("measures", {})) or measures)
    t2 = task_result(results, "t2")
    if t2:
        figs["t2"] = {m: _one(plots.variation_drops, t2.get("variations", {}), m) for m in measures}
    t3 = task_result(results, "t3")
    if t3:
        figs["t3"] = {m: _one(plots.domain_shift, t3.get("in_domain", {}), t3.get("domains", {}), m) for m in measures}
    t4 = task_result(results, "t4")
    if t4:
        figs["t4"] = {k: _one(plots.attack_ranks, a.get("systems", {})) for k, a in t4.get("attacks", {}).items()}
    cert = task_result(results, "certify")
    if cert:
        figs["certify"] = _one(plots.certify_curve, cert.get("crq", {}))


def _context(results: dict[str, Any], gate: Any, digest: str | None) -> dict[str, Any]:

    return {
        "r": results,
        "gate": gate,
        "digest": digest,
        "summary": view.summary_rows(results),
        "diff": view.diff_segments,
        "task_result": lambda key: view.task_result(results, key),
        "sizes": view.sample_sizes(results),
        "limitations": view.known_limitations(results),
    }


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
    return _render("report.html.j2", results, gate, digest, _figures(results) if figures else {})


def _render(template: str, results: dict[str, Any], gate: Any, digest: str | None, figures: dict[str, Any]) -> str:
    """Render strictly. If results.json lacks a field a template uses (an older or third-party
    task), render leniently with blanks and a visible notice; if a section still cannot be
    rendered, show that task as unrenderable (its data stay in results.json) rather than fail."""
    import copy

    import jinja2

    def attempt(res: dict[str, Any], strict: bool, notice: str | None) -> str:
        ctx = {**_context(res, gate, digest), "figures": figures, "incomplete": notice}
        return _env(strict).get_template(template).render(**ctx)

    try:
        return attempt(results, True, None)
    except jinja2.UndefinedError as exc:
        notice = str(exc)
        log.warning("report: results.json lacks fields the %s template uses (%s); rendering them blank", template, exc)
    try:
        return attempt(results, False, notice)
    except Exception as exc:  # noqa: BLE001 - fall through to hiding the offending section
        first_error = exc
    for key, task in (results.get("tasks") or {}).items():
        if task.get("status") != "ok":
            continue
        hidden = copy.deepcopy(results)
        hidden["tasks"][key] = {**{k: v for k, v in task.items() if k != "result"}, "status": "error",
                                "error": f"result not renderable by this report version ({type(first_error).__name__}: {first_error}); see results.json"}
        try:
            html = attempt(hidden, False, notice)
        except Exception:  # noqa: BLE001
            continue
        log.warning("report: the %s section of task %s could not be rendered: %s", template, key, first_error)
        return html
    raise first_error


def render_compliance_html(results: dict[str, Any], gate: Any = None, *, results_path: str | Path | None = None, evaluate_policy: bool = True) -> str:
    """Return the printable compliance document for a results document (arguments as
    :func:`render_html`)."""

    if gate is None and evaluate_policy:
        gate = gate_for_report(results, results_path)
    digest = results_digest(results_path) if results_path and Path(results_path).is_file() else None
    return _render("compliance.html.j2", results, gate, digest, {})


def _write(path: str | Path, html: str) -> Path:

    return write_text_atomic(path, html)


def render_report(results: dict[str, Any], path: str | Path, gate: Any = None, *, results_path: str | Path | None = None) -> Path:
    """Write the report page for ``results`` to ``path`` (atomically)."""
    return _write(path, render_html(results, gate, results_path=results_path))


def render_compliance(results: dict[str, Any], path: str | Path, gate: Any = None, *, results_path: str | Path | None = None) -> Path:
    """Write the compliance page for ``results`` to ``path`` (atomically)."""
    return _write(path, render_compliance_html(results, gate, results_path=results_path))
