"""Base class of every configuration model (core sections and plugin options alike)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["MAX_BOOTSTRAP", "StrictModel"]

MAX_BOOTSTRAP = 100_000
"""Upper bound of every ``bootstrap_samples`` option (memory grows with resamples x queries)."""


class StrictModel(BaseModel):
    """An immutable pydantic model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
