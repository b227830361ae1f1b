"""Configuration of the release gate (``gate:`` in model.yaml).

A policy is a list of conditions on the numbers of a results.json, each with a severity::

    gate:
      on_error: fail                 # a condition that cannot be evaluated fails the gate (fail closed)
      baseline: null                 # previous results.json for delta(...) conditions
      conditions:
        - t1.nDCG@10.mean >= 0.40                      # short form: severity fail
        - check: t2.typo.nDCG@10.relative_drop <= 0.25
          severity: warn
        - check: delta(t1.nDCG@10.mean) >= -0.01       # regression against the baseline
          paired: {test: t, alpha: 0.05}               # one-sided paired test on the per-query records
        - check: $.tasks.t1.result.n_queries >= 50     # a raw JSON path into results.json

The grammar of ``check`` is documented in :mod:`robustrank.gate.expr` and ``docs/gate.md``.
Conditions are parsed when the config is loaded, so a typo is reported with its key path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustrank.config.scorecard import ScorecardConfig
from robustrank.gate.expr import parse_condition, parse_ref
from robustrank.schema_base import StrictModel

__all__ = ["ConditionSpec", "GateConfig", "PairedSpec"]


class PairedSpec(StrictModel):
    """Paired test for a ``delta(...)`` condition on a per-query mean."""

    test: Literal["t", "wilcoxon"] = Field(
        "t", description="One-sided paired test on per-query differences: t (scipy ttest_1samp) or wilcoxon (signed-rank)."
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the one-sided test.")
    per_query: str | dict[str, str | int | float | bool | None] | None = Field(
        None,
        description="Where the per-query values whose mean is the metric are: null = the long records the metric's "
        "task names in result.metric_per_query; a mapping = a filter over the per-query records of the metric's "
        "task (e.g. {measure: RR@10, system: neural}; 'task' picks another task); a string = a JSON path "
        "(starting with '$.') of a {query_id: value} mapping.",
    )

    @field_validator("per_query")
    @classmethod
    def _json_path(cls, v: Any) -> Any:

        if isinstance(v, str) and parse_ref(v).is_metric:
            raise ValueError("per_query is a record filter (mapping) or a JSON path starting with '$.'")
        if isinstance(v, dict) and not v:
            raise ValueError("per_query filter is empty; name at least one field (e.g. measure)")
        return v


class ConditionSpec(StrictModel):
    """One gate condition."""

    check: str = Field(
        description="'<ref> <op> <value>' or 'delta(<ref>) <op> <value>'; ref is a key of results.metrics "
        "(e.g. t1.nDCG@10.mean) or a JSON path starting with '$.'; op is one of >= <= > < == !=."
    )
    severity: Literal["fail", "warn"] = Field("fail", description="What a violated condition does to the gate.")
    name: str | None = Field(None, description="Display name (default: the check text).")
    on_error: Literal["fail", "warn"] | None = Field(
        None, description="Override gate.on_error for this condition (null: use the gate's)."
    )
    paired: PairedSpec | None = Field(
        None, description="delta conditions only: decide the violation by a one-sided paired test on per-query values."
    )

    @field_validator("check")
    @classmethod
    def _parse(cls, v: str) -> str:

        parse_condition(v)  # raises ValueError with the reason
        return v

    @model_validator(mode="after")
    def _paired_needs_delta(self) -> ConditionSpec:

        if self.paired is not None and not parse_condition(self.check).delta:
            raise ValueError("'paired' applies to delta(...) conditions only")
        return self

    @property
    def label(self) -> str:
        """The display name."""
        return self.name or self.check


class GateConfig(StrictModel):
    """Release-gate policy."""

    conditions: list[ConditionSpec] = Field(
        default_factory=list, description="Conditions; a string is short for {check: <string>, severity: fail}."
    )
    on_error: Literal["fail", "warn"] = Field(
        "fail",
        description="A condition whose task errored or whose value is missing is ERROR; 'fail' (default, fail "
        "closed) fails the gate, 'warn' only warns.",
    )
    baseline: str | None = Field(
        None, description="Previous results.json for delta(...) conditions (relative to this file; --baseline overrides)."
    )
    require_same_data: bool = Field(
        True, description="delta conditions are ERROR when the baseline was run on different data (dataset sha256 differ)."
    )
    scorecard: ScorecardConfig = Field(
        default_factory=ScorecardConfig, description="Severity thresholds of the report's risk scorecard (docs/gate.md)."
    )

    @field_validator("conditions", mode="before")
    @classmethod
    def _short_form(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"check": c} if isinstance(c, str) else c for c in v]
        return v
