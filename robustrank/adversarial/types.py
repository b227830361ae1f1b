"""Types of the attack plugin API: targets, budgets, the black-box victim oracle, outcomes.

An attack plugin (entry-point group ``robustrank.attacks``) is a class with

* ``name`` (str) and an ``Options`` pydantic model (subclass of ``StrictModel``) for its config;
* ``__init__(self, options)`` taking the validated options;
* ``prepare(self, env: AttackEnvironment) -> None`` for one-off work (e.g. training a surrogate
  from the victim's rankings), optional;
* ``attack(self, target, victim, budget, rng) -> AttackOutcome`` for one target document.

Attacks see the victim only through :class:`VictimOracle` (black box: ranks, and scores only
where the audit exposes them), which counts every victim query against the budget. White-box
attacks may ask ``env.white_box_ranker`` for gradients when the victim exposes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "AttackTarget",
    "Budget",
    "BudgetExceeded",
    "Edit",
    "AttackOutcome",
    "VictimOracle",
    "AttackEnvironment",
    "Attack",
    "architecture_of",
]


@dataclass(frozen=True)
class AttackTarget:
    """A document to promote for a query.

    Attributes:
        query_id: The query.
        query: Its text.
        doc_id: The target document.
        text: The target's original text (what rankers score).
        rank: Its 1-based rank in the victim's list before the attack.
        ranked_list: The victim's list for the query: (doc_id, score) best first; scores are
            None when the audit hides them (black box without scores).
    """

    query_id: str
    query: str
    doc_id: str
    text: str
    rank: int
    ranked_list: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class Budget:
    """Limits an attack must respect on one target.

    Attributes:
        max_words: Words substituted or inserted at most (None: no limit).
        max_fraction: Share of the document's words changed at most (None: no limit).
        max_victim_queries: Calls to the victim (documents scored) at most (None: no limit).
    """

    max_words: int | None = None
    max_fraction: float | None = None
    max_victim_queries: int | None = None

    def word_limit(self, n_words: int) -> int | None:
        """Words that may change in a document of ``n_words`` words (the tighter of both limits)."""
        limits = []
        if self.max_words is not None:
            limits.append(self.max_words)
        if self.max_fraction is not None:
            limits.append(int(self.max_fraction * n_words))
        return min(limits) if limits else None


class BudgetExceeded(Exception):
    """Raised by the oracle when an attack asks for more victim queries than its budget."""


@dataclass(frozen=True)
class Edit:
    """One change to a document.

    Attributes:
        kind: substitute, insert or delete.
        position: Word index in the original document (for insert: the index it goes before).
        original: The original word ("" for insert).
        replacement: The new word(s) ("" for delete).
    """

    kind: Literal["substitute", "insert", "delete"]
    position: int
    original: str
    replacement: str


@dataclass(frozen=True)
class AttackOutcome:
    """What an attack produced for one target.

    Attributes:
        adversarial_text: The perturbed document.
        edits: The edits applied (for budgets and the report's diff view).
        victim_queries: Victim calls used (as counted by the oracle).
        info: Attack-specific details (JSON-serialisable).
    """

    adversarial_text: str
    edits: tuple[Edit, ...] = ()
    victim_queries: int = 0
    info: dict[str, Any] = field(default_factory=dict)


class VictimOracle:
    """Black-box access to the victim for one target: where would the target rank with a new text?

    The other documents of the list keep their scores (computed once, not counted); every
    candidate text scored counts as one victim query.

    Args:
        score_fn: ``(query, texts) -> scores`` of the victim.
        target: The target.
        other_texts: doc_id -> text of the other documents in the list.
        max_queries: Budget of victim queries (None: unlimited).
        expose_scores: Whether :meth:`scores` is allowed (black box with scores).
    """

    def __init__(
        self,
        score_fn: Callable[[str, Sequence[str]], np.ndarray],
        target: AttackTarget,
        other_texts: Mapping[str, str],
        *,
        max_queries: int | None = None,
        expose_scores: bool = True,
    ):
        self._score_fn = score_fn
        self.target = target
        self.max_queries = max_queries
        self.expose_scores = expose_scores
        self.queries_used = 0
        ids = [d for d, _ in target.ranked_list if d != target.doc_id]
        self._other_scores = np.sort(np.asarray(score_fn(target.query, [other_texts[d] for d in ids]), dtype=np.float64))[::-1]

    def _score(self, texts: Sequence[str]) -> np.ndarray:
        if self.max_queries is not None and self.queries_used + len(texts) > self.max_queries:
            raise BudgetExceeded(f"victim query budget of {self.max_queries} exhausted")
        self.queries_used += len(texts)
        return np.asarray(self._score_fn(self.target.query, list(texts)), dtype=np.float64)

    def remaining(self) -> int | None:
        """Victim queries left (None: unlimited)."""
        return None if self.max_queries is None else self.max_queries - self.queries_used

    def rank_of_scores(self, scores: np.ndarray) -> np.ndarray:
        """1-based ranks the given target scores would have among the other documents (ties rank below)."""
        # number of other docs with score >= s, plus one
        return len(self._other_scores) - np.searchsorted(self._other_scores[::-1], scores, side="left") + 1

    def ranks(self, texts: Sequence[str]) -> list[int]:
        """Rank of the target with each candidate text (one victim query per text)."""
        if not texts:
            return []
        return self.rank_of_scores(self._score(texts)).astype(int).tolist()

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Victim scores of candidate texts (one victim query per text).

        Raises:
            PermissionError: The audit runs the victim as a black box without scores.
        """
        if not self.expose_scores:
            raise PermissionError("this victim exposes ranks only")
        return self._score(texts)


@dataclass
class AttackEnvironment:
    """What an attack may use in ``prepare``.

    Attributes:
        documents: doc_id -> text of the collection.
        queries: query_id -> text of the queries the audit may use (e.g. to train a surrogate).
        victim_rankings: query_id -> the victim's ranked list [(doc_id, score or None)]: the
            black-box outputs available to the attacker.
        rank_fn: ``(query, doc_texts) -> ranked indices`` to query the victim for extra queries
            (black box; counted in ``env_queries``).
        lexicon: The synonym lexicon.
        seed: Seed for the attack's own randomness.
        artifact_dir: ``(kind, key) -> Path`` for cached artefacts (e.g. a trained surrogate).
        device: torch device spec for the attack's own models.
        white_box_ranker: The victim itself when the audit allows white-box access, else None.
        progress: Show progress bars.
        env_queries: Texts the victim scored or ranked for the attack during ``prepare`` (through
            :meth:`victim_scores` / :meth:`victim_rank`), e.g. for synthesised training queries.
        score_fn: ``(query, texts) -> scores`` of the victim, for :meth:`victim_scores` and
            :meth:`victim_rank` (black box: every text counts in ``env_queries``).
        expose_scores: Whether the victim's scores may be read (False: ranks only).
        attacked_query_ids: Queries whose documents will be attacked on this system; attacks that
            learn from the victim's lists should keep them out of training (or record the overlap).
        victim_architecture: ``bi-encoder`` / ``cross-encoder`` / ... when the architecture family
            of the victim is known to the attacker (for an architecture-matched surrogate), else None.
    """

    documents: Mapping[str, str]
    queries: Mapping[str, str]
    victim_rankings: Mapping[str, Sequence[tuple[str, float | None]]]
    rank_fn: Callable[[str, Sequence[str]], list[int]] | None
    lexicon: Any
    seed: int
    artifact_dir: Callable[[str, str], Path]
    device: str = "auto"
    white_box_ranker: Any = None
    progress: bool = False
    env_queries: int = 0
    score_fn: Callable[[str, Sequence[str]], np.ndarray] | None = None
    expose_scores: bool = True
    attacked_query_ids: frozenset[str] = frozenset()
    victim_architecture: str | None = None

    def victim_scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """The victim's scores of ``texts`` for ``query`` (each text counts in ``env_queries``).

        Raises:
            PermissionError: The victim exposes ranks only, or no scoring function was given.
        """
        if not self.expose_scores or self.score_fn is None:
            raise PermissionError("this victim exposes no scores to the attacker")
        self.env_queries += len(texts)
        return np.asarray(self.score_fn(query, list(texts)), dtype=np.float64)

    def victim_rank(self, query: str, texts: Sequence[str]) -> list[int] | None:
        """Indices of ``texts`` in the victim's order, best first (None: no access to the victim)."""
        if self.rank_fn is not None:
            self.env_queries += len(texts)
            return list(self.rank_fn(query, list(texts)))
        if self.score_fn is None:
            return None
        self.env_queries += len(texts)
        s = np.asarray(self.score_fn(query, list(texts)), dtype=np.float64)
        return sorted(range(len(texts)), key=lambda i: (-s[i], i))


def architecture_of(ranker: Any) -> str | None:
    """The architecture family a ranker describes itself as (``describe()["type"]``), if any."""
    describe = getattr(ranker, "describe", None)
    try:
        kind = describe().get("type") if callable(describe) else None
    except Exception:  # a ranker whose description fails has no known architecture
        return None
    return str(kind) if kind else None


@runtime_checkable
class Attack(Protocol):
    """A document-side ranking attack."""

    name: str

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Perturb the target document to raise its rank; must respect ``budget``."""
        ...
