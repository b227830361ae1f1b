"""Configuration of the certification task ``certify`` (CertDR randomized smoothing)."""

from __future__ import annotations

from pydantic import Field

from robustrank.schema_base import StrictModel

__all__ = ["CertifyConfig"]


class CertifyConfig(StrictModel):
    """Certified top-K robustness (Wu et al., CIKM 2022)."""

    enabled: bool = Field(False, description="Run the certification task.")
