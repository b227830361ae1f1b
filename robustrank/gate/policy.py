"""Where a gate policy and its baseline come from: the config embedded in results.json, or a
model.yaml given with ``--policy``; and the one-call check used by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustrank.config.gate import GateConfig
from robustrank.errors import ConfigError, format_validation_errors
from robustrank.gate.evaluate import GateResult, evaluate_gate, results_digest
from robustrank.results import read_results
from robustrank.safeyaml import load_yaml_file

__all__ = ["check_results_file", "policy_from_results", "policy_from_yaml"]


def policy_from_results(results: dict[str, Any], *, source: str = "results.json") -> tuple[GateConfig, Path | None]:
    """The ``gate:`` section recorded in a results document, and the folder its relative
    baseline path resolves against (the audited config file's folder).

    Raises:
        ConfigError: The recorded section is not a valid policy.
    """
    from pydantic import ValidationError

    raw = ((results.get("config") or {}).get("gate")) or {}
    try:
        gate = GateConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format(source, exc)) from None
    cfg_path = results.get("config_path")
    base = Path(cfg_path).parent if cfg_path and not str(cfg_path).startswith("<") else None
    return gate, base


def policy_from_yaml(path: str | Path) -> tuple[GateConfig, Path]:
    """The ``gate:`` section of a model.yaml (only that section is validated, so a policy file
    may hold just ``gate:``), and the file's folder.

    Raises:
        ConfigError: Unreadable file, YAML error, or invalid policy (with the key path).
    """
    from pydantic import ValidationError


    p = Path(path)
    data = load_yaml_file(p)  # UTF-8, no duplicate keys, bounded size/depth/aliases
    if not isinstance(data, dict) or not isinstance(data.get("gate"), dict):
        raise ConfigError(f"{p}: gate: no gate policy in this file")
    try:
        gate = GateConfig.model_validate(data["gate"])
    except ValidationError as exc:
        raise ConfigError(_format(str(p), exc)) from None
    return gate, p.parent.resolve()


def _format(source: str, exc: Any) -> str:
    """One line per error: 'file: gate.conditions[0].check: reason' (the config loader's style)."""

    return format_validation_errors(source, exc, prefix=("gate",))


def check_results_file(
    results_path: str | Path,
    *,
    baseline_path: str | Path | None = None,
    policy_path: str | Path | None = None,
) -> tuple[GateResult, dict[str, Any]]:
    """Evaluate a gate on a results file: the policy from ``policy_path`` or the one recorded in
    the results; the baseline from ``baseline_path`` or the policy's ``baseline``.

    Returns:
        The gate outcome and the results document.

    Raises:
        DataError: Unreadable results or baseline file.
        ConfigError: Invalid policy, or a policy without conditions (nothing to gate on).
    """

    results = read_results(results_path)
    if policy_path is not None:
        gate, base = policy_from_yaml(policy_path)
        source = str(policy_path)
    else:
        gate, base = policy_from_results(results, source=str(results_path))
        source = f"{results_path} (config.gate)"
    if not gate.conditions:
        raise ConfigError(f"{source}: gate.conditions: the policy has no conditions; nothing to gate on")
    baseline, bpath, bdigest = None, None, None
    if baseline_path is None and gate.baseline:
        bp = Path(gate.baseline).expanduser()
        baseline_path = bp if bp.is_absolute() or base is None else base / bp
    if baseline_path is not None:
        baseline = read_results(baseline_path)
        bpath, bdigest = str(baseline_path), results_digest(baseline_path)
    gate_result = evaluate_gate(
        gate, results, baseline=baseline, results_digest=results_digest(results_path), baseline_path=bpath, baseline_digest=bdigest
    )
    return gate_result, results
