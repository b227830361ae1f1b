"""Exception types whose messages are shown to users as one line (no traceback)."""

from __future__ import annotations

__all__ = ["RobustRankError", "ConfigError", "DataError", "ModelNotFoundError", "PluginError"]


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
