"""Robustness tasks. Each is a plugin in the ``robustrank.tasks`` entry-point group."""

from robustrank.tasks.base import Task

__all__ = ["Task"]
