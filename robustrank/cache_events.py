"""What an audit took from and gave to the shared artefact cache, for results.json.

:class:`robustrank.sharedcache.SharedCache` reports every read and write here with
:func:`note`: ``hit`` (a verified entry was used), ``miss`` (no entry, or the cache folder is not
usable), ``published`` (the entry is in the cache after a write: stored now, or already there) and
``ignored`` (an entry was present but incomplete or corrupt, so it was not used). An audit collects
them for its duration with :func:`collecting`; outside a collector they are only logged.

Cache use happens in the driver process (trainers run in an attack's ``prepare``, the BM25 column
around the campaign); a worker process started by an executor has no collector of its own, so
:func:`in_worker` marks it and an event there is logged as a warning (it would not reach
results.json) instead of being dropped silently.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["EVENTS", "CacheEvents", "collecting", "in_worker", "note", "summary"]

log = logging.getLogger(__name__)

EVENTS = ("hit", "miss", "published", "ignored")
"""Event names, in the order they are reported."""
_COUNTS = {"hit": "hits", "miss": "misses", "published": "published", "ignored": "ignored"}


class CacheEvents:
    """The cache events of one audit, in the order they happened."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def add(self, kind: str, key: str, event: str) -> None:
        """Record ``event`` (one of :data:`EVENTS`) for entry ``kind/key``."""
        if event not in EVENTS:
            raise ValueError(f"unknown shared cache event {event!r} (one of {', '.join(EVENTS)})")
        self.events.append((kind, key, event))

    def summary(self, root: Path | None) -> dict[str, Any]:
        """The results.json record: the folder in force (None: cache off) and, per kind, the count
        of each event and the keys it happened to (in order; a key may repeat)."""
        kinds: dict[str, dict[str, Any]] = {}
        for kind, key, event in self.events:
            rec = kinds.setdefault(kind, {**{_COUNTS[e]: 0 for e in EVENTS}, "keys": {e: [] for e in EVENTS}})
            rec[_COUNTS[event]] += 1
            rec["keys"][event].append(key)
        return {"dir": str(root) if root is not None else None, "kinds": dict(sorted(kinds.items()))}


class _Worker:
    """Stands in for a collector in an executor's worker process: events there are not recorded."""

    def add(self, kind: str, key: str, event: str) -> None:
        log.warning("shared cache %s of %s/%s in a worker process: not recorded in results.json", event, kind, key)


_collector: contextvars.ContextVar[Any] = contextvars.ContextVar("robustrank_cache_events", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[CacheEvents]:
    """Collect the cache events inside the block."""
    events = CacheEvents()
    token = _collector.set(events)
    try:
        yield events
    finally:
        _collector.reset(token)


def in_worker() -> None:
    """Mark this process as an executor's worker (see the module docstring)."""
    if _collector.get() is None:
        _collector.set(_Worker())


def summary(root: Path | None) -> dict[str, Any]:
    """:meth:`CacheEvents.summary` of the collector in force (no events when there is none)."""
    collector = _collector.get()
    return (collector if isinstance(collector, CacheEvents) else CacheEvents()).summary(root)


def note(kind: str, key: str, event: str) -> None:
    """Report a cache event to the collector in force (logged at debug level when there is none)."""
    collector = _collector.get()
    if collector is None:
        log.debug("shared cache %s of %s/%s (no collector)", event, kind, key)
    else:
        collector.add(kind, key, event)
