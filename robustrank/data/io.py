"""Line-oriented readers that report the file and line of any malformed input."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robustrank.errors import DataError

__all__ = ["open_text", "iter_lines", "iter_jsonl", "find_file", "check_relevance", "read_all_text"]

REL_MIN, REL_MAX = -(2**31), 2**31 - 1
"""Relevance grades must fit a C int (pytrec_eval stores them as one)."""
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DECODE_ERRORS = (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error, OSError)


def check_relevance(path: Path, lineno: int, rel: str) -> int:
    """Parse a relevance grade; a DataError naming file and line when not a C-int integer."""
    try:
        value = int(rel)
    except ValueError:
        raise DataError(f"{path}:{lineno}: relevance {rel!r} is not an integer") from None
    if not REL_MIN <= value <= REL_MAX:
        raise DataError(f"{path}:{lineno}: relevance {rel[:30]!r} is out of range ({REL_MIN}..{REL_MAX})")
    return value


def read_all_text(path: Path) -> str:
    """The whole (possibly gzipped) file as text; decode errors name the file."""
    with open_text(path) as fh:
        try:
            return fh.read()
        except _DECODE_ERRORS as exc:
            raise DataError(f"{path}: cannot decode: {exc}") from None


def _check_surrogates(path: Path, lineno: int, obj: object) -> None:
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise DataError(f"{path}:{lineno}: text holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


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
        except _DECODE_ERRORS as exc:  # bad UTF-8, truncated or corrupt gzip
            raise DataError(f"{path}: cannot decode: {exc}") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) from a JSON-lines file; each line must be an object."""
    for lineno, line in iter_lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise DataError(f"{path}:{lineno}: invalid JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        if _ESCAPED_SURROGATE.search(line):  # only \\uD8xx escapes can produce lone surrogates
            _check_surrogates(path, lineno, obj)
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
