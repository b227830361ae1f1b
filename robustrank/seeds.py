"""The one seed route: every random choice of an audit draws from a named stream of the audit seed.

A stream is named by a path of parts, e.g. ``("t4", "targets", "neural", "q12")``; the same
audit seed and path always give the same 63-bit seed, whatever ran before, so results do not
depend on execution order, resumption or the executor. No component has a default seed of its
own: tasks, attacks and defences receive a seed derived here from the audit seed.

Stream names in use (first part): ``t1``, ``t2``, ``t2-slice``, ``t3``, ``t4`` (``queries``,
``targets``, ``fluency``, ``<attack key>``, ``injection``, ``screen``), ``certify`` and
``defense`` (``defense/<name>``, shared by T4 and certification).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["derive_seed", "rng", "stream_seed"]


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed derived from the audit seed and any identifying parts (stable across runs)."""
    h = hashlib.blake2b(repr((seed, *parts)).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "big") >> 1


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy generator on the stream ``parts`` of ``seed``."""
    return np.random.default_rng(derive_seed(seed, *parts))


def stream_seed(seed: int, *parts: object) -> int:
    """A 31-bit integer seed for components that take an ``int`` (torch, plugins).

    Drawn as the first ``integers(2**31)`` of the stream, which is how components were seeded
    before the route was unified, so their numbers do not change.
    """
    return int(rng(seed, *parts).integers(2**31))
