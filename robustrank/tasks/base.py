"""The task protocol: build from options, run against an :class:`~robustrank.context.AuditContext`."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol, runtime_checkable

from robustrank.errors import TaskSkipped

__all__ = ["Task", "TaskContext", "TaskSkipped", "TaskView"]


@dataclasses.dataclass(frozen=True)
class TaskView:
    """What a task contributes to the report pages beyond its fragment (see :class:`Task`).

    Every number must be copied from the task's result, never computed anew.

    Attributes:
        summary: Rows of the report's summary table: dicts with ``item``, ``neural``,
            ``neural_ci`` (pair or None), ``bm25``, ``bm25_ci``, ``extra`` ((label, value, CI)
            or None) and ``note`` (see :func:`robustrank.report.view.summary_row`).
        sizes: Rows ``{"what": ..., "n": ...}`` of the compliance page's sample sizes.
        limitations: Sentences for the known-limitations list.
        figures: Inline SVG markup by name, for the fragment (``figures["t1"]``).
        data: Anything else the fragment wants (plain values).
    """

    summary: tuple[dict[str, Any], ...] = ()
    sizes: tuple[dict[str, Any], ...] = ()
    limitations: tuple[str, ...] = ()
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


@runtime_checkable
class Task(Protocol):
    """A robustness task.

    A task class is registered under the config key that enables it (e.g. ``t1``); the audit
    constructs it with the validated options of that key and calls :meth:`run`. ``run`` returns
    a JSON-serialisable dict (the task's record in results.json, checked against
    :class:`robustrank.results.TaskResult`): ``metrics`` keyed by ``str(MetricKey.of(key, ...))``,
    per-query values as long records in ``per_query``, and, for a metric that is the mean of some
    records, their field filter in ``metric_per_query``. An exception is caught by the audit and
    recorded as ``status: error`` with its message; the audit goes on.

    Report hooks (optional class attributes; a task without them renders through the generic
    fragment - status, metrics, per-query record counts):

    * ``report_fragment``: path of a jinja2 template relative to the task's package folder
      (e.g. ``"templates/t1.html.j2"``), rendered with autoescaping and the variables ``r``
      (results), ``key``, ``task`` (its record), ``res`` (its result), ``view`` (its
      :class:`TaskView`), ``figures``, ``diff``; it may import robustrank's macros
      (``{% from "_macros.html.j2" import ci, diffview %}``);
    * ``compliance_fragment``: the same for the compliance page;
    * ``report_view(result, results, *, figures)``: a static method returning a
      :class:`TaskView` (summary rows, sample sizes, limitations, figures when ``figures``).
    """

    name: str
    title: str
    Options: ClassVar[type]
    """The pydantic model (a StrictModel) that validates ``tasks.<key>`` of model.yaml."""
    after: ClassVar[tuple[str, ...]]
    """Task keys that must run first when they are enabled (e.g. certify after t4)."""

    def run(self, ctx: Any) -> dict[str, Any]:
        """Execute the task and return its result record."""
        ...


@runtime_checkable
class TaskContext(Protocol):
    """What a task may use during :meth:`Task.run` (read-only view of the audit's shared state).

    The orchestrator's context implements it; a plugin task annotates ``ctx`` with this protocol
    and must not rely on anything else.
    """

    config: Any
    """The validated :class:`~robustrank.config.AuditConfig` (immutable)."""
    ranker: Any
    """The (cached) ranker under audit."""
    seed: int
    """The audit seed; derive randomness with :meth:`rng` / :meth:`stream_seed`."""

    @property
    def in_domain(self) -> Any:
        """The in-domain collection."""
        ...

    def query_ids(self, coll: Any) -> list[str]:
        """Judged query ids evaluated on ``coll``."""
        ...

    def runs(self, coll: Any) -> dict[str, Any]:
        """BM25 run, candidates and neural run of the evaluated queries of ``coll``."""
        ...

    def bm25(self, coll: Any) -> Any:
        """The BM25 baseline indexed on ``coll`` (``score(query, texts)`` with the collection's statistics)."""
        ...

    def evaluate(self, run: Any, coll: Any, query_ids: list[str] | None = None) -> dict[str, dict[str, float]]:
        """Per-query values of the configured measures."""
        ...

    def rng(self, *parts: object) -> Any:
        """A numpy generator on the stream ``parts`` of the audit seed."""
        ...

    def stream_seed(self, *parts: object) -> int:
        """An ``int`` seed on the stream ``parts`` of the audit seed."""
        ...

    def unit(self, task: str, unit: str, compute: Any) -> Any:
        """Run one checkpointed work unit (resumable)."""
        ...

    def timed(self, label: str) -> Any:
        """Context manager adding elapsed seconds to the audit's timings."""
        ...

    def result_of(self, key: str) -> dict[str, Any] | None:
        """The result of a task that ran before this one (declared in ``after``), or None."""
        ...
