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

from robustrank.variations.base import QueryVariant, Variation, edit_count
from robustrank.variations.registry import VARIATIONS, Combined, build_variation, generate_variants
from robustrank.variations.typos import QWERTY_NEIGHBOURS, TYPO_KINDS, CharTypo
from robustrank.variations.words import StopwordDrop, StopwordInsert, SynonymSubstitution, WordShuffle

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
    "edit_count",
    "generate_variants",
]
