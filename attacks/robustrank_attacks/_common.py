"""Helpers shared by the built-in attacks (public plugin API only)."""

from __future__ import annotations

import re

from robustrank.api import Budget, document_words, stopwords

__all__ = ["positions_of", "substitutable_words", "word_limit"]

_PLAIN = re.compile(r"^[a-z0-9]+$")


def word_limit(budget: Budget, n_words: int, cap: int | None = None) -> int:
    """Words an attack may change: the budget's limit, capped by the attack's own ``cap``."""
    limits = [x for x in (budget.word_limit(n_words), cap) if x is not None]
    return max(0, min(limits)) if limits else n_words


def substitutable_words(text: str, lexicon, *, k: int, min_similarity: float, skip_stopwords: bool = True) -> dict[str, list[str]]:
    """Lowercase words of ``text`` that have lexicon synonyms -> their synonyms (best first).

    Only single plain words are kept as synonyms, so a substitution changes exactly one word.
    """
    sw = stopwords() if skip_stopwords else frozenset()
    out: dict[str, list[str]] = {}
    for w in dict.fromkeys(x.lower() for x in document_words(text)):
        if w in sw or w.isdigit():
            continue
        syns = [s.word.lower() for s in lexicon.synonyms(w, k=k, min_similarity=min_similarity)]
        syns = [s for s in dict.fromkeys(syns) if _PLAIN.match(s) and s != w]
        if syns:
            out[w] = syns
    return out


def positions_of(text: str) -> dict[str, list[int]]:
    """Lowercase word -> its word indices in ``text``."""
    pos: dict[str, list[int]] = {}
    for i, w in enumerate(document_words(text)):
        pos.setdefault(w.lower(), []).append(i)
    return pos
