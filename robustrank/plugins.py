"""Plugin discovery through entry points; a plugin is imported only when a config names it.

Groups: ``robustrank.rankers``, ``robustrank.attacks``, ``robustrank.defenses``,
``robustrank.tasks``. The built-in components are registered in robustrank's own
``pyproject.toml`` through the same groups a third-party package uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from robustrank.errors import PluginError

__all__ = ["GROUPS", "PluginInfo", "available", "load_plugin"]

GROUPS: dict[str, str] = {
    "ranker": "robustrank.rankers",
    "attack": "robustrank.attacks",
    "defense": "robustrank.defenses",
    "task": "robustrank.tasks",
}


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin (not imported).

    Attributes:
        kind: ranker, attack, defense or task.
        name: Name a config uses.
        value: ``module:attr`` it points at.
        distribution: Package that registered it.
        version: That package's version.
    """

    kind: str
    name: str
    value: str
    distribution: str
    version: str


def _group(kind: str) -> str:
    try:
        return GROUPS[kind]
    except KeyError:
        raise PluginError(f"unknown plugin kind {kind!r}; known: {', '.join(GROUPS)}") from None


def available(kind: str | None = None) -> list[PluginInfo]:
    """List registered plugins (without importing them), sorted by kind and name."""
    kinds = [kind] if kind else list(GROUPS)
    out = []
    for k in kinds:
        for ep in metadata.entry_points(group=_group(k)):
            dist = ep.dist
            out.append(PluginInfo(k, ep.name, ep.value, dist.name if dist else "?", dist.version if dist else "?"))
    return sorted(out, key=lambda p: (p.kind, p.name, p.distribution))


def load_plugin(kind: str, name: str, *, required: tuple[str, ...] = ()) -> tuple[Any, PluginInfo]:
    """Import the plugin registered as ``name`` in the group of ``kind``.

    Args:
        kind: ranker, attack, defense or task.
        name: Registered name.
        required: Attribute names the loaded object must have.

    Returns:
        The loaded object and its registration.

    Raises:
        PluginError: Unknown name, the same name registered twice, an import failure or a missing
            required attribute; the message names the plugin and its distribution.
    """
    eps = [ep for ep in metadata.entry_points(group=_group(kind)) if ep.name == name]
    if not eps:
        known = sorted({p.name for p in available(kind)})
        raise PluginError(f"no {kind} plugin named {name!r}; available: {', '.join(known) or 'none'}")
    dists = sorted({ep.dist.name if ep.dist else "?" for ep in eps})
    if len(eps) > 1:
        raise PluginError(f"{kind} plugin name {name!r} is registered more than once (by {', '.join(dists)}); uninstall one")
    ep = eps[0]
    info = PluginInfo(kind, name, ep.value, dists[0], ep.dist.version if ep.dist else "?")
    try:
        obj = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # also SystemExit: a plugin calling sys.exit() on import
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{exc}"
        raise PluginError(f"{kind} plugin {name!r} from {info.distribution} failed to load ({ep.value}): {what}") from None
    missing = [a for a in required if not hasattr(obj, a)]
    if missing:
        raise PluginError(f"{kind} plugin {name!r} from {info.distribution} is malformed: {ep.value} lacks {', '.join(missing)}")
    return obj, info
