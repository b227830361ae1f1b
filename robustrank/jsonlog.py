"""JSON-lines log records (``robustrank --log-json``): one object per record, for CI logs.

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; a progress record
(:mod:`robustrank.executors.progress`) adds ``progress`` with task, step, done, total, rate
(units/s), eta_s and elapsed_s; an exception adds ``exception`` (its one-line text).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging

__all__ = ["JsonFormatter"]


class JsonFormatter(logging.Formatter):
    """Formats a log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102 - logging hook
        out = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        progress = getattr(record, "progress", None)
        if progress is not None:
            out["progress"] = progress
        if record.exc_info and record.exc_info[1] is not None:
            out["exception"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json.dumps(out, default=str)
