"""Reading ``model.yaml``: YAML (``safe_load``) -> validated :class:`AuditConfig`, and its JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from robustrank.config.audit import AuditConfig
from robustrank.config.tasks import tasks_json_schema, validate_tasks
from robustrank.errors import ConfigError, format_validation_errors
from robustrank.safeyaml import load_yaml_file

__all__ = ["json_schema", "load_config", "parse_config"]


def parse_config(data: Any, *, source: str = "<config>", base_dir: Path | None = None) -> AuditConfig:
    """Validate an already-parsed mapping as an :class:`AuditConfig`.

    Args:
        data: The mapping (from YAML or code).
        source: Name used in error messages.
        base_dir: Folder for relative paths (default: the working directory).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Naming the source and every offending key path.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: <root>: expected a mapping of sections, got {type(data).__name__}")
    try:
        cfg = AuditConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(source, exc)) from None
    cfg = cfg.model_copy(update={"tasks": validate_tasks(data.get("tasks"), source=source)})
    cfg._base_dir = (base_dir or Path.cwd()).resolve()
    cfg._source = source
    return cfg


def _apply_overrides(data: Any, overrides: dict[str, Any]) -> Any:
    if not overrides or not isinstance(data, dict):
        return data
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {} if child is None else child
            node = child
        node[leaf] = value
    return data


def load_config(path: str | Path, *, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Read and validate a ``model.yaml``.

    Args:
        path: The YAML file.
        overrides: Dotted keys set before validation (e.g. ``{"ranker.device": "cpu"}``), so
            command-line overrides are validated and reported like file content.

    Returns:
        The validated configuration; relative paths resolve against the file's folder.

    Raises:
        ConfigError: Unreadable file, YAML syntax error (with line), or invalid content.
    """
    p = Path(path)
    data = load_yaml_file(p)
    data = _apply_overrides(data, overrides or {})
    return parse_config(data, source=str(p), base_dir=p.resolve().parent)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of ``model.yaml`` (for editors)."""
    schema = AuditConfig.model_json_schema()
    tasks, defs = tasks_json_schema()
    schema.setdefault("$defs", {}).update(defs)
    schema["properties"]["tasks"] = {**tasks, "description": schema["properties"]["tasks"].get("description", "")}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "robustrank model.yaml"
    return schema
