"""Types of the defence plugin API.

A defence plugin (entry-point group ``robustrank.defenses``) is a class with ``name``, an
``Options`` pydantic model (subclass of ``StrictModel``), ``__init__(self, options)``, and one
(or both) of two roles:

* :class:`RankerDefense` - ``wrap(ranker, env) -> Ranker``: a defended ranker (e.g. randomized
  smoothing) evaluated like the original (effectiveness, attacks against it);
* :class:`DocumentScreen` - ``fit(texts, seed=...)`` on clean documents, then ``score(texts)`` returning an
  anomaly score per document and ``threshold`` above which a document is flagged (e.g. a
  perplexity or term-stuffing detector), evaluated by detection and false-positive rates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["DefenseEnvironment", "DocumentScreen", "RankerDefense", "defended_score_fn", "defense_environment"]


@dataclass
class DefenseEnvironment:
    """What a defence may use.

    Attributes:
        documents: doc_id -> text of the collection (clean).
        lexicon: The synonym lexicon.
        seed: Seed for the defence's randomness.
        artifact_dir: ``(kind, key) -> Path`` for cached artefacts.
        device: torch device spec.
    """

    documents: dict[str, str]
    lexicon: Any
    seed: int
    artifact_dir: Callable[[str, str], Path]
    device: str = "auto"


@runtime_checkable
class RankerDefense(Protocol):
    """A defence that wraps a ranker."""

    name: str

    def wrap(self, ranker: Any, env: DefenseEnvironment) -> Any:
        """Return the defended ranker."""
        ...


@runtime_checkable
class DocumentScreen(Protocol):
    """A defence that flags suspicious documents."""

    name: str
    threshold: float

    def fit(self, texts: Sequence[str], *, seed: int) -> None:
        """Learn what clean documents look like (``seed``: from the audit seed's defence stream)."""
        ...

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Anomaly score per text (higher = more suspicious)."""
        ...


def defense_environment(ctx: Any, name: str, documents: dict[str, str]) -> DefenseEnvironment:
    """The environment of defence ``name`` in an audit: its seed is the ``defense/<name>`` stream
    of the audit seed, the same whichever task (T4 or certification) evaluates it."""
    return DefenseEnvironment(
        documents=documents,
        lexicon=ctx.lexicon,
        seed=ctx.stream_seed("defense", name),
        artifact_dir=ctx.artifact_dir,
        device=ctx.config.ranker.device,
    )


class _DefendedScore:
    """``(query, texts) -> scores`` of a defended ranker, with ``final`` for reported ranks."""

    def __init__(self, ranker: Any):
        self.ranker = ranker
        final = getattr(ranker, "score_final", None)
        if final is not None:
            self.final = lambda q, t: np.asarray(final(q, list(t)), dtype=np.float64)

    def __call__(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.ranker.score(query, list(texts)), dtype=np.float64)


def defended_score_fn(ranker: Any) -> Callable[[str, Sequence[str]], np.ndarray]:
    """The victim scoring function of a defended ranker for T4.

    When the ranker has ``score_final(query, docs)`` (a more precise estimate, e.g. a smoothed
    ranker re-scored with many Monte Carlo copies), the returned function carries it as
    ``.final``: the audit measures the reported rank of the original and adversarial text with
    it, while the attack's victim queries use the ordinary ``score``.
    """
    return _DefendedScore(ranker)
