"""Evaluate a gate policy against a results document (and optionally a baseline).

Outcomes per condition:

* ``PASS`` — the condition holds.
* ``WARN`` — violated, severity ``warn``; or a paired ``delta`` condition whose point estimate
  violates the bound but whose one-sided paired test is not significant.
* ``FAIL`` — violated, severity ``fail``.
* ``ERROR`` — cannot be evaluated: the task errored or was skipped, the value is missing or
  null, a delta condition has no (comparable) baseline. ERROR counts as failing unless
  ``on_error: warn`` (fail closed).

The gate's outcome is ``ERROR`` when a failing ERROR occurred, else ``FAIL`` when a condition
failed, else ``WARN`` when anything warned (or errored tolerantly), else ``PASS``. Exit codes:
0 for PASS/WARN, 1 for FAIL/ERROR (2 is reserved for usage and input errors).

Paired regression test (``paired:`` on a ``delta`` condition): the per-query values of both
runs (the long records the metric's task names in ``metric_per_query``, see
:mod:`robustrank.gate.paired`) are matched by query id and the differences ``d = current − baseline`` tested one-sided
against the bound: for ``delta >= c`` the alternative is ``mean(d) < c`` (a regression beyond
the allowed drop), for ``delta <= c`` it is ``mean(d) > c``. The condition is violated (FAIL or
WARN by severity) only when that test rejects at ``alpha``; a point violation that is not
significant is WARN. Tests: ``scipy.stats.ttest_1samp`` or ``scipy.stats.wilcoxon`` on
``d − c`` (non-inferiority form of the paired test, cf. Wu et al. TOIS 2022's use of paired
tests to compare rankers on the same queries).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import logging
from pathlib import Path
from typing import Any

from robustrank.config.gate import ConditionSpec, GateConfig
from robustrank.gate.expr import Condition, Resolved, parse_condition, resolve, task_of
from robustrank.gate.paired import paired_test

__all__ = ["ConditionResult", "GateResult", "OUTCOMES", "evaluate_gate", "results_digest"]

log = logging.getLogger(__name__)

OUTCOMES = ("PASS", "WARN", "FAIL", "ERROR")


@dataclasses.dataclass(frozen=True)
class ConditionResult:
    """The outcome of one condition."""

    name: str
    check: str
    severity: str
    outcome: str
    counts_as_failure: bool
    task: str | None
    value: Any = None
    baseline_value: Any = None
    delta: float | None = None
    message: str = ""
    test: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GateResult:
    """The outcome of a whole gate."""

    outcome: str
    conditions: tuple[ConditionResult, ...]
    on_error: str
    results_name: str
    results_digest: str | None
    baseline_path: str | None
    baseline_digest: str | None
    baseline_notes: tuple[str, ...]
    evaluated_at: str

    @property
    def exit_code(self) -> int:
        """0 for PASS/WARN, 1 for FAIL/ERROR."""
        return 1 if self.outcome in ("FAIL", "ERROR") else 0

    @property
    def counts(self) -> dict[str, int]:
        """Number of conditions per outcome."""
        return {o: sum(1 for c in self.conditions if c.outcome == o) for o in OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (gate.json)."""
        d = dataclasses.asdict(self)
        d["conditions"] = [c.to_dict() for c in self.conditions]
        d["baseline_notes"] = list(self.baseline_notes)
        d["counts"] = self.counts
        d["exit_code"] = self.exit_code
        return d


def results_digest(path: str | Path) -> str:
    """sha256 of a results file's bytes (``sha256sum results.json`` gives the same)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _baseline_notes(results: dict[str, Any], baseline: dict[str, Any]) -> tuple[list[str], bool]:
    """Differences that make deltas questionable; the flag is True when the data differ."""
    notes, data_differ = [], False
    cur = (results.get("fingerprints") or {}).get("datasets") or {}
    old = (baseline.get("fingerprints") or {}).get("datasets") or {}
    for name in sorted(set(cur) & set(old)):
        if cur[name] != old[name]:
            notes.append(f"dataset {name} differs from the baseline's (sha256)")
            data_differ = True
    for name in sorted(set(cur) ^ set(old)):
        notes.append(f"dataset {name} is only in {'this run' if name in cur else 'the baseline'}")
        data_differ = True  # another dataset (not merely another version of the same one)
    c_cfg, o_cfg = results.get("config") or {}, baseline.get("config") or {}
    if c_cfg.get("max_queries") != o_cfg.get("max_queries"):
        notes.append(f"max_queries differs: {c_cfg.get('max_queries')} now, {o_cfg.get('max_queries')} in the baseline")
    if c_cfg.get("seed") != o_cfg.get("seed"):
        notes.append(f"seed differs: {c_cfg.get('seed')} now, {o_cfg.get('seed')} in the baseline")
    return notes, data_differ


def _number(r: Resolved, cond: Condition) -> Resolved:
    if not r.ok:
        return r
    if cond.numeric and (isinstance(r.value, bool) or not isinstance(r.value, (int, float))):
        return Resolved(error=f"{cond.ref.text} is {r.value!r}, not a number")
    return r


def _evaluate_one(spec: ConditionSpec, gate: GateConfig, results: dict[str, Any], baseline: dict[str, Any] | None, baseline_problem: str | None) -> ConditionResult:
    cond = parse_condition(spec.check)
    on_error = spec.on_error or gate.on_error
    base = dict(name=spec.label, check=cond.text, severity=spec.severity, task=task_of(cond.ref))

    def error(msg: str, **extra: Any) -> ConditionResult:
        return ConditionResult(outcome="ERROR", counts_as_failure=on_error == "fail", message=msg, **base, **extra)

    def violated(msg: str, **extra: Any) -> ConditionResult:
        outcome = "FAIL" if spec.severity == "fail" else "WARN"
        return ConditionResult(outcome=outcome, counts_as_failure=outcome == "FAIL", message=msg, **base, **extra)

    cur = _number(resolve(results, cond.ref), cond)
    if not cur.ok:
        return error(cur.error)
    if not cond.delta:
        if cond.holds(cur.value):
            return ConditionResult(outcome="PASS", counts_as_failure=False, value=cur.value, message=f"{_fmt(cur.value)} {cond.op} {_fmt(cond.value)}", **base)
        return violated(f"{_fmt(cur.value)} is not {cond.op} {_fmt(cond.value)}", value=cur.value)

    if baseline is None or baseline_problem:
        return error(baseline_problem or "delta condition needs a baseline (--baseline or gate.baseline)", value=cur.value)
    old = _number(resolve(baseline, cond.ref), cond)
    if not old.ok:
        return error(f"baseline: {old.error}", value=cur.value)
    delta = float(cur.value) - float(old.value)
    values = dict(value=cur.value, baseline_value=old.value, delta=delta)
    point_ok = cond.holds(delta)
    if spec.paired is None:
        if point_ok:
            return ConditionResult(outcome="PASS", counts_as_failure=False, message=f"delta {_fmt(delta, signed=True)} {cond.op} {_fmt(cond.value)}", **base, **values)
        return violated(f"delta {_fmt(delta, signed=True)} ({_fmt(old.value)} → {_fmt(cur.value)}) is not {cond.op} {_fmt(cond.value)}", **values)
    try:
        test = paired_test(cond, spec, results, baseline)
    except LookupError as exc:
        return error(f"paired test: {exc}", **values)
    p = f"{test['test']} p={test['p_value']:.3g} (n={test['n_queries']}, alpha={test['alpha']:g})"
    if test["significant"]:
        return violated(f"delta {_fmt(delta, signed=True)} is significantly beyond {cond.op} {_fmt(cond.value)}: {p}", test=test, **values)
    if point_ok:
        return ConditionResult(outcome="PASS", counts_as_failure=False, message=f"delta {_fmt(delta, signed=True)} {cond.op} {_fmt(cond.value)}; {p}", test=test, **base, **values)
    return ConditionResult(
        outcome="WARN", counts_as_failure=False,
        message=f"delta {_fmt(delta, signed=True)} is not {cond.op} {_fmt(cond.value)} but not significantly so: {p}",
        test=test, **base, **values,
    )


def _fmt(v: Any, signed: bool = False) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return repr(v)
    return f"{v:+.4g}" if signed else f"{v:.4g}"


def evaluate_gate(
    gate: GateConfig,
    results: dict[str, Any],
    *,
    baseline: dict[str, Any] | None = None,
    results_digest: str | None = None,
    baseline_path: str | None = None,
    baseline_digest: str | None = None,
) -> GateResult:
    """Evaluate every condition of ``gate`` on ``results`` (and ``baseline`` for deltas).

    Args:
        gate: The policy.
        results: A results document (results.json parsed).
        baseline: A previous results document, for ``delta(...)`` conditions.
        results_digest: sha256 of the results file, recorded in the outcome.
        baseline_path: Where the baseline came from (recorded).
        baseline_digest: sha256 of the baseline file (recorded).

    Returns:
        The outcome of each condition and of the gate.
    """
    notes: list[str] = []
    baseline_problem = None
    if baseline is not None:
        notes, data_differ = _baseline_notes(results, baseline)
        if data_differ and gate.require_same_data:
            baseline_problem = "baseline was run on different data (gate.require_same_data): " + "; ".join(n for n in notes if n.startswith("dataset"))
    conditions = tuple(_evaluate_one(spec, gate, results, baseline, baseline_problem) for spec in gate.conditions)
    if any(c.outcome == "ERROR" and c.counts_as_failure for c in conditions):
        outcome = "ERROR"
    elif any(c.outcome == "FAIL" for c in conditions):
        outcome = "FAIL"
    elif any(c.outcome in ("WARN", "ERROR") for c in conditions):
        outcome = "WARN"
    else:
        outcome = "PASS"
    log.debug("gate: %s (%s)", outcome, ", ".join(f"{k} {v}" for k, v in _count(conditions).items() if v))
    return GateResult(
        outcome=outcome,
        conditions=conditions,
        on_error=gate.on_error,
        results_name=str(results.get("name", "?")),
        results_digest=results_digest,
        baseline_path=baseline_path,
        baseline_digest=baseline_digest,
        baseline_notes=tuple(notes),
        evaluated_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _count(conditions: tuple[ConditionResult, ...]) -> dict[str, int]:
    return {o: sum(1 for c in conditions if c.outcome == o) for o in OUTCOMES}
