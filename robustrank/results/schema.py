"""The typed schema of results.json (version 2.0): the document, task records, and the one
per-query layout.

Per-query values - T1's per-query effectiveness, T2's values on the original and on each
variation's queries, T3's per collection, certify's per-query certificates, a plugin task's -
are *long records*, one per (query, system, measure) and whatever the task varies::

    {"query_id": "q1", "system": "neural", "measure": "nDCG@10", "value": 0.61, "variation": "typo"}

under ``tasks.<key>.result.per_query``. Label fields beyond the four core ones are strings,
numbers, booleans or null; a field that does not apply is left out (the original queries of T2
have no ``variation``). A task whose metric is the mean of some of its records names them in
``result.metric_per_query`` (``{"t1.nDCG@10.mean": {"system": "neural", "measure": "nDCG@10"}}``),
which is how the gate finds the values of a paired test without knowing the task.

Everything else a task reports stays in its result (``extra`` fields), free-form but JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from robustrank.results.jsonable import to_jsonable
from robustrank.results.keys import MetricKey

__all__ = [
    "SCHEMA_VERSION",
    "PerQueryRecord",
    "Results",
    "TaskRecord",
    "TaskResult",
    "check_task_result",
    "per_query_records",
    "pivot",
    "results_json_schema",
    "select_values",
    "task_records",
]

SCHEMA_VERSION = "2.0"
"""Version of the results.json layout; :func:`robustrank.results.read_results` reads only this one."""

Scalar = StrictBool | StrictInt | StrictFloat | str | None
MetricValue = StrictBool | StrictInt | StrictFloat | None
CORE_FIELDS = ("query_id", "system", "measure", "value")


class PerQueryRecord(BaseModel):
    """One per-query value (the long layout): query, system, measure, value and labels.

    Attributes:
        query_id: The query.
        system: ``neural``, ``bm25``, a defended system, ... (what produced the value).
        measure: An ir_measures string (``nDCG@10``) or a task's per-query quantity (``certified@10``).
        value: The value; null when undefined.
        dataset: The collection, where the task spans several (T3).
        variation: The query variation, where the task perturbs queries (T2; absent = original).
        slice: A query slice label, where the task slices queries.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    query_id: str
    system: str
    measure: str
    value: StrictFloat | StrictInt | None
    dataset: str | None = None
    variation: str | None = None
    slice: str | None = None

    @model_validator(mode="after")
    def _scalar_labels(self) -> PerQueryRecord:
        for name, value in (self.model_extra or {}).items():
            if isinstance(value, (dict, list)):
                raise ValueError(f"label {name!r} must be a string, number, boolean or null")
        return self

    def label(self, name: str) -> Any:
        """A field's value (core, named label or extra label); None when absent."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return (self.model_extra or {}).get(name)

    def matches(self, selector: Mapping[str, Any]) -> bool:
        """True when every field named in ``selector`` has the given value (absent == null)."""
        return all(self.label(k) == v for k, v in selector.items())


class TaskResult(BaseModel):
    """A finished task's result: metrics, their per-query sources, long records, and the rest.

    Attributes:
        metrics: Canonical metric keys (:class:`MetricKey`) of this task -> value.
        metric_per_query: For a metric that is the mean of some records: the field filter that
            selects them (one record per query).
        per_query: The long per-query records.
    """

    model_config = ConfigDict(extra="allow")

    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    metric_per_query: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    per_query: list[PerQueryRecord] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _canonical_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if str(MetricKey.parse(key)) != key:
                raise ValueError(f"metric key {key!r} is not in canonical form ({MetricKey.parse(key)})")
        return v

    @model_validator(mode="after")
    def _sources_are_metrics(self) -> TaskResult:
        missing = sorted(set(self.metric_per_query) - set(self.metrics))
        if missing:
            raise ValueError(f"metric_per_query names metrics the task does not report: {', '.join(missing)}")
        return self


class TaskRecord(BaseModel):
    """One task's entry in ``tasks``: its status and, when ok, its result."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "skipped", "error"]
    title: str | None = None
    duration_s: float | None = None
    result: TaskResult | None = None
    reason: str | None = Field(None, description="Why the task was skipped.")
    error: str | None = Field(None, description="Exception type and message of an errored task.")
    traceback: str | None = None

    @model_validator(mode="after")
    def _result_when_ok(self) -> TaskRecord:
        if self.status == "ok" and self.result is None:
            raise ValueError("a task with status ok has a result")
        return self


class Fingerprints(BaseModel):
    """sha256 of the model's weight files and of every collection's files."""

    model_config = ConfigDict(extra="forbid")

    model: dict[str, str] = Field(default_factory=dict)
    datasets: dict[str, dict[str, str]] = Field(default_factory=dict)


class SharedCacheKind(BaseModel):
    """One kind of shared-cache entry: how often each event happened, and to which keys."""

    model_config = ConfigDict(extra="forbid")

    hits: int = Field(ge=0, description="Verified entries used instead of recomputing.")
    misses: int = Field(ge=0, description="Lookups that found no entry (or an unusable cache folder).")
    published: int = Field(ge=0, description="Entries in the cache after a write (stored now, or already there).")
    ignored: int = Field(ge=0, description="Entries present but incomplete or corrupt, so not used.")
    keys: dict[Literal["hit", "miss", "published", "ignored"], list[str]]


class SharedCacheRecord(BaseModel):
    """What the audit took from and gave to the shared artefact cache (robustrank.cache_events)."""

    model_config = ConfigDict(extra="forbid")

    dir: str | None = Field(description="The cache folder in force; null when the cache was off.")
    kinds: dict[str, SharedCacheKind] = Field(default_factory=dict)


class PluginRecord(BaseModel):
    """Which distribution supplied a plugin."""

    model_config = ConfigDict(extra="allow")

    distribution: str
    version: str
    entry_point: str


class Results(BaseModel):
    """results.json: the single machine-readable record of an audit."""

    model_config = ConfigDict(extra="forbid", title="robustrank results.json")

    schema_version: Literal["2.0"]
    robustrank_version: str
    name: str
    seed: int
    started_at: str
    finished_at: str
    config_path: str | None
    config: dict[str, Any] = Field(description="The validated model.yaml, defaults filled in.")
    environment: dict[str, Any]
    plugins: dict[str, PluginRecord]
    ranker: dict[str, Any]
    baseline: dict[str, Any]
    ranking: dict[str, Any] = Field(default_factory=dict, description="How ranked lists are ordered (tie_rule: the order that was evaluated and stored).")
    fingerprints: Fingerprints
    datasets: dict[str, dict[str, Any]]
    lexicon: dict[str, Any] | None
    score_cache: dict[str, Any]
    checkpoint: dict[str, Any]
    timings: dict[str, float]
    execution: dict[str, Any] = Field(default_factory=dict, description="Where work units ran: executor type, units run on it, GPUs, jobs that fell back to in-process.")
    shared_cache: SharedCacheRecord | None = Field(None, description="Shared artefact cache use: folder in force, per kind hits, misses, published, ignored, with keys.")
    metrics: dict[str, MetricValue] = Field(description="Union of every ok task's metrics, keyed by canonical metric key.")
    tasks: dict[str, TaskRecord]


def check_task_result(key: str, result: Any) -> None:
    """Check a task's result against :class:`TaskResult` before it is written.

    Raises:
        ValueError: Not a mapping, a field that violates the schema, or a metric key whose task
            is not ``key`` (one line).
    """
    from pydantic import ValidationError

    if not isinstance(result, Mapping):
        raise ValueError(f"task {key} returned {type(result).__name__}, not a mapping")

    try:
        TaskResult.model_validate(to_jsonable(result))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise ValueError(f"task {key} result violates the results schema at {where or '<root>'}: {msg}") from None
    foreign = [k for k in result.get("metrics") or {} if MetricKey.parse(k).task != key]
    if foreign:
        raise ValueError(f"task {key} reports metric keys of another task: {', '.join(foreign[:3])} (build them with MetricKey.of({key!r}, ...))")


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json."""
    schema = Results.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def per_query_records(
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
    query_ids: Iterable[str],
    **labels: Any,
) -> list[dict[str, Any]]:
    """Long records of ``{system: {measure: {query_id: value}}}`` (JSON dicts, ready for results).

    Args:
        values: Per-query values by system and measure.
        query_ids: Queries to include, in order.
        labels: Task fields added to every record (``variation="typo"``); None values are left out.

    Returns:
        Records ordered by system, measure, then ``query_ids``.
    """
    qids = list(query_ids)
    extra = {k: v for k, v in labels.items() if v is not None}
    return [
        {"query_id": q, "system": system, "measure": measure, "value": per_measure[q], **extra}
        for system, by_measure in values.items()
        for measure, per_measure in by_measure.items()
        for q in qids
        if q in per_measure
    ]


def task_records(result: Mapping[str, Any] | None) -> list[PerQueryRecord]:
    """The typed per-query records of a task result (a ``tasks.<key>.result`` dict)."""
    return [PerQueryRecord.model_validate(r) for r in (result or {}).get("per_query") or []]


def pivot(records: Iterable[PerQueryRecord], *fields: str) -> dict[Any, Any]:
    """Nest record values by ``fields`` then query id: ``pivot(rs, "system", "measure")`` gives
    ``{system: {measure: {query_id: value}}}`` (record order kept)."""
    out: dict[Any, Any] = {}
    for r in records:
        node = out
        for f in fields:
            node = node.setdefault(r.label(f), {})
        node[r.query_id] = r.value
    return out


def select_values(records: Iterable[PerQueryRecord], selector: Mapping[str, Any]) -> dict[str, float]:
    """``{query_id: value}`` of the records matching ``selector`` (finite values only).

    Raises:
        LookupError: No record matches, or two match the same query (the selector is ambiguous).
    """
    import math

    out: dict[str, float] = {}
    seen: set[str] = set()
    for r in records:
        if not r.matches(selector):
            continue
        if r.query_id in seen:
            raise LookupError(f"per-query selector {dict(selector)} matches several records of query {r.query_id!r}; add the distinguishing field")
        seen.add(r.query_id)
        if r.value is not None and math.isfinite(float(r.value)):
            out[r.query_id] = float(r.value)
    if not seen:
        raise LookupError(f"no per-query records match {dict(selector)}")
    return out
