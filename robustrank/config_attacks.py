"""Configuration of the adversarial task ``t4`` (attacks against the ranker and BM25)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from robustrank.schema_base import StrictModel

__all__ = ["AttackSpec", "T4Config"]


class AttackSpec(StrictModel):
    """One attack to run: a plugin of the ``robustrank.attacks`` group and its options."""

    name: str = Field(description="Attack plugin name, e.g. prada_wu_2023.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options validated by the attack plugin.")


class T4Config(StrictModel):
    """T4: defence against adversarial operations."""

    enabled: bool = Field(False, description="Run the adversarial task.")
    attacks: list[AttackSpec] = Field(default_factory=list)
