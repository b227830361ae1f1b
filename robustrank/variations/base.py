"""Core types and shared rules of the query variation generators (see the package docstring)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["QueryVariant", "Variation", "edit_count"]


@dataclass(frozen=True)
class QueryVariant:
    """One perturbed query.

    Attributes:
        query_id: Id of the original query.
        original: The original query text.
        text: The perturbed text (possibly the empty string).
        variation: Name of the generator that produced it, e.g. ``"typo"``.
        edits: Human-readable edit log, e.g.
            ``("swap: 'measurement' -> 'meausrement'",)``; empty when nothing changed.
    """

    query_id: str
    original: str
    text: str
    variation: str
    edits: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether the generator made at least one edit."""
        return bool(self.edits)


@runtime_checkable
class Variation(Protocol):
    """A query variation generator.

    Attributes:
        name: Generator name; part of the per-query seed in :func:`generate_variants`.
    """

    name: str

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Perturb ``text`` using ``rng``.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and its edit log.
        """
        ...


def edit_count(rate: float, n_eligible: int) -> int:
    """Number of edits for ``n_eligible`` eligible positions at ``rate``.

    The rule is ``ceil(rate * n_eligible)`` with the product rounded to 9 decimals
    first, capped at ``n_eligible``: at least one edit whenever ``rate > 0`` and
    ``n_eligible > 0``, none at ``rate == 0``, all at ``rate == 1``.

    Args:
        rate: Share of eligible positions to edit, in [0, 1].
        n_eligible: Number of eligible positions (>= 0).

    Returns:
        The number of edits.
    """
    if n_eligible <= 0 or rate <= 0:
        return 0
    return min(n_eligible, math.ceil(round(rate * n_eligible, 9)))


def _check_rate(rate: Any) -> None:
    if (
        isinstance(rate, bool)
        or not isinstance(rate, numbers.Real)
        or not (0.0 <= float(rate) <= 1.0)
    ):
        raise ValueError(f"rate must be a number in [0, 1], got {rate!r}")


def _split_core(token: str) -> tuple[str, str, str]:
    """Split a token into (leading punctuation, core, trailing punctuation)."""
    idx = [i for i, ch in enumerate(token) if ch.isalnum()]
    if not idx:
        return token, "", ""
    return token[: idx[0]], token[idx[0] : idx[-1] + 1], token[idx[-1] + 1 :]


def _key(token: str) -> str:
    return _split_core(token)[1].lower()


def _choose(rng: np.random.Generator, n: int, k: int) -> list[int]:
    """Choose ``k`` of ``range(n)`` without replacement, returned sorted."""
    if k <= 0:
        return []
    return sorted(int(i) for i in rng.choice(n, size=k, replace=False))


# --------------------------------------------------------------------------- typos
