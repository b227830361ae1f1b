"""Severity thresholds of the report's risk scorecard (``gate.scorecard:`` in model.yaml).

The scorecard (``robustrank.report.scorecard``) turns results.json into findings ranked by
severity. Each kind of finding has two thresholds, ``high`` and ``medium``, on the value that
makes it bad (a rate that is bad when high, or a rate that is bad when low), and the severity
follows a ladder that uses the interval as well as the point estimate::

    critical  the whole interval is beyond `high`    (the data alone rule out "below high")
    high      the estimate is beyond `high`
    medium    the estimate is beyond `medium`
    low       only the interval reaches `medium`     (a problem is not ruled out)
    (none)    the interval stays on the safe side of `medium`: no finding

Defaults (documented in docs/gate.md, with their reasons)::

    gate:
      scorecard:
        t4_top10_rate:    {high: 0.25, medium: 0.10}   # share of attacked documents lifted into the top 10
        detection_rate:   {high: 0.50, medium: 0.80}   # share of adversarial documents a detector flags (bad when low)
        crq:              {high: 0.05, medium: 0.25}   # best CRQ@K over K (bad when low)
        t2_fail_rate:     {high: 0.30, medium: 0.15}   # share of queries losing more than the T2 tolerance
        t2_relative_drop: {high: 0.25, medium: 0.10}   # when no fail rate is recorded
        t3_gap:           {high: 0.10, medium: 0.05}   # relative drop off-domain minus BM25's
        t1_diff_vs_bm25:  {high: 0.02, medium: 0.01}   # loss against BM25: BM25 mean minus neural mean
"""

from __future__ import annotations

from pydantic import Field, model_validator

from robustrank.schema_base import StrictModel

__all__ = ["Band", "ScorecardConfig"]


class Band(StrictModel):
    """Two thresholds on one quantity; which side is bad is fixed by the finding's kind."""

    high: float = Field(description="Beyond this the finding is high (critical when the whole interval is beyond it).")
    medium: float = Field(description="Beyond this the finding is medium (low when only the interval reaches it).")


def _band(high: float, medium: float) -> Band:
    return Band(high=high, medium=medium)


class ScorecardConfig(StrictModel):
    """Severity thresholds of the risk scorecard (see the module docstring for the ladder)."""

    t4_top10_rate: Band = Field(
        default_factory=lambda: _band(0.25, 0.10),
        description="T4 top-10 rate (bad when high): share of attacked documents from low ranks lifted into the top 10.",
    )
    detection_rate: Band = Field(
        default_factory=lambda: _band(0.50, 0.80),
        description="Detector detection rate of adversarial documents (bad when low; high must be <= medium).",
    )
    crq: Band = Field(
        default_factory=lambda: _band(0.05, 0.25),
        description="Certified robust query share, best K (bad when low; high must be <= medium).",
    )
    t2_fail_rate: Band = Field(
        default_factory=lambda: _band(0.30, 0.15),
        description="T2 share of queries whose first measure drops by more than the tolerance (bad when high).",
    )
    t2_relative_drop: Band = Field(
        default_factory=lambda: _band(0.25, 0.10),
        description="T2 relative drop of the first measure (bad when high), used when no fail rate is recorded.",
    )
    t3_gap: Band = Field(
        default_factory=lambda: _band(0.10, 0.05),
        description="T3 gap: neural relative drop off-domain minus BM25's (bad when high).",
    )
    t1_diff_vs_bm25: Band = Field(
        default_factory=lambda: _band(0.02, 0.01),
        description="T1 loss against BM25 (BM25 mean minus neural mean; bad when high).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ScorecardConfig:
        for name in ("t4_top10_rate", "t2_fail_rate", "t2_relative_drop", "t3_gap", "t1_diff_vs_bm25"):
            b = getattr(self, name)
            if b.high < b.medium:
                raise ValueError(f"{name}: high ({b.high}) must be >= medium ({b.medium}) for a quantity that is bad when high")
        for name in ("detection_rate", "crq"):
            b = getattr(self, name)
            if b.high > b.medium:
                raise ValueError(f"{name}: high ({b.high}) must be <= medium ({b.medium}) for a quantity that is bad when low")
        return self
