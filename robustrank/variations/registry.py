"""Combining and building variations by name, and generating one seeded variant per query."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from robustrank.seeds import variant_rng
from robustrank.variations.base import QueryVariant, Variation
from robustrank.variations.typos import CharTypo
from robustrank.variations.words import StopwordDrop, StopwordInsert, SynonymSubstitution, WordShuffle

__all__ = ["VARIATIONS", "Combined", "build_variation", "generate_variants"]


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

    Each query gets its own generator, ``robustrank.seeds.variant_rng(seed,
    variation.name, query_id)``, so a query's variant depends only on the seed, the
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
        rng = variant_rng(seed, variation.name, str(qid))
        text, edits = variation.apply(original, rng)
        out[qid] = QueryVariant(
            query_id=qid,
            original=original,
            text=text,
            variation=variation.name,
            edits=tuple(edits),
        )
    return out
