"""The typed layout of the compliance record's JSON export (``robustrank report --compliance --json``).

Published as JSON Schema by ``robustrank schema --compliance``; :func:`robustrank.report.compliance.build_record`
validates every record it builds against these models, so an export always matches the schema.
Numbers are copied from results.json (intervals as ``[low, high]``); null means not recorded.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["COMPLIANCE_RECORD_VERSION", "ComplianceRecord", "compliance_json_schema"]

COMPLIANCE_RECORD_VERSION = "1.0"

Num = float | None
Interval = list[Num] | None


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_M):
    framework: str
    clause: str
    asks: str
    sections: list[str]


class SystemIdentity(_M):
    model: str | None
    type: str | None
    path: str | None
    weights_sha256: dict[str, str]
    pipeline: str
    baseline: str | None


class IntendedUse(_M):
    declared: bool
    intended_use: str
    operating_domain: str | dict[str, str]
    evaluated_on: list[dict[str, Any]]


class TaskSection(_M):
    task: str
    status: str
    note: str | None
    source: str


class EffectivenessRow(_M):
    measure: str
    system: str
    n: int | None
    mean: Num
    ci: Interval
    confidence: Num
    p_value: Num = None


class Effectiveness(TaskSection):
    dataset: str | None = None
    n_queries: int | None = None
    rows: list[EffectivenessRow]


class GeneralisationRow(_M):
    dataset: str
    status: str | None
    note: str | None = None
    measure: str | None = None
    n: int | None = None
    neural_mean: Num = None
    neural_ci: Interval = None
    neural_relative_drop: Num = None
    bm25_relative_drop: Num = None
    gap: Num = None
    gap_ci: Interval = None


class Generalisation(TaskSection):
    in_domain: str | None = None
    rows: list[GeneralisationRow]


class NoiseRow(_M):
    variation: str
    rate: Num
    measure: str
    n: int | None
    drop: Num
    drop_ci: Interval
    relative_drop: Num
    p_corrected: Num
    significant: bool | None
    bm25_relative_drop: Num


class NaturalNoise(TaskSection):
    dataset: str | None = None
    n_queries: int | None = None
    correction: dict[str, Any] | None = None
    rows: list[NoiseRow]


class AttackRow(_M):
    attack: str
    system: str
    status: str | None
    threat_model: str | None
    n_targets: int | None
    success_rate: Num
    success_rate_ci: Interval
    top10_rate: Num


class Adversarial(TaskSection):
    budget: dict[str, Any] | None = None
    target_protocol: dict[str, Any] | None = None
    threat_model: dict[str, str] | None = None
    injection: dict[str, Num] | None = None
    rows: list[AttackRow]


class CertRow(_M):
    k: int
    crq: Num
    crq_ci: Interval
    n: int
    proof: int | None = Field(description="ISO/IEC 24029-2 proof: queries whose top K is certified.")
    counterexample: int | None = Field(description="Counterexample: T4 found an in-threat-model document entering the top K; null when no search was recorded.")
    inconclusive: int | None
    soundness_alarm: int | None
    inconclusive_share: Num


class Certification(TaskSection):
    dataset: str | None = None
    alpha: Num = None
    procedure: str | None = None
    bound: str | None = None
    n_queries: int | None = None
    candidates_per_query: int | None = None
    counterexample_search: str | None = None
    statement: str | None = None
    rows: list[CertRow]


class Protocol(_M):
    seed: int | None
    sample_sizes: list[dict[str, Any]]
    tests: list[str]
    corrections: list[dict[str, Any]]
    settings: dict[str, dict[str, Any]]


class SignOff(_M):
    role: str
    name: str | None
    date: str | None


class GateCondition(_M):
    check: str
    name: str
    severity: str
    outcome: str
    value: Any = None
    message: str


class GateDecision(_M):
    outcome: str
    counts: dict[str, int]
    conditions: list[GateCondition]
    sign_off: list[SignOff]


class Limitations(_M):
    known_limitations: list[str]
    residual_risk: list[str]


class Reproducibility(_M):
    robustrank_version: str | None
    results_schema_version: str | None
    results_sha256: str | None
    config_path: str | None
    config_sha256: str
    config_fingerprint: str | None
    seed: int | None
    python: str | None
    platform: str | None
    packages: dict[str, str | None]
    plugins: dict[str, dict[str, Any]]
    model_sha256: dict[str, str]
    data_sha256: dict[str, dict[str, str]]
    lexicon: dict[str, Any] | None


class Sections(_M):
    system_identity: SystemIdentity
    intended_use: IntendedUse
    declared_effectiveness: Effectiveness
    generalisation_limits: Generalisation
    natural_noise: NaturalNoise
    adversarial: Adversarial
    certification: Certification
    statistical_protocol: Protocol
    gate_decision: GateDecision
    reevaluation_triggers: list[str]
    limitations_and_residual_risk: Limitations
    reproducibility: Reproducibility


class ComplianceRecord(_M):
    """A robustness audit's compliance record (one per results.json)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="robustrank compliance record")

    record_version: str
    audit: str
    generated_by: str
    run: dict[str, Any]
    requirements: list[Requirement]
    sections: Sections


def compliance_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the compliance record's JSON export."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ComplianceRecord.model_json_schema()}
