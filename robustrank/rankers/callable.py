"""A black-box ranker from any Python callable ``module:attr``."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.errors import ConfigError

__all__ = ["CallableRanker", "import_object"]


def import_object(spec: str, *, key: str = "callable", search_dir: Path | None = None) -> Any:
    """Import ``module:attr`` (attr may be dotted).

    Args:
        spec: ``module:attr``.
        key: Config key named in errors.
        search_dir: A folder put first on the import path (the config file's folder), so a module
            next to the config is found without installing it; PYTHONPATH and installed packages follow.

    Raises:
        ConfigError: Malformed spec, missing module or attribute (naming ``key`` and where it looked).
    """
    if ":" not in spec:
        raise ConfigError(f"{key}: {spec!r} must look like 'module:attr'")
    mod_name, attr = spec.split(":", 1)
    if search_dir is not None and str(search_dir) not in sys.path:
        sys.path.insert(0, str(search_dir))
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as exc:
        where = f"the config folder {search_dir}, then " if search_dir is not None else ""
        raise ConfigError(
            f"{key}: cannot import module {mod_name!r} ({exc}); it is looked up in {where}PYTHONPATH and the installed packages"
        ) from None
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
    def from_config(cls, config: Any, *, base_dir: Path | None = None, **_: Any) -> CallableRanker:
        """Build from a :class:`~robustrank.config.RankerConfig` with ``callable: module:attr``.

        The module is looked up in the config file's folder first, then on PYTHONPATH and among
        the installed packages.
        """
        fn = import_object(config.callable, key="ranker.callable", search_dir=base_dir)
        if not callable(fn):
            raise ConfigError(f"ranker.callable: {config.callable!r} is not callable")
        return cls(fn, name=config.callable)

    def fingerprint(self) -> dict[str, str]:
        """The callable's own ``fingerprint()`` if it has one, else sha256 of the file that defines it.

        So resume and provenance notice when the scoring code changes (the files it imports are
        not hashed; give the callable a ``fingerprint`` attribute returning {name: hash} to cover them).
        """
        own = getattr(self.fn, "fingerprint", None)
        if callable(own):
            return {str(k): str(v) for k, v in dict(own()).items()}
        try:
            path = inspect.getsourcefile(inspect.unwrap(self.fn)) or inspect.getsourcefile(type(self.fn))
        except TypeError:
            path = None
        if not path or not Path(path).is_file():
            return {}
        return {f"callable:{Path(path).name}": hashlib.sha256(Path(path).read_bytes()).hexdigest()}

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {"type": "callable", "name": self.name}

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Call the function and check it returned one score per document."""
        scores = np.asarray(self.fn(query, list(docs)), dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(docs):
            raise ValueError(f"callable ranker {self.name!r} returned {scores.shape[0]} scores for {len(docs)} docs")
        return scores
