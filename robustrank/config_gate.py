"""Configuration of the release gate (``gate:``)."""

from __future__ import annotations

from pydantic import Field

from robustrank.schema_base import StrictModel

__all__ = ["GateConfig"]


class GateConfig(StrictModel):
    """Release-gate policy."""

    conditions: list[str] = Field(default_factory=list)
