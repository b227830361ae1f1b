"""A black-box ranker from any Python callable ``module:attr``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from robustrank.errors import ConfigError

__all__ = ["CallableRanker", "import_object"]


def import_object(spec: str, *, key: str = "callable") -> Any:
    """Import ``module:attr`` (attr may be dotted).

    Raises:
        ConfigError: Malformed spec, missing module or attribute (naming ``key``).
    """
    if ":" not in spec:
        raise ConfigError(f"{key}: {spec!r} must look like 'module:attr'")
    mod_name, attr = spec.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ConfigError(f"{key}: cannot import module {mod_name!r}: {exc}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the module raised (or called sys.exit) while importing
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise ConfigError(f"{key}: importing module {mod_name!r} failed: {what}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{key}: module {mod_name!r} has no attribute {attr!r}") from None
    return obj


class CallableRanker:
    """Wraps ``fn(query, docs) -> scores`` as a black-box ranker.

    Args:
        fn: The scoring function.
        name: Display name.
    """

    def __init__(self, fn: Callable[[str, Sequence[str]], Sequence[float]], name: str = "callable"):
        self.fn = fn
        self.name = name

    @classmethod
    def from_config(cls, config: Any, **_: Any) -> CallableRanker:
        """Build from a :class:`~robustrank.config.RankerConfig` with ``callable: module:attr``."""
        fn = import_object(config.callable, key="ranker.callable")
        if not callable(fn):
            raise ConfigError(f"ranker.callable: {config.callable!r} is not callable")
        return cls(fn, name=config.callable)

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Call the function and check it returned one score per document."""
        scores = np.asarray(self.fn(query, list(docs)), dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(docs):
            raise ValueError(f"callable ranker {self.name!r} returned {scores.shape[0]} scores for {len(docs)} docs")
        return scores
