"""The one seed route: every random choice of an audit draws from a named stream of the audit seed.

A stream is named by a path of parts, e.g. ``("t4", "targets", "neural", "q12")``; the same
audit seed and path always give the same 63-bit seed, whatever ran before, so results do not
depend on execution order, resumption or the executor. No component has a default seed of its
own: tasks, attacks and defences receive a seed derived here from the audit seed.

Stream names in use (first part): ``t1``, ``t2``, ``t2-slice``, ``t3``, ``t4`` (``queries``,
``targets``, ``fluency``, ``<attack key>``, ``injection``, ``screen``), ``certify`` and
``defense`` (``defense/<name>``, shared by T4 and certification).

One stream keeps an encoding of its own: T2's per-query variant generator
(:func:`variant_rng`) hashes a JSON array instead of the ``repr`` of the parts. It is the same
BLAKE2b route, kept so that the query variants - and every T2 number - stay identical to the
variants of earlier versions.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["derive_seed", "rng", "stream_seed", "variant_rng"]


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


def variant_rng(seed: int, variation: str, query_id: str) -> np.random.Generator:
    """The generator of one query's variant under one T2 variation (``t2`` variant stream).

    BLAKE2b over the JSON array ``[seed, variation, query_id]`` (64 bits): the encoding T2 has
    always used, so variants are stable across versions and independent of ``PYTHONHASHSEED``.
    """
    payload = json.dumps([int(seed), str(variation), str(query_id)], ensure_ascii=False).encode("utf-8")
    return np.random.default_rng(int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big"))
