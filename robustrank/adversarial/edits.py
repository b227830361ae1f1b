"""Word-level document editing for attacks: word spans, applying edits, counting changed words.

A document's *words* are the maximal runs of ASCII letters and digits (the spans of
:func:`robustrank.text.words`, before lowercasing); everything between them (spaces,
punctuation) is kept verbatim when edits are applied, so an adversarial text differs from the
original only where an edit says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from robustrank.adversarial.types import Edit
from robustrank.text import document_words, stopwords, word_spans, words

__all__ = ["apply_edits", "changed_words", "diff_edits", "document_words", "match_case", "query_terms", "stuffing_edits", "word_spans"]

def match_case(word: str, like: str) -> str:
    """Give ``word`` the capitalisation pattern of ``like`` (UPPER, Title or as is)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply word edits whose positions refer to the words of the original ``text``.

    ``substitute`` replaces word ``position`` (keeping its capitalisation pattern), ``delete``
    removes it, ``insert`` puts ``replacement`` (one or more words) before word ``position``
    (``position == number of words`` appends at the end). Several inserts at one position keep
    their order.

    Raises:
        ValueError: A position is out of range, two substitutions/deletions hit one word, or an
            edit's ``original`` does not match the word at its position (case-insensitively).
    """
    spans = word_spans(text)
    n = len(spans)
    replace: dict[int, Edit] = {}
    inserts: dict[int, list[str]] = {}
    for e in edits:
        if e.kind == "insert":
            if not 0 <= e.position <= n:
                raise ValueError(f"insert position {e.position} outside 0..{n}")
            inserts.setdefault(e.position, []).append(e.replacement)
            continue
        if not 0 <= e.position < n:
            raise ValueError(f"{e.kind} position {e.position} outside 0..{n - 1}")
        s, t = spans[e.position]
        if text[s:t].lower() != e.original.lower():
            raise ValueError(f"edit expects {e.original!r} at word {e.position}, found {text[s:t]!r}")
        if e.position in replace:
            raise ValueError(f"word {e.position} is edited twice")
        replace[e.position] = e
    out: list[str] = []
    prev = 0
    for i, (s, t) in enumerate(spans):
        out.append(text[prev:s])
        for inserted in inserts.get(i, ()):
            out.append(inserted + " ")
        e = replace.get(i)
        if e is None:
            out.append(text[s:t])
        elif e.kind == "substitute":
            out.append(match_case(e.replacement, text[s:t]))
        prev = t
    out.append(text[prev:])
    tail = inserts.get(n, ())
    if tail:
        out.append((" " if text and not text[-1].isspace() else "") + " ".join(tail))
    return "".join(out)


def changed_words(original: str, adversarial: str) -> int:
    """Words changed between two texts: the word-level Levenshtein distance (case-insensitive).

    The fewest word substitutions, insertions and deletions turning one text into the other
    (``nltk.metrics.edit_distance`` on the word sequences, after trimming their common prefix
    and suffix). This is how the audit checks word budgets, whatever edits an attack claims.
    """
    from nltk.metrics.distance import edit_distance

    a = [w.lower() for w in document_words(original)]
    b = [w.lower() for w in document_words(adversarial)]
    lo = 0
    while lo < len(a) and lo < len(b) and a[lo] == b[lo]:
        lo += 1
    hi = 0
    while hi < len(a) - lo and hi < len(b) - lo and a[-1 - hi] == b[-1 - hi]:
        hi += 1
    a, b = a[lo : len(a) - hi], b[lo : len(b) - hi]
    if not a or not b:
        return max(len(a), len(b))
    return int(edit_distance(a, b))


def query_terms(query: str) -> list[str]:
    """The query's distinct non-stopword words in order (all its words if every one is a stopword)."""
    toks = words(query)
    sw = stopwords()
    content = [t for t in dict.fromkeys(toks) if t not in sw]
    return content or list(dict.fromkeys(toks))


def stuffing_edits(text: str, terms: Sequence[str], n: int, mode: str, rng) -> list[Edit]:
    """Edits putting ``n`` terms (cycled) into ``text``: keyword stuffing or term spamming.

    Args:
        text: The document.
        terms: Terms to stuff (e.g. :func:`query_terms` of the query).
        n: Words added (or, for ``replace``, overwritten).
        mode: ``prepend`` / ``append`` (insert before / after the text), ``interleave`` (inserts
            spread evenly over the text) or ``replace`` (PRADA's term-spamming baseline: the
            words of a contiguous run from a random start are replaced; length unchanged).
        rng: numpy Generator (only ``replace`` draws).
    """
    import numpy as np

    toks = document_words(text)
    new = [terms[i % len(terms)] for i in range(n)] if terms else []
    if not new:
        return []
    if mode == "prepend":
        return [Edit("insert", 0, "", w) for w in new]
    if mode == "append":
        return [Edit("insert", len(toks), "", w) for w in new]
    if mode == "interleave":
        slots = np.linspace(0, len(toks), num=len(new)).round().astype(int)
        return [Edit("insert", int(p), "", w) for p, w in zip(slots, new)]
    if mode != "replace":
        raise ValueError(f"unknown stuffing mode {mode!r}")
    k = min(n, len(toks))
    start = int(rng.integers(0, len(toks) - k + 1)) if len(toks) > k else 0
    return [Edit("substitute", start + i, toks[start + i], w) for i, w in enumerate(new[:k]) if toks[start + i].lower() != w]


def diff_edits(original: str, adversarial: str) -> list[Edit]:
    """Word edits turning ``original`` into ``adversarial`` (from a word-level diff).

    Replaced runs of equal length become ``substitute`` edits word by word; other replaced runs
    become deletions plus one ``insert`` of the new words. Positions refer to the original's
    words. Used to describe the output of attacks that return only a text (e.g. TextAttack).
    """
    import difflib

    a, b = document_words(original), document_words(adversarial)
    sm = difflib.SequenceMatcher(a=[w.lower() for w in a], b=[w.lower() for w in b], autojunk=False)
    out: list[Edit] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            out += [Edit("substitute", i1 + k, a[i1 + k], b[j1 + k]) for k in range(i2 - i1)]
            continue
        out += [Edit("delete", i, a[i], "") for i in range(i1, i2)]
        if j2 > j1:
            out.append(Edit("insert", i1, "", " ".join(b[j1:j2])))
    return out
