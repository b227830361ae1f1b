"""Word-level variations: synonym substitution, word shuffle, stopword drop and insert."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustrank.text import stopwords
from robustrank.variations.base import _check_rate, _choose, _key, _split_core, edit_count

__all__ = ["StopwordDrop", "StopwordInsert", "SynonymSubstitution", "WordShuffle"]


@dataclass(frozen=True)
class SynonymSubstitution:
    """Replace chosen content words by lexicon synonyms.

    A word is eligible when its lowercase core is not a bundled stopword and
    ``lexicon.synonyms(core, k=k, min_similarity=min_similarity)`` returns at least
    one synonym different from the word itself (duplicates removed, lexicon order
    kept). ``edit_count(rate, n_eligible)`` eligible words are chosen uniformly
    without replacement, and each is replaced by a synonym drawn uniformly from its
    (at most ``k``) candidates; the word's leading/trailing punctuation is kept and
    the synonym is inserted as the lexicon spells it.

    Attributes:
        rate: Share of eligible words to replace, in [0, 1].
        lexicon: Any object with ``synonyms(word, k=None, min_similarity=0.0)``
            returning a sequence of items with ``.word`` and ``.similarity``.
        k: Number of top synonyms to choose from (``None``: all the lexicon gives).
        min_similarity: Minimum similarity passed to the lexicon.
        name: Generator name.
    """

    rate: float
    lexicon: Any = field(repr=False)
    k: int | None = 10
    min_similarity: float = 0.0
    name: str = field(default="synonym", kw_only=True)

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        if self.lexicon is None or not callable(getattr(self.lexicon, "synonyms", None)):
            raise ValueError("lexicon must provide a synonyms(word, k, min_similarity) method")
        if self.k is not None and (
            isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral) or self.k < 1
        ):
            raise ValueError(f"k must be a positive integer or None, got {self.k!r}")
        if isinstance(self.min_similarity, bool) or not isinstance(
            self.min_similarity, numbers.Real
        ) or math.isnan(self.min_similarity):
            raise ValueError(f"min_similarity must be a number, got {self.min_similarity!r}")

    def _candidates(self, word: str) -> list[str]:
        found = self.lexicon.synonyms(word, k=self.k, min_similarity=self.min_similarity)
        out: list[str] = []
        for syn in found:
            cand = str(syn.word)
            if cand and cand.lower() != word and cand not in out:
                out.append(cand)
        return out[: self.k] if self.k is not None else out

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Apply synonym substitution.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and one log entry per replaced word,
            ``"synonym: '<old>' -> '<new>'"``.
        """
        tokens = text.split()
        sw = stopwords()
        cache: dict[str, list[str]] = {}
        eligible: list[tuple[int, list[str]]] = []
        for i, tok in enumerate(tokens):
            key = _key(tok)
            if not key or key in sw:
                continue
            if key not in cache:
                cache[key] = self._candidates(key)
            if cache[key]:
                eligible.append((i, cache[key]))
        edits: list[str] = []
        for j in _choose(rng, len(eligible), edit_count(self.rate, len(eligible))):
            i, cands = eligible[j]
            old = tokens[i]
            pre, _, post = _split_core(old)
            new = pre + cands[int(rng.integers(len(cands)))] + post
            tokens[i] = new
            edits.append(f"synonym: {old!r} -> {new!r}")
        return " ".join(tokens), tuple(edits)


# --------------------------------------------------------------------------- word order


@dataclass(frozen=True)
class WordShuffle:
    """Permute the positions of a chosen subset of words.

    All words are eligible. ``edit_count(rate, n_words)`` positions are chosen
    (raised to 2 when it is 1 and the query has >= 2 words, since moving one word
    needs a partner); the words at those positions are permuted uniformly at random.
    If the draw leaves the text unchanged, the chosen words are rotated by one
    position instead, so the text changes unless all chosen words are equal. The
    multiset of words is always preserved; ``rate=1`` shuffles all words.

    Attributes:
        rate: Share of word positions to permute, in [0, 1].
        name: Generator name.
    """

    rate: float
    name: str = field(default="shuffle", kw_only=True)

    def __post_init__(self) -> None:
        _check_rate(self.rate)

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Shuffle words.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and, if it changed, one log entry
            ``"shuffle: '<old text>' -> '<new text>'"``.
        """
        tokens = text.split()
        n = len(tokens)
        k = edit_count(self.rate, n)
        if n < 2 or k == 0:
            return " ".join(tokens), ()
        positions = _choose(rng, n, max(k, 2))
        chosen = [tokens[p] for p in positions]
        order = [int(i) for i in rng.permutation(len(positions))]
        moved = [chosen[i] for i in order]
        if moved == chosen:
            moved = chosen[1:] + chosen[:1]
        new_tokens = list(tokens)
        for p, w in zip(positions, moved):
            new_tokens[p] = w
        old, new = " ".join(tokens), " ".join(new_tokens)
        if new == old:
            return new, ()
        return new, (f"shuffle: {old!r} -> {new!r}",)


# --------------------------------------------------------------------------- stopwords


@dataclass(frozen=True)
class StopwordDrop:
    """Drop chosen stopwords.

    Eligible words are those whose lowercase core is a bundled stopword
    (:func:`robustrank.text.stopwords`); ``edit_count(rate, n_eligible)`` of them are
    chosen uniformly without replacement and removed. An all-stopword query at
    ``rate=1`` becomes the empty string.

    Attributes:
        rate: Share of stopwords to drop, in [0, 1].
        name: Generator name.
    """

    rate: float
    name: str = field(default="stopword_drop", kw_only=True)

    def __post_init__(self) -> None:
        _check_rate(self.rate)

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Drop stopwords.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and one log entry per dropped word, ``"drop: '<word>'"``.
        """
        tokens = text.split()
        sw = stopwords()
        eligible = [i for i, tok in enumerate(tokens) if _key(tok) in sw]
        chosen = _choose(rng, len(eligible), edit_count(self.rate, len(eligible)))
        drop = {eligible[j] for j in chosen}
        edits = tuple(f"drop: {tokens[i]!r}" for i in sorted(drop))
        return " ".join(t for i, t in enumerate(tokens) if i not in drop), edits


@dataclass(frozen=True)
class StopwordInsert:
    """Insert random stopwords at random positions.

    Inserts ``edit_count(rate, n_words)`` (= ``ceil(rate * n_words)``) stopwords,
    one at a time; each is drawn uniformly from the sorted bundled stopword list and
    placed at a uniformly drawn position of the current word sequence (start and end
    included). An empty query gets no insertion.

    Attributes:
        rate: Number of insertions relative to the query's word count, in [0, 1].
        name: Generator name.
    """

    rate: float
    name: str = field(default="stopword_insert", kw_only=True)

    def __post_init__(self) -> None:
        _check_rate(self.rate)

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Insert stopwords.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and one log entry per insertion,
            ``"insert: '<word>' at <position>"`` (position in the sequence at the
            time of that insertion).
        """
        tokens = text.split()
        vocab = sorted(stopwords())
        edits: list[str] = []
        for _ in range(edit_count(self.rate, len(tokens))):
            word = vocab[int(rng.integers(len(vocab)))]
            pos = int(rng.integers(len(tokens) + 1))
            tokens.insert(pos, word)
            edits.append(f"insert: {word!r} at {pos}")
        return " ".join(tokens), tuple(edits)


# --------------------------------------------------------------------------- combination
