"""Robustness tasks. Each is a plugin in the ``robustrank.tasks`` entry-point group."""

from robustrank.tasks.base import Task, TaskSkipped

__all__ = ["Task", "TaskSkipped"]
