"""Work-unit checkpoints: finished units are appended (flushed and fsynced) as JSON lines.

An audit is split into work units (task x query x target ...). Each unit's result is appended
to ``checkpoint.jsonl`` in the output folder as soon as it is done; ``audit --resume`` reads the
file back and skips every unit already there, so a run killed at any moment loses at most the
unit in flight. The first line records a fingerprint of the configuration; resuming with a
different configuration is refused. A torn last line (the process died mid-write) is ignored.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from robustrank.errors import RobustRankError
from robustrank.fingerprint import describe_difference
from robustrank.results import to_jsonable

__all__ = ["Checkpoint", "CheckpointMismatch"]

log = logging.getLogger(__name__)

MAGIC = "robustrank-checkpoint"


class CheckpointMismatch(RobustRankError):
    """The checkpoint in the output folder belongs to another configuration."""


class Checkpoint:
    """Append-only store of finished unit results.

    Args:
        path: The JSONL file (None: keep results in memory only).
        fingerprint: Identifies the configuration the units belong to.
        resume: Load existing units; otherwise an existing file is replaced.
    """

    def __init__(self, path: Path | None, fingerprint: str, *, resume: bool = False, parts: dict[str, Any] | None = None):
        self.path = path
        self.fingerprint = fingerprint
        self.parts = parts
        self._units: dict[tuple[str, str], Any] = {}
        self.loaded = 0
        self.write_error: str | None = None
        """Why the checkpoint stopped being written (e.g. disk full); units stay in memory."""
        self._fh = None
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.exists():
            self._load(path)
            self._fh = open(path, "a", encoding="utf-8")
        else:
            self._fh = open(path, "w", encoding="utf-8")
            header = {"type": MAGIC, "fingerprint": fingerprint}
            if parts is not None:
                header["parts"] = parts
            self._write(header)

    def _load(self, path: Path) -> None:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        good_bytes = 0
        for i, line in enumerate(lines):
            if not line.strip():
                good_bytes += len(line.encode()) + 1
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if i >= len(lines) - 2:  # torn final record
                    log.warning("%s:%d: ignoring a partially written last record", path, i + 1)
                    break
                raise CheckpointMismatch(f"{path}:{i + 1}: corrupt checkpoint record") from None
            if i == 0:
                if not isinstance(rec, dict) or rec.get("type") != MAGIC:
                    raise CheckpointMismatch(f"{path}: not a robustrank checkpoint")
                if rec.get("fingerprint") != self.fingerprint:
                    what = ""
                    if self.parts is not None and isinstance(rec.get("parts"), dict):

                        what = f" ({describe_difference(rec['parts'], self.parts)} changed)"
                    raise CheckpointMismatch(
                        f"{path}: checkpoint was written for another configuration{what}; "
                        "remove it or run without --resume"
                    )
            else:
                if not (isinstance(rec, dict) and isinstance(rec.get("task"), str) and isinstance(rec.get("unit"), str) and "result" in rec):
                    raise CheckpointMismatch(f"{path}:{i + 1}: checkpoint record lacks task, unit or result; remove the file or run without --resume")
                self._units[(rec["task"], rec["unit"])] = rec["result"]
            good_bytes += len(line.encode()) + 1
        with open(path, "r+b") as fh:  # drop a torn tail so appends start on a clean line
            fh.truncate(min(good_bytes, os.path.getsize(path)))
        self.loaded = len(self._units)
        if self.loaded:
            log.info("resuming: %d finished units loaded from %s", self.loaded, path)

    def _write(self, rec: dict[str, Any]) -> None:
        """Append one record; on a write failure (disk full, I/O error) roll the file back to
        its last complete line and continue in memory only, so the audit's results survive."""
        if self._fh is None:
            return
        line = json.dumps(rec, allow_nan=False, separators=(",", ":")) + "\n"
        try:
            start = self._fh.tell()
        except OSError:
            start = None
        try:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            self.write_error = f"{self.path}: {exc.strerror or exc}"
            log.error("checkpoint: cannot write %s (%s); continuing without checkpointing, "
                      "units finished from now on will not be resumable", self.path, exc.strerror or exc)
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
            if start is not None:
                try:
                    with open(self.path, "r+b") as fh:  # drop the partial record
                        fh.truncate(start)
                except OSError:
                    pass

    def get(self, task: str, unit: str) -> Any | None:
        """The stored result of a unit, or None."""
        return self._units.get((task, unit))

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._units

    def put(self, task: str, unit: str, result: Any) -> Any:
        """Store a unit's result (JSON-normalised) and return the stored form.

        Returning the JSON round-tripped value makes a fresh run and a resumed run see exactly
        the same values.
        """
        stored = json.loads(json.dumps(to_jsonable(result), allow_nan=False))
        self._units[(task, unit)] = stored
        if self._fh is not None:
            self._write({"task": task, "unit": unit, "result": stored})
        return stored

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
