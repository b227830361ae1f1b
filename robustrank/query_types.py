"""Transparent rule-based query-type classification, for slicing results by query type.

Two slice families are defined:

* ``question_type`` (:func:`question_type`): by the query's first word and final
  question mark;
* ``length`` (:func:`length_bucket`): by the number of words.

The rules are deliberately simple so that a slice label can be checked by eye.
"""

from __future__ import annotations

from collections.abc import Mapping

from robustrank.text import words

__all__ = [
    "LENGTH_BUCKETS",
    "LONG_MIN_WORDS",
    "QUESTION_TYPES",
    "SHORT_MAX_WORDS",
    "SLICE_FAMILIES",
    "WH_WORDS",
    "YES_NO_STARTERS",
    "classify_queries",
    "length_bucket",
    "question_type",
    "slices",
    "word_count",
]

#: Queries with at most this many words are ``"short"``.
SHORT_MAX_WORDS = 3
#: Queries with at least this many words are ``"long"``; in between is ``"medium"``.
LONG_MIN_WORDS = 9

#: First word -> question type. ``whom``/``whose`` count as ``"who"``.
WH_WORDS: Mapping[str, str] = {
    "what": "what",
    "how": "how",
    "why": "why",
    "when": "when",
    "where": "where",
    "which": "which",
    "who": "who",
    "whom": "who",
    "whose": "who",
}

#: First words (auxiliaries and modals) that make a query a yes/no question.
YES_NO_STARTERS: frozenset[str] = frozenset(
    {
        "is", "are", "was", "were", "am",
        "do", "does", "did",
        "can", "could", "will", "would", "shall", "should", "may", "might", "must",
        "has", "have", "had",
    }
)

#: All labels :func:`question_type` can return.
QUESTION_TYPES: tuple[str, ...] = (
    "what", "how", "why", "when", "where", "which", "who",
    "yes_no", "other_question", "keyword",
)
#: All labels :func:`length_bucket` can return.
LENGTH_BUCKETS: tuple[str, ...] = ("short", "medium", "long")
#: Slice families produced by :func:`classify_queries`.
SLICE_FAMILIES: tuple[str, ...] = ("question_type", "length")


def question_type(text: str) -> str:
    """Classify a query by question type.

    Rules, applied in order to the first word of ``robustrank.text.words(text)``
    (lowercase alphanumeric words, so ``"What's"`` starts with ``"what"``):

    1. a wh-word in :data:`WH_WORDS` -> that type (``"what"``, ``"how"``, ``"why"``,
       ``"when"``, ``"where"``, ``"which"``, ``"who"``; ``whom``/``whose`` -> ``"who"``);
    2. an auxiliary or modal in :data:`YES_NO_STARTERS` (is, are, does, do, can, ...)
       -> ``"yes_no"``;
    3. otherwise, text ending with ``"?"`` (ignoring trailing whitespace)
       -> ``"other_question"``;
    4. otherwise -> ``"keyword"`` (including the empty query).

    Only the first word matters: ``"definition of what"`` is a keyword query.

    Args:
        text: Query text.

    Returns:
        One of :data:`QUESTION_TYPES`.
    """
    toks = words(text)
    if toks:
        first = toks[0]
        if first in WH_WORDS:
            return WH_WORDS[first]
        if first in YES_NO_STARTERS:
            return "yes_no"
    if text.rstrip().endswith("?"):
        return "other_question"
    return "keyword"


def word_count(text: str) -> int:
    """Count a query's words: whitespace tokens containing an alphanumeric character.

    Args:
        text: Query text.

    Returns:
        The number of words (a lone ``"?"`` or ``"-"`` is not a word).
    """
    return sum(1 for tok in text.split() if any(ch.isalnum() for ch in tok))


def length_bucket(text: str) -> str:
    """Bucket a query by its :func:`word_count`.

    ``"short"``: at most :data:`SHORT_MAX_WORDS` (3) words, including the empty
    query; ``"long"``: at least :data:`LONG_MIN_WORDS` (9) words; ``"medium"``:
    in between (4–8).

    Args:
        text: Query text.

    Returns:
        One of :data:`LENGTH_BUCKETS`.
    """
    n = word_count(text)
    if n <= SHORT_MAX_WORDS:
        return "short"
    if n >= LONG_MIN_WORDS:
        return "long"
    return "medium"


def classify_queries(queries: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Label every query in every slice family.

    Args:
        queries: Query id -> query text.

    Returns:
        ``{"question_type": {qid: label}, "length": {qid: label}}``, with query ids
        in the order of ``queries``.
    """
    return {
        "question_type": {qid: question_type(text) for qid, text in queries.items()},
        "length": {qid: length_bucket(text) for qid, text in queries.items()},
    }


def slices(queries: Mapping[str, str]) -> dict[str, list[str]]:
    """Group query ids into named slices.

    Args:
        queries: Query id -> query text.

    Returns:
        ``"<family>=<label>"`` -> sorted query ids, e.g.
        ``{"question_type=keyword": [...], "length=short": [...]}``. Only non-empty
        slices appear; families in :data:`SLICE_FAMILIES` order, labels in the order
        of :data:`QUESTION_TYPES` / :data:`LENGTH_BUCKETS`.
    """
    label_order = {"question_type": QUESTION_TYPES, "length": LENGTH_BUCKETS}
    out: dict[str, list[str]] = {}
    for family, labels in classify_queries(queries).items():
        for label in label_order[family]:
            ids = sorted(qid for qid, lab in labels.items() if lab == label)
            if ids:
                out[f"{family}={label}"] = ids
    return out
