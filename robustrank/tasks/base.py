"""The task protocol: build from options, run against an :class:`~robustrank.context.AuditContext`."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Task", "TaskSkipped"]


@runtime_checkable
class Task(Protocol):
    """A robustness task.

    A task class is registered under the config key that enables it (e.g. ``t1``); the audit
    constructs it with the validated options of that key and calls :meth:`run`. ``run`` returns
    a JSON-serialisable dict (the task's record in results.json). An exception is caught by the
    audit and recorded as ``status: error`` with its message; the audit goes on.
    """

    name: str
    title: str

    def run(self, ctx: Any) -> dict[str, Any]:
        """Execute the task and return its result record."""
        ...


class TaskSkipped(Exception):
    """Raised by a task that has nothing to do (e.g. T3 without OOD collections).

    The audit records it as ``status: skipped`` with the message as the reason.
    """
