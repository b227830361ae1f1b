"""``executor:`` section of model.yaml: where work units run (settings only; the backends live in
:mod:`robustrank.executors`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robustrank.schema_base import StrictModel

__all__ = ["ExecutorConfig"]


class ExecutorConfig(StrictModel):
    """``executor:`` section of model.yaml."""

    type: Literal["in-process", "processes", "ray"] = Field("in-process", description="Where work units run.")
    workers: int = Field(2, gt=0, description="Worker processes (processes) or CPUs of a local Ray cluster.")
    address: str | None = Field(None, description="Ray cluster address (e.g. ray://head:10001); None starts a local cluster.")
    max_in_flight: int = Field(8, gt=0, description="Units submitted but not finished, at most.")
    max_retries: int = Field(2, ge=0, description="Resubmissions of a unit whose worker died.")
    object_store_mb: int = Field(256, gt=0, description="Object store cap of a local Ray cluster (MiB).")
    units_per_task: int = Field(4, gt=0, description="Work units (queries, attack targets, certified queries) per submitted task.")
    threads_per_worker: int = Field(1, gt=0, description="Torch threads of each worker process.")
