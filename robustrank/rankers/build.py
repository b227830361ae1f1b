"""Building the ranker a ``ranker:`` config section describes, through the rankers registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustrank.config.audit import AuditConfig
from robustrank.config.ranker import RankerConfig
from robustrank.data import load_dataset
from robustrank.errors import ConfigError, RobustRankError
from robustrank.plugins import load_plugin
from robustrank.rankers.base import Ranker

__all__ = ["build_ranker", "build_ranker_from_config"]


def build_ranker_from_config(rc: RankerConfig, base_dir: Path, *, collection: Any = None, source: str = "<config>") -> Ranker:
    """Build a ranker from a RankerConfig through the ``robustrank.rankers`` registry.

    Raises:
        ConfigError / ModelNotFoundError / PluginError: naming ``ranker.*``.
    """
    factory, _ = load_plugin("ranker", rc.type, required=("from_config",))
    try:
        return factory.from_config(rc, base_dir=base_dir, collection=collection)
    except RobustRankError:
        raise
    except TypeError as exc:
        raise ConfigError(f"{source}: ranker.options: {exc}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # broken model folders raise many types (KeyError, SafetensorError, ...)
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ConfigError(f"{source}: ranker: cannot load {rc.model or rc.type}: {detail}") from None


def build_ranker(rc: RankerConfig, config: AuditConfig, *, collection: Any = None) -> Ranker:
    """Build the ranker of an audit config (BM25 as the audited ranker indexes the in-domain collection)."""
    if rc.type == "bm25" and collection is None:
        collection = load_dataset(config.datasets.in_domain, config.resolve)
    return build_ranker_from_config(rc, config.base_dir, collection=collection, source=config.source)
