"""Attack and defence entries of model.yaml, and the one loader of attack and defence plugins.

``AttackSpec`` (``tasks.t4.attacks[]``) and ``DefenseSpec`` (``tasks.t4.defenses[]`` and
``tasks.certify.defenses[]``) validate their ``options`` with the plugin's own ``Options`` model
when the config is loaded, so a typo in a plugin option is reported with its key path before any
work starts, for T4 and certification alike. ``load_attack`` / ``load_defense`` then build the
plugin from the validated options; the defence gets its seed from the audit seed's
``defense/<name>`` stream (:mod:`robustrank.seeds`), the same in every task.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core.core_schema import ValidationInfo

from robustrank import plugins
from robustrank.errors import PluginError, format_validation_errors
from robustrank.schema_base import StrictModel

__all__ = ["AttackSpec", "DefenseSpec", "load_attack", "load_defense", "validate_plugin_options"]

log = logging.getLogger(__name__)


def validate_plugin_options(kind: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate ``options`` with the ``Options`` model of plugin ``name``; returns them normalised.

    Raises:
        ValueError: No plugin of that name is registered, or invalid options (``key: reason``
            per error).
    """
    try:
        cls, _ = plugins.load_plugin(kind, name)
    except PluginError as exc:
        if name not in {p.name for p in plugins.available(kind)}:
            raise ValueError(str(exc)) from None
        # registered but broken (import failure, missing methods): the task records it as one
        # error row when it tries to run it; the options stay as written
        log.warning("%s plugin %s cannot be loaded to validate its options: %s", kind, name, exc)
        return dict(options)
    model = getattr(cls, "Options", None)
    if model is None:
        return dict(options)
    try:
        return model.model_validate(options).model_dump(mode="json")
    except ValidationError as exc:
        lines = [line.split(": ", 1)[1] for line in format_validation_errors("", exc).splitlines()]
        raise ValueError("; ".join(lines)) from None


class AttackSpec(StrictModel):
    """One attack to run: a plugin of the ``robustrank.attacks`` group and its options."""

    name: str = Field(description="Attack plugin name, e.g. prada_wu_2023.")
    key: str | None = Field(None, description="Key in results.json (default: the plugin name; name@2... when repeated).")
    options: dict[str, Any] = Field(default_factory=dict, description="Options validated by the attack plugin.")

    @field_validator("options")
    @classmethod
    def _validate_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")
        return validate_plugin_options("attack", name, v) if name else v


class DefenseSpec(StrictModel):
    """A defence plugin (entry-point group ``robustrank.defenses``) and its options.

    A bare name (``- perplexity_detector``) is accepted for a defence with default options.
    """

    name: str = Field(description="Defence plugin name, e.g. certdr_wu_2022 or perplexity_detector.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options validated by the plugin.")

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v

    @field_validator("options")
    @classmethod
    def _validate_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")
        return validate_plugin_options("defense", name, v) if name else v


def _build(kind: str, spec: AttackSpec | DefenseSpec, required: tuple[str, ...] = ()) -> tuple[Any, plugins.PluginInfo]:
    cls, info = plugins.load_plugin(kind, spec.name, required=required)
    model = getattr(cls, "Options", None)
    obj = cls(model.model_validate(spec.options)) if model is not None else cls(dict(spec.options))
    return obj, info


def load_attack(spec: AttackSpec) -> tuple[Any, plugins.PluginInfo]:
    """Build the attack plugin of ``spec`` from its validated options."""
    return _build("attack", spec, required=("attack",))


def load_defense(spec: DefenseSpec) -> tuple[Any, plugins.PluginInfo]:
    """Build the defence plugin of ``spec`` from its validated options."""
    return _build("defense", spec)
