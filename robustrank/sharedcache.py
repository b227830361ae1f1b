"""The shared artefact cache: expensive results reused across audits, outside any output folder.

Trained surrogate / imitation / distilled models and T4's BM25 column do not depend on where an
audit writes, and most of them not on the audited model either; their content keys already hash
everything they depend on. This cache keeps them under one folder so a second audit on the same
data (or of another model) reuses them instead of recomputing:

* folder: ``cache_dir:`` of model.yaml, else ``$ROBUSTRANK_CACHE_DIR``, else ``~/.cache/robustrank``;
  ``off`` (or an empty ``ROBUSTRANK_CACHE_DIR``) disables it;
* entries: ``<root>/<kind>/<key>/`` (a folder of files) or ``<root>/<kind>/<key>.json`` (a record),
  each with the sha256 of every byte it holds (``MANIFEST.json`` / a ``sha256`` field);
* writes go to a temporary name and become visible by one atomic rename, so a reader never sees
  a partial entry; a reader re-hashes an entry before use and ignores (and logs) any mismatch;
* trust: the root is created ``0700`` and is not used at all when another user owns it or it is
  group- or world-writable (a cache entry is code-adjacent: model weights, attack records).
  Weights in it are safetensors, like everything robustrank loads (docs/security.md).

An audit sets the folder for its duration with :func:`using_cache_dir`; library callers use
:func:`cache_root` (the folder in force, or None when disabled). An executor hands the folder in
force to its worker processes (:func:`worker_setting` in the driver, :func:`enter_worker` in the
worker). Every read and write is reported to :mod:`robustrank.cache_events` (results.json's
``shared_cache``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robustrank import cache_events
from robustrank.data.collection import sha256_file

__all__ = [
    "ENV_VAR",
    "SharedCache",
    "cache_root",
    "enter_worker",
    "publish_dir",
    "restore_dir",
    "using_cache_dir",
    "worker_setting",
]

log = logging.getLogger(__name__)

ENV_VAR = "ROBUSTRANK_CACHE_DIR"
_OFF = ("", "off", "none", "false", "0")
_UNSET = object()
_active: contextvars.ContextVar[Any] = contextvars.ContextVar("robustrank_cache_dir", default=_UNSET)


def _parse(value: str | os.PathLike[str] | None) -> Path | None:
    if value is None or str(value).strip().lower() in _OFF:
        return None
    return Path(value).expanduser()


def cache_root() -> Path | None:
    """The shared cache folder in force: :func:`using_cache_dir`, else the environment, else the default."""
    value = _active.get()
    if value is not _UNSET:
        return value
    env = os.environ.get(ENV_VAR)
    if env is not None:
        return _parse(env)
    return Path.home() / ".cache" / "robustrank"


@contextlib.contextmanager
def using_cache_dir(value: str | os.PathLike[str] | None) -> Iterator[Path | None]:
    """Use ``value`` as the shared cache folder inside the block (``None``: keep the default;
    ``"off"``: disabled)."""
    token = _active.set(_parse(value) if value is not None else cache_root())
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def worker_setting() -> str:
    """The folder in force as a string for a worker process (``off`` when disabled)."""
    root = cache_root()
    return str(root) if root is not None else "off"


def enter_worker(setting: str) -> None:
    """In an executor's worker process: use the driver's folder (:func:`worker_setting`) and mark
    the process as a worker for :mod:`robustrank.cache_events`."""
    os.environ[ENV_VAR] = setting
    cache_events.in_worker()


def _manifest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "MANIFEST.json"}


_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
"""Files that torch would unpickle: never taken from the cache (weights are safetensors)."""


def _verified(entry: Path) -> bool:
    """Whether folder ``entry`` holds exactly the files and bytes its MANIFEST.json lists, none pickled."""
    try:
        want = json.loads((entry / "MANIFEST.json").read_text("utf-8"))
        if not isinstance(want, dict) or not want or any(str(n).endswith(_PICKLE_SUFFIXES) for n in want):
            return False
        return _manifest(entry) == want
    except (OSError, ValueError):
        return False


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` into the new folder ``dst`` (hard links when possible: same bytes, no space)."""
    for p in sorted(src.rglob("*")):
        target = dst / p.relative_to(src)
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif p.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, target)
            except OSError:
                shutil.copy2(p, target)


class SharedCache:
    """Verified, atomically written entries under ``root`` (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def usable(self) -> bool:
        """Create the root (0700) if needed; False when it is not safe to use (logged)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            st = self.root.stat()
        except OSError as exc:
            log.warning("shared cache %s not usable: %s", self.root, exc)
            return False
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            log.warning("shared cache %s is owned by another user; not used", self.root)
            return False
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.warning("shared cache %s is writable by group or others; not used (chmod 700 it)", self.root)
            return False
        return True

    def _tmp(self, kind: str) -> Path:
        (self.root / kind).mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.root / kind / f".tmp-{uuid.uuid4().hex}"

    # -- folders --------------------------------------------------------------------------------
    def get_dir(self, kind: str, key: str, dest: Path) -> bool:
        """Copy the verified entry ``kind/key`` to the new folder ``dest``; False on a miss or a bad entry."""
        entry = self.root / kind / key
        if not self.usable() or not entry.exists():
            cache_events.note(kind, key, "miss")
            return False
        if not _verified(entry):
            log.warning("shared cache entry %s is incomplete or corrupt; ignored", entry)
            cache_events.note(kind, key, "ignored")
            return False
        tmp = dest.with_name(dest.name + f".restore-{uuid.uuid4().hex[:8]}")
        _copy_tree(entry, tmp)
        (tmp / "MANIFEST.json").unlink(missing_ok=True)
        if dest.exists():  # an incomplete earlier attempt (the caller checked for a complete one)
            shutil.rmtree(dest)
        tmp.rename(dest)
        log.info("reused %s from the shared cache %s", dest, entry)
        cache_events.note(kind, key, "hit")
        return True

    def put_dir(self, kind: str, key: str, src: Path) -> Path | None:
        """Store a copy of folder ``src`` as ``kind/key`` (first writer wins); returns the entry."""
        entry = self.root / kind / key
        if not self.usable():
            return None
        if _verified(entry):
            cache_events.note(kind, key, "published")
            return entry
        tmp = self._tmp(kind)
        try:
            _copy_tree(src, tmp)
            (tmp / "MANIFEST.json").write_text(json.dumps(_manifest(tmp), indent=1, sort_keys=True))
            if entry.exists():  # a bad entry: replace it
                bad = entry.with_name(f".bad-{uuid.uuid4().hex}")
                entry.rename(bad)
                shutil.rmtree(bad, ignore_errors=True)
            tmp.rename(entry)
        except OSError as exc:
            log.warning("could not store %s in the shared cache: %s", src, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        cache_events.note(kind, key, "published")
        return entry

    # -- records --------------------------------------------------------------------------------
    def get_json(self, kind: str, key: str) -> Any | None:
        """The verified record ``kind/key``, or None on a miss or a bad entry."""
        path = self.root / kind / f"{key}.json"
        if not self.usable() or not path.is_file():
            cache_events.note(kind, key, "miss")
            return None
        try:
            wrapper = json.loads(path.read_text("utf-8"))
            body = wrapper["payload"]
            ok = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest() == wrapper["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            log.warning("shared cache record %s is incomplete or corrupt; ignored", path)
            cache_events.note(kind, key, "ignored")
            return None
        cache_events.note(kind, key, "hit")
        return body

    def put_json(self, kind: str, key: str, payload: Any) -> Path | None:
        """Store a JSON-able record as ``kind/key`` (atomic replace)."""
        if not self.usable():
            return None
        path = self.root / kind / f"{key}.json"
        tmp = self._tmp(kind)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        try:
            tmp.write_text(json.dumps({"sha256": digest, "payload": payload}, sort_keys=True))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not store %s in the shared cache: %s", path, exc)
            tmp.unlink(missing_ok=True)
            return None
        cache_events.note(kind, key, "published")
        return path


def restore_dir(kind: str, key: str, dest: Path) -> bool:
    """Fill ``dest`` from the shared cache in force; False when disabled, missing or bad."""
    root = cache_root()
    return root is not None and SharedCache(root).get_dir(kind, key, Path(dest))


def publish_dir(kind: str, key: str, src: Path) -> None:
    """Store folder ``src`` in the shared cache in force (no-op when disabled)."""
    root = cache_root()
    if root is not None:
        SharedCache(root).put_dir(kind, key, Path(src))
