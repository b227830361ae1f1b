"""Line-oriented readers that report the file and line of any malformed input."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robustrank.errors import DataError

__all__ = ["open_text", "iter_lines", "iter_jsonl", "find_file"]


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file, transparently decompressing ``.gz``."""
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
        return open(path, encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot open: {exc.strerror or exc}") from None


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without newline) for non-blank lines."""
    with open_text(path) as fh:
        try:
            for lineno, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield lineno, line
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            raise DataError(f"{path}: cannot decode: {exc}") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) from a JSON-lines file; each line must be an object."""
    for lineno, line in iter_lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj


def find_file(folder: Path, stem: str) -> Path:
    """Find ``stem`` or ``stem.gz`` in a folder.

    Raises:
        DataError: When neither exists.
    """
    for cand in (folder / stem, folder / f"{stem}.gz"):
        if cand.is_file():
            return cand
    raise DataError(f"{folder / stem}: file not found (also looked for {stem}.gz)")
