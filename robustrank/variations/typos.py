"""Character typos: swaps, drops, inserts and QWERTY-neighbour substitutions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from robustrank.variations.base import _check_rate, _choose, edit_count

__all__ = ["QWERTY_NEIGHBOURS", "TYPO_KINDS", "CharTypo"]

#: Character edit kinds understood by :class:`CharTypo`.
TYPO_KINDS: tuple[str, ...] = ("swap", "drop", "insert", "keyboard")

#: Symmetric QWERTY adjacency for lowercase a–z: same-row left/right keys plus the
#: touching keys of the (staggered) rows above and below.
QWERTY_NEIGHBOURS: Mapping[str, str] = MappingProxyType(
    {
        "a": "qwsz",
        "b": "ghvn",
        "c": "dfxv",
        "d": "ersfxc",
        "e": "wrsd",
        "f": "rtdgcv",
        "g": "tyfhvb",
        "h": "yugjbn",
        "i": "uojk",
        "j": "uihknm",
        "k": "iojlm",
        "l": "opk",
        "m": "jkn",
        "n": "hjbm",
        "o": "ipkl",
        "p": "ol",
        "q": "wa",
        "r": "etdf",
        "s": "weadzx",
        "t": "ryfg",
        "u": "yihj",
        "v": "fgcb",
        "w": "qeas",
        "x": "sdzc",
        "y": "tugh",
        "z": "asx",
    }
)

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_PREFERRED_TYPO_LETTERS = 3


def _typo_options(token: str, kind: str) -> list[Any]:
    """Positions at which a ``kind`` edit would change ``token`` (letters only)."""
    alpha = [i for i, ch in enumerate(token) if ch.isalpha()]
    if not alpha:
        return []
    if kind == "swap":
        return [
            i
            for i in alpha
            if i + 1 < len(token) and token[i + 1].isalpha() and token[i] != token[i + 1]
        ]
    if kind == "drop":
        return alpha if len(alpha) >= 2 else []
    if kind == "insert":
        return list(range(alpha[0], alpha[-1] + 2))
    if kind == "keyboard":
        return [i for i in alpha if token[i].lower() in QWERTY_NEIGHBOURS]
    raise ValueError(f"unknown typo kind {kind!r}")




@dataclass(frozen=True)
class CharTypo:
    """Character-level typos: one character edit in each chosen word.

    Eligible words are whitespace tokens on which at least one of ``kinds`` can
    change a letter; among them, words with at least 3 letters are preferred: if any
    exist, only they are eligible, otherwise all eligible words are used.
    ``edit_count(rate, n_eligible)`` words are chosen uniformly without replacement.
    For each, a kind is drawn uniformly among the ``kinds`` applicable to it, then a
    position uniformly among that kind's positions:

    * ``swap``: swap two adjacent, different letters;
    * ``drop``: delete a letter (only in words with >= 2 letters);
    * ``insert``: insert a random lowercase letter a–z within the letter span;
    * ``keyboard``: replace an a–z letter by a random :data:`QWERTY_NEIGHBOURS`
      neighbour, keeping its case.

    Every edit changes its word, so exactly ``edit_count(rate, n_eligible)`` words
    change and the word count is preserved.

    Attributes:
        rate: Share of eligible words to edit, in [0, 1].
        kinds: Non-empty subset of :data:`TYPO_KINDS`.
        name: Generator name.
    """

    rate: float
    kinds: tuple[str, ...] = TYPO_KINDS
    name: str = field(default="typo", kw_only=True)

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        if not kinds or any(k not in TYPO_KINDS for k in kinds):
            raise ValueError(
                f"kinds must be a non-empty subset of {TYPO_KINDS}, got {self.kinds!r}"
            )
        object.__setattr__(self, "kinds", kinds)

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Apply character typos.

        Args:
            text: Query text.
            rng: Source of randomness.

        Returns:
            The new text and one log entry per edited word,
            ``"<kind>: '<old>' -> '<new>'"``.
        """
        tokens = text.split()
        options = [
            {kind: _typo_options(tok, kind) for kind in self.kinds} for tok in tokens
        ]
        eligible = [i for i, opts in enumerate(options) if any(opts.values())]
        preferred = [
            i for i in eligible if sum(ch.isalpha() for ch in tokens[i]) >= _PREFERRED_TYPO_LETTERS
        ]
        pool = preferred or eligible
        edits: list[str] = []
        for j in _choose(rng, len(pool), edit_count(self.rate, len(pool))):
            i = pool[j]
            old = tokens[i]
            kinds = [k for k in self.kinds if options[i][k]]
            kind = kinds[int(rng.integers(len(kinds)))]
            positions = options[i][kind]
            p = positions[int(rng.integers(len(positions)))]
            if kind == "swap":
                new = old[:p] + old[p + 1] + old[p] + old[p + 2 :]
            elif kind == "drop":
                new = old[:p] + old[p + 1 :]
            elif kind == "insert":
                new = old[:p] + _LETTERS[int(rng.integers(len(_LETTERS)))] + old[p:]
            else:  # keyboard
                neighbours = QWERTY_NEIGHBOURS[old[p].lower()]
                ch = neighbours[int(rng.integers(len(neighbours)))]
                new = old[:p] + (ch.upper() if old[p].isupper() else ch) + old[p + 1 :]
            tokens[i] = new
            edits.append(f"{kind}: {old!r} -> {new!r}")
        return " ".join(tokens), tuple(edits)


# --------------------------------------------------------------------------- synonyms
