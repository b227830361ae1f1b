"""Gate condition expressions: parsing and resolving references in a results document.

Grammar (one condition per string)::

    condition := operand OP literal
    operand   := ref | "delta(" ref ")"
    OP        := ">=" | "<=" | ">" | "<" | "==" | "!="
    literal   := number | "true" | "false" | quoted string
    ref       := metric key            e.g. t1.nDCG@10.mean, t4.prada_wu_2023.success_rate, certify.crq@10,
                                       t3.gap["my.data"]
               | "$." JSON path        e.g. $.tasks.t1.result.n_queries, $.tasks.t3.result.domains["my.data"].n_queries

A metric key is the string form of :class:`robustrank.results.MetricKey` (a segment with a dot,
space or operator is written ``["quoted"]``); it is parsed, written in canonical form and looked
up in ``results["metrics"]`` (the union every task reports). A JSON path walks the document:
``.name`` segments, ``["quoted name"]`` for names with dots or spaces, ``[N]`` for list items.
``delta(ref)`` is current minus baseline.

A condition is at most :data:`MAX_CONDITION_LENGTH` characters and is split at its first
operator outside quotes by one linear scan (no backtracking regex), so a hostile policy or a
tampered results.json cannot make parsing slow.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from typing import Any

from robustrank.results.keys import MetricKey

__all__ = ["Condition", "Ref", "Resolved", "parse_condition", "parse_ref", "resolve", "task_of"]

_OPS = (">=", "<=", "==", "!=", ">", "<")
MAX_CONDITION_LENGTH = 1000
"""Longest condition string accepted (a condition is one short line)."""
_SEGMENT_RE = re.compile(r"""\.(?P<name>[^.\[\]"']+)|\[(?P<index>-?\d+)\]|\[(?P<q>["'])(?P<quoted>.*?)(?P=q)\]""")


@dataclasses.dataclass(frozen=True)
class Ref:
    """A reference to one value of a results document."""

    text: str
    path: tuple[str | int, ...] | None  # None: a results.metrics key (text)

    @property
    def is_metric(self) -> bool:
        """True for a ``results.metrics`` key, False for a ``$.`` JSON path."""
        return self.path is None


@dataclasses.dataclass(frozen=True)
class Condition:
    """A parsed condition."""

    text: str
    ref: Ref
    delta: bool
    op: str
    value: float | bool | str

    def holds(self, x: Any) -> bool:
        """Whether ``x OP value`` holds."""
        v = self.value
        if self.op == "==":
            return x == v
        if self.op == "!=":
            return x != v
        return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[self.op]

    @property
    def numeric(self) -> bool:
        """True when the right-hand side is a number (not a bool or string)."""
        return isinstance(self.value, float)


def parse_ref(text: str) -> Ref:
    """Parse a metric key or ``$.`` JSON path.

    Raises:
        ValueError: An empty reference or malformed JSON path.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty reference")
    if not text.startswith("$"):
        try:
            return Ref(str(MetricKey.parse(text)), None)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a metric key ({exc}); JSON paths start with '$.'") from None
    rest, pos, segments = text[1:], 0, []
    while pos < len(rest):
        m = _SEGMENT_RE.match(rest, pos)
        if not m:
            raise ValueError(f"malformed JSON path {text!r} at {rest[pos:]!r}")
        if m.group("name") is not None:
            segments.append(m.group("name"))
        elif m.group("index") is not None:
            segments.append(int(m.group("index")))
        else:
            segments.append(m.group("quoted"))
        pos = m.end()
    if not segments:
        raise ValueError(f"JSON path {text!r} selects nothing")
    return Ref(text, tuple(segments))


def _literal(text: str) -> float | bool | str:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number, true/false or a quoted string") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _split_condition(text: str) -> tuple[str, str, str] | None:
    """Split at the first comparison operator outside quotes, in one linear scan.

    Returns (lhs, op, rhs) stripped, or None when there is no operator or a side is empty.
    """
    quote = None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c in "<>=!":
            two = text[i : i + 2]
            op = two if two in _OPS else (c if c in _OPS else None)
            if op is None:
                continue  # a lone '=' or '!' is part of a name
            lhs, rhs = text[:i].strip(), text[i + len(op) :].strip()
            return (lhs, op, rhs) if lhs and rhs else None
    return None


def parse_condition(text: str) -> Condition:
    """Parse ``'<ref> <op> <literal>'`` or ``'delta(<ref>) <op> <number>'``.

    Raises:
        ValueError: With the reason (shown with the config key path when loading a config).
    """
    if not isinstance(text, str):
        raise ValueError("a condition is a string such as 't1.nDCG@10.mean >= 0.40'")
    if len(text) > MAX_CONDITION_LENGTH:
        raise ValueError(f"{text[:40]!r}...: condition longer than {MAX_CONDITION_LENGTH} characters")
    split = _split_condition(text)
    if split is None:
        raise ValueError(f"{text!r}: expected '<metric> <op> <value>' with op one of {' '.join(_OPS)}")
    lhs, op, rhs = split
    is_delta = lhs.startswith("delta(") and lhs.endswith(")")
    ref = parse_ref(lhs[len("delta(") : -1] if is_delta else lhs)
    value = _literal(rhs)
    if op in ("<", "<=", ">", ">=") and not isinstance(value, float):
        raise ValueError(f"{text!r}: {op} needs a number on the right")
    if is_delta and not isinstance(value, float):
        raise ValueError(f"{text!r}: delta(...) compares with a number")
    return Condition(text.strip(), ref, is_delta, op, value)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The value a reference points to, or why there is none."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when a value was found."""
        return self.error is None


def task_of(ref: Ref) -> str | None:
    """The task key a reference belongs to (first metric segment, or ``$.tasks.<key>``)."""
    if ref.is_metric:
        return MetricKey.parse(ref.text).task
    if len(ref.path) >= 2 and ref.path[0] == "tasks" and isinstance(ref.path[1], str):
        return ref.path[1]
    return None


def _task_problem(results: dict[str, Any], task: str | None) -> str | None:
    tasks = results.get("tasks") or {}
    if task is None or task not in tasks:
        return None
    entry = tasks[task]
    status = entry.get("status")
    if status == "error":
        return f"task {task} errored: {entry.get('error', 'unknown error')}"
    if status == "skipped":
        return f"task {task} was skipped: {entry.get('reason', '')}".rstrip(": ")
    return None


def _walk(doc: Any, path: tuple[str | int, ...]) -> Resolved:
    node, seen = doc, "$"
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(node, list) or not -len(node) <= seg < len(node):
                return Resolved(error=f"{seen}[{seg}] does not exist")
            node, seen = node[seg], f"{seen}[{seg}]"
        else:
            if not isinstance(node, dict) or seg not in node:
                hint = ""
                if isinstance(node, dict):
                    close = difflib.get_close_matches(seg, [str(k) for k in node], n=3)
                    hint = f" (did you mean {', '.join(close)}?)" if close else ""
                return Resolved(error=f"{seen}.{seg} does not exist{hint}")
            node, seen = node[seg], f"{seen}.{seg}"
    return Resolved(node)


def _failed_parts(results: dict[str, Any], task: str, segments: list[str]) -> str | None:
    """Explain a missing metric by a failed part of its task (e.g. a T3 domain or a T4 system
    with ``status: error``) whose key is one of the metric's name segments."""
    found: list[str] = []

    def walk(node: Any, path: tuple[str, ...], depth: int) -> None:
        if not isinstance(node, dict) or depth > 5:
            return
        for key, child in node.items():
            if isinstance(child, dict):
                if child.get("status") == "error" and (key in segments or any(p in segments for p in path)):
                    found.append(f"{'/'.join((*path, key))} errored: {child.get('error', 'unknown error')}")
                walk(child, (*path, str(key)), depth + 1)

    walk(((results.get("tasks") or {}).get(task) or {}).get("result"), (), 0)
    return "; ".join(found[:3]) or None


def resolve(results: dict[str, Any], ref: Ref) -> Resolved:
    """Find the value of ``ref`` in ``results``; explain a missing value (errored task, typo)."""
    problem = _task_problem(results, task_of(ref))
    if problem and (ref.is_metric or (len(ref.path) > 2 and ref.path[2] == "result")):
        return Resolved(error=problem)  # fail closed even if stale numbers are present
    if ref.is_metric:
        metrics = results.get("metrics") or {}
        if ref.text in metrics:
            found = Resolved(metrics[ref.text])
        else:
            task = task_of(ref)
            if task not in (results.get("tasks") or {}):
                return Resolved(error=f"task {task} did not run in this audit (metric {ref.text} missing)")
            failed = _failed_parts(results, task, list(MetricKey.parse(ref.text).parts))
            if failed:
                return Resolved(error=f"metric {ref.text} not reported: {failed}")
            close = difflib.get_close_matches(ref.text, list(metrics), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return Resolved(error=f"metric {ref.text} not reported{hint}")
    else:
        found = _walk(results, ref.path)
        if not found.ok:
            return Resolved(error=problem or found.error)
    value = found.value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Resolved(error=f"{ref.text} is null (undefined for this run)")
    if isinstance(value, (dict, list)):
        return Resolved(error=f"{ref.text} is a {type(value).__name__}, not a value: {json.dumps(value)[:80]}")
    return Resolved(value)
