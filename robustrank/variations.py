"""Seeded, deterministic query variation generators (task T2 building blocks).

Each generator perturbs a query text and returns the new text together with a
human-readable edit log. All randomness comes from a ``numpy.random.Generator``
passed in by the caller; :func:`generate_variants` derives one such generator per
query from ``(seed, variation name, query id)`` with a stable hash, so results do not
depend on the order of the queries or on ``PYTHONHASHSEED``.

Conventions shared by every generator:

* **Tokenisation.** The query is split on whitespace; the output is the resulting
  words joined by single spaces (so whitespace is normalised even when nothing
  changes). Untouched words keep their case and punctuation. Stopword and synonym
  look-ups use the word's *core* (from its first to its last alphanumeric character)
  in lowercase, and a replaced core keeps the word's leading/trailing punctuation.
* **Rounding rule.** With ``n`` eligible positions, a generator makes
  ``edit_count(rate, n) = ceil(rate * n)`` edits (the product is first rounded to
  9 decimals so that float noise such as ``0.3 * 10 = 3.0000000000000004`` does not
  add an edit). Hence there is at least one edit whenever ``rate > 0`` and ``n > 0``,
  none when ``rate == 0``, and every eligible position is edited when ``rate == 1``.
* **Empty results are kept.** A query that is empty, or becomes empty (e.g. an
  all-stopword query under ``StopwordDrop(rate=1)``), is returned as it is —
  possibly the empty string — never dropped.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robustrank.text import stopwords

__all__ = [
    "QWERTY_NEIGHBOURS",
    "TYPO_KINDS",
    "VARIATIONS",
    "CharTypo",
    "Combined",
    "QueryVariant",
    "StopwordDrop",
    "StopwordInsert",
    "SynonymSubstitution",
    "Variation",
    "WordShuffle",
    "build_variation",
    "derive_seed",
    "edit_count",
    "generate_variants",
]

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


# --------------------------------------------------------------------------- core types


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


# --------------------------------------------------------------------------- helpers


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


def derive_seed(seed: int, *parts: str) -> int:
    """Derive a stable 64-bit seed from an integer seed and string parts.

    Uses BLAKE2b over a JSON encoding of ``[seed, *parts]`` (unambiguous, and
    independent of ``PYTHONHASHSEED``).

    Args:
        seed: Base seed.
        *parts: Further components, e.g. the variation name and the query id.

    Returns:
        A non-negative integer below 2**64.
    """
    payload = json.dumps([int(seed), *map(str, parts)], ensure_ascii=False).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big")


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


@dataclass(frozen=True)
class Combined:
    """Apply several variations in order, sharing one random generator.

    Attributes:
        parts: The variations, applied left to right.
        name: Generator name.
    """

    parts: tuple[Variation, ...]
    name: str = "combined"

    def __post_init__(self) -> None:
        parts = tuple(self.parts)
        for part in parts:
            if not callable(getattr(part, "apply", None)):
                raise ValueError(f"parts must be variations with an apply method, got {part!r}")
        object.__setattr__(self, "parts", parts)

    def apply(self, text: str, rng: np.random.Generator) -> tuple[str, tuple[str, ...]]:
        """Apply every part in order.

        Args:
            text: Query text.
            rng: Source of randomness, shared by the parts.

        Returns:
            The final text and the concatenated edit logs of the parts.
        """
        text = " ".join(text.split())
        edits: list[str] = []
        for part in self.parts:
            text, part_edits = part.apply(text, rng)
            edits.extend(part_edits)
        return text, tuple(edits)


# --------------------------------------------------------------------------- registry


def _need_lexicon(name: str, lexicon: Any) -> Any:
    if lexicon is None:
        raise ValueError(f"variation {name!r} requires a lexicon")
    return lexicon


def _combined(rate: float, *, lexicon: Any = None) -> Combined:
    lexicon = _need_lexicon("combined", lexicon)
    return Combined((SynonymSubstitution(rate, lexicon), CharTypo(rate), WordShuffle(rate)))


VariationFactory = Callable[..., Variation]

#: Variation factories by name; each is called as ``factory(rate, lexicon=...)``.
VARIATIONS: Mapping[str, VariationFactory] = MappingProxyType(
    {
        "typo": lambda rate, *, lexicon=None: CharTypo(rate),
        "synonym": lambda rate, *, lexicon=None: SynonymSubstitution(
            rate, _need_lexicon("synonym", lexicon)
        ),
        "shuffle": lambda rate, *, lexicon=None: WordShuffle(rate),
        "stopword_drop": lambda rate, *, lexicon=None: StopwordDrop(rate),
        "stopword_insert": lambda rate, *, lexicon=None: StopwordInsert(rate),
        "combined": _combined,
    }
)


def build_variation(name: str, rate: float, *, lexicon: Any = None) -> Variation:
    """Build a registered variation.

    ``"combined"`` is synonym substitution, then character typos, then word shuffle,
    all at ``rate`` (synonyms come first so that typos do not hide words from the
    lexicon).

    Args:
        name: One of :data:`VARIATIONS`' names.
        rate: Rate in [0, 1].
        lexicon: Synonym lexicon; required by ``"synonym"`` and ``"combined"``.

    Returns:
        The variation.

    Raises:
        ValueError: Unknown name, invalid rate, or missing lexicon.
    """
    try:
        factory = VARIATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown variation {name!r}; known: {', '.join(sorted(VARIATIONS))}"
        ) from None
    return factory(rate, lexicon=lexicon)


def generate_variants(
    queries: Mapping[str, str], variation: Variation, seed: int
) -> dict[str, QueryVariant]:
    """Apply a variation to every query, deterministically.

    Each query gets its own ``numpy.random.default_rng(derive_seed(seed,
    variation.name, query_id))``, so a query's variant depends only on the seed, the
    variation's name and parameters, and the query itself — not on the other queries,
    their order, or ``PYTHONHASHSEED``. Every query is returned, including ones whose
    variant is empty or unchanged.

    Args:
        queries: Query id -> query text.
        variation: The generator.
        seed: Base seed.

    Returns:
        Query id -> variant, in the order of ``queries``.
    """
    out: dict[str, QueryVariant] = {}
    for qid, original in queries.items():
        rng = np.random.default_rng(derive_seed(seed, variation.name, str(qid)))
        text, edits = variation.apply(original, rng)
        out[qid] = QueryVariant(
            query_id=qid,
            original=original,
            text=text,
            variation=variation.name,
            edits=tuple(edits),
        )
    return out
