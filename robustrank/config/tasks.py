"""``tasks:`` section of model.yaml, validated through the tasks registry.

Every task - built-in or third-party - is a plugin of the ``robustrank.tasks`` entry-point group
whose class carries an ``Options`` model (a :class:`~robustrank.schema_base.StrictModel`).
``tasks.<key>`` is validated by the ``Options`` of the task registered as ``<key>``, so a plugin
task is configured exactly like a built-in one. The built-in tasks are present with their
defaults unless the file disables them; a plugin task runs when its key is listed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from robustrank import plugins
from robustrank.errors import ConfigError, PluginError, format_validation_errors

__all__ = ["BUILTIN_TASKS", "task_class", "tasks_json_schema", "validate_tasks"]

BUILTIN_TASKS = ("t1", "t2", "t3", "t4", "certify")
"""Tasks that run (with defaults) unless ``enabled: false``."""


def task_class(key: str) -> tuple[Any, Any]:
    """The registered task class of ``key`` and its registration (see :func:`load_plugin`)."""
    return plugins.load_plugin("task", key, required=("run", "Options"))


def validate_tasks(raw: Any, *, source: str = "<config>") -> dict[str, Any]:
    """Validate the ``tasks:`` mapping; returns key -> validated Options, built-ins first.

    Raises:
        ConfigError: Not a mapping, an unknown task key, or invalid options
            (``file: tasks.<key>.<option>: reason``).
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: tasks: expected a mapping of task keys, got {type(raw).__name__}")
    keys = list(BUILTIN_TASKS) + [k for k in raw if k not in BUILTIN_TASKS]
    out: dict[str, Any] = {}
    for key in keys:
        value = raw.get(key)
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            raise ConfigError(f"{source}: tasks.{key}: expected a mapping of options, got {type(value).__name__}")
        try:
            cls, _ = task_class(str(key))
        except PluginError as exc:
            raise ConfigError(f"{source}: tasks.{key}: {exc}") from None
        try:
            out[str(key)] = cls.Options.model_validate(value)
        except ValidationError as exc:
            raise ConfigError(format_validation_errors(source, exc, prefix=("tasks", key))) from None
    return out


def tasks_json_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """JSON Schema of ``tasks:`` for every registered task, and the ``$defs`` it refers to."""
    props: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    for info in plugins.available("task"):
        try:
            cls, _ = task_class(info.name)
        except PluginError:
            continue
        schema = cls.Options.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        props[info.name] = schema
    return {"type": "object", "properties": props, "additionalProperties": False}, defs
