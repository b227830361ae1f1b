"""Conversion of task output (numpy values, tuples, paths, non-finite floats) to plain JSON."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, paths and non-finite floats (-> None) for JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy
        return to_jsonable(obj.tolist())
    return obj
