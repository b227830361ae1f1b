"""Exception types whose messages are shown to users as one line (no traceback), and the one
formatter of pydantic validation errors (``file: key.path: reason``)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "ModelNotFoundError",
    "PluginError",
    "RobustRankError",
    "TaskSkipped",
    "format_validation_errors",
]


class RobustRankError(Exception):
    """Base class for errors that the CLI reports as a single line."""


class ConfigError(RobustRankError):
    """An invalid ``model.yaml``; the message names the file and the key path."""


class DataError(RobustRankError):
    """Malformed or missing input data; the message names the file (and line, where known)."""


class ModelNotFoundError(RobustRankError):
    """A model could not be resolved offline; the message says what to install or where to point."""


class PluginError(RobustRankError):
    """A plugin is unknown, duplicated or malformed; the message names it and its distribution."""


class TaskSkipped(Exception):
    """Raised by a task that has nothing to do (e.g. T3 without OOD collections).

    The audit records it as ``status: skipped`` with the message as the reason.
    """


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def format_validation_errors(source: str, exc: Any, prefix: tuple[Any, ...] = ()) -> str:
    """One line per pydantic error: ``file: key.path[0].sub: reason`` (``prefix`` prepends keys).

    Args:
        source: File (or other origin) named at the start of each line.
        exc: A ``pydantic.ValidationError``.
        prefix: Keys the validated mapping sits under (e.g. ``("tasks", "t4")``).
    """
    lines = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"{source}: {_loc(loc)}: {msg}")
    return "\n".join(lines)
