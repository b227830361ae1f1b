"""Release gate: a policy of conditions on results.json (and deltas to a baseline), outcomes
PASS / WARN / FAIL / ERROR, Markdown and JUnit outputs. Reads results files only, never a model."""

from robustrank.gate.evaluate import OUTCOMES, ConditionResult, GateResult, evaluate_gate, results_digest
from robustrank.gate.expr import Condition, parse_condition
from robustrank.gate.output import gate_junit, gate_markdown, write_gate_outputs
from robustrank.gate.policy import check_results_file, policy_from_results, policy_from_yaml

__all__ = [
    "OUTCOMES",
    "Condition",
    "ConditionResult",
    "GateResult",
    "check_results_file",
    "evaluate_gate",
    "gate_junit",
    "gate_markdown",
    "parse_condition",
    "policy_from_results",
    "policy_from_yaml",
    "results_digest",
    "write_gate_outputs",
]
