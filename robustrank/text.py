"""Text utilities shared by rankers, tasks and attacks: tokenisation and stopwords.

Nothing here touches the network or NLTK data folders: the stopword list ships with
robustrank (``robustrank/resources/stopwords.txt``) and the Porter stemmer is pure code.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

__all__ = ["STOPWORDS_RESOURCE", "bm25_tokenize", "document_words", "stopwords", "word_spans", "words"]

STOPWORDS_RESOURCE = "stopwords.txt"

_WORD_RE = re.compile(r"[a-z0-9]+")
_CASED_WORD_RE = re.compile(r"[A-Za-z0-9]+")
"""The one word pattern, case kept (``_WORD_RE`` is its form for lowercased text)."""


@functools.cache
def stopwords() -> frozenset[str]:
    """Return robustrank's bundled English stopword list.

    Returns:
        The stopwords, lowercase.
    """
    text = resources.files("robustrank.resources").joinpath(STOPWORDS_RESOURCE).read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each word of ``text``, in order."""
    return [m.span() for m in _CASED_WORD_RE.finditer(text)]


def document_words(text: str) -> list[str]:
    """The words of ``text`` as written (case kept), aligned with :func:`word_spans`."""
    return _CASED_WORD_RE.findall(text)


def words(text: str) -> list[str]:
    """Split text into lowercase alphanumeric words.

    Args:
        text: Any text.

    Returns:
        The words in order, lowercased; punctuation is dropped.
    """
    return _WORD_RE.findall(text.lower())


@functools.cache
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def bm25_tokenize(text: str, *, stem: bool = True, remove_stopwords: bool = True) -> list[str]:
    """Tokenise text the way robustrank's BM25 baseline indexes it.

    Lowercase alphanumeric words, bundled stopwords removed, Porter-stemmed (NLTK's
    implementation, which needs no downloaded data).

    Args:
        text: Query or document text.
        stem: Apply the Porter stemmer.
        remove_stopwords: Drop bundled stopwords.

    Returns:
        The list of terms.
    """
    toks = words(text)
    if remove_stopwords:
        sw = stopwords()
        toks = [t for t in toks if t not in sw]
    if stem:
        toks = [_stem(t) for t in toks]
    return toks
