"""Metric keys: the value object whose string form is what ``results.metrics`` holds and the gate
grammar reads.

A key is a task key followed by one or more name segments::

    t1.nDCG@10.mean
    t2.typo.nDCG@10.relative_drop
    t4.prada_wu_2023.neural+truncate.success_rate
    t3["my.data"].nDCG@10.gap          # a segment with a dot, quoted

Segments are joined with ``.``. A segment free of the characters listed below is written as is
(a *plain* segment); ``@``, ``-``, ``+``, ``/`` and digits are plain, so measure strings
(``nDCG@10``), attack names and ir_datasets ids (``beir/trec-covid``) stay readable. A segment that
contains a dot, whitespace, a quote, a bracket, a parenthesis or a comparison character
(``. " ' [ ] ( ) < > = !``) - e.g. a dataset named ``my.data`` - is written in brackets as a JSON
string, the notation the gate's JSON paths use: ``t3.gap["my.data"]``. Parsing accepts the
bracketed form (``["..."]`` as a JSON string, or ``['...']``) for any segment; :func:`str` always writes the canonical form, so
``str(MetricKey.parse(s)) == s`` for every canonical ``s`` and ``MetricKey.parse(str(k)) == k``
for every key. The task key itself must be plain and not start with ``$`` (a JSON path).
"""

from __future__ import annotations

import dataclasses
import json
import re

__all__ = ["MetricKey"]

_SPECIAL = set(".\"'[]()<>=!")
_QUOTED = re.compile(r'\["(?:[^"\\]|\\.)*"\]')
_SINGLE = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")
_PLAIN = re.compile(r"\.([^\s.\"'\[\]()<>=!]+)")


def _plain(segment: str) -> bool:
    return bool(segment) and not any(c in _SPECIAL or c.isspace() for c in segment)


@dataclasses.dataclass(frozen=True, order=True)
class MetricKey:
    """A metric key: ``task`` and the name ``parts`` below it.

    Attributes:
        task: The task key (``t1``, ``certify``, a plugin task's key).
        parts: Name segments, e.g. ``("typo", "nDCG@10", "relative_drop")``.
    """

    task: str
    parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or not _plain(self.task) or self.task.startswith("$"):
            raise ValueError(f"metric key task {self.task!r} must be a plain name (no dots, spaces, quotes, brackets, operators; not starting with '$')")
        if not isinstance(self.parts, tuple) or not self.parts:
            raise ValueError(f"metric key {self.task!r} needs at least one name segment")
        for part in self.parts:
            if not isinstance(part, str) or not part:
                raise ValueError(f"metric key segment {part!r} of task {self.task!r} must be a non-empty string")

    @classmethod
    def of(cls, task: str, *parts: str) -> MetricKey:
        """``MetricKey.of("t2", "typo", "nDCG@10", "relative_drop")``."""
        return cls(task, tuple(parts))

    def child(self, *parts: str) -> MetricKey:
        """This key with more segments appended."""
        return MetricKey(self.task, self.parts + tuple(parts))

    def with_task(self, task: str) -> MetricKey:
        """The same name under another task key."""
        return MetricKey(task, self.parts)

    @property
    def name(self) -> str:
        """The canonical form without the task (``typo.nDCG@10.relative_drop``)."""
        rest = str(self)[len(self.task) :]
        return rest[1:] if rest.startswith(".") else rest

    def __str__(self) -> str:
        out = self.task
        for part in self.parts:
            out += f".{part}" if _plain(part) else f"[{json.dumps(part, ensure_ascii=False)}]"
        return out

    @classmethod
    def parse(cls, text: str) -> MetricKey:
        """Parse the string form (plain or bracketed segments).

        Raises:
            ValueError: Not a metric key (with the reason and position).
        """
        if not isinstance(text, str):
            raise ValueError(f"a metric key is a string, not {type(text).__name__}")
        m = re.match(r"[^\s.\"'\[\]()<>=!]+", text)
        if not m or m.group(0).startswith("$"):
            raise ValueError(f"{text!r} is not a metric key (it starts with a task key such as t1)")
        task, pos, parts = m.group(0), m.end(), []
        while pos < len(text):
            q = _QUOTED.match(text, pos)
            if q:
                parts.append(json.loads(q.group(0)[1:-1]))
                pos = q.end()
                continue
            q = _SINGLE.match(text, pos)
            if q:
                parts.append(re.sub(r"\\(.)", r"\1", q.group(1)))
                pos = q.end()
                continue
            p = _PLAIN.match(text, pos)
            if not p:
                hint = " (keys have no spaces; quote a segment as [\"a.b\"])" if text[pos].isspace() else ""
                raise ValueError(f"malformed metric key {text!r} at {text[pos:]!r}{hint}")
            parts.append(p.group(1))
            pos = p.end()
        if not parts:
            raise ValueError(f"{text!r} is not a metric key: a task key needs a metric name after it (e.g. t1.nDCG@10.mean)")
        return cls(task, tuple(parts))
