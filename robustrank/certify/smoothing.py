"""The smoothing distribution: every word with a perturbation set is resampled uniformly from it.

CertDR (Wu et al., CIKM 2022, Sec. 4) smooths a ranker f by averaging its score over random
word substitutions of the document: each word w that has a perturbation set S(w) (which
contains w) is replaced independently by a uniform draw from S(w); other words stay. The
smoothed score is g(q, d) = E[f(q, d~)] with f mapped to [0, 1]. This module prepares a text
once (slots, o_d, support size) and draws perturbed copies from a numpy Generator.

Token handling: alphabetic runs (``[A-Za-z]+``) are words; everything else (digits,
punctuation, whitespace) is kept verbatim. A drawn substitute takes the case pattern of the word
it replaces (ALL CAPS, Capitalised, or lower); the threat model assumes the attacker's
substitutes do the same (the rankers we audit are uncased).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robustrank.certify.synonyms import WORD_PATTERN, SynonymSets

__all__ = ["PreparedText", "Smoother"]


def _cased(word: str, like: str) -> str:
    if len(like) > 1 and like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@dataclass(frozen=True)
class PreparedText:
    """A text split for sampling.

    Attributes:
        text: The original text.
        pieces: Verbatim text around the slots (``len(slots) + 1`` pieces).
        slots: For each perturbable position, its cased choices S(w) (more than one word).
        bound: o_d = 1 - prod of per-word overlaps (TV bound of one attack on this text).
        log_support: log of the number of distinct perturbed copies (product of |S(w)|).
        slot_words: For each slot, the index of its word among all the text's words (its
            "word slot": what common random numbers are tied to, see :meth:`Smoother.sample_common`).
        n_words: Words (alphabetic runs) in the text.
    """

    text: str
    pieces: tuple[str, ...]
    slots: tuple[tuple[str, ...], ...]
    bound: float
    log_support: float
    slot_words: tuple[int, ...] = ()
    n_words: int = 0

    @property
    def support(self) -> float:
        """Number of equally likely perturbed copies (inf if astronomically many)."""
        return math.exp(self.log_support) if self.log_support < 700 else math.inf

    def render(self, choice: Sequence[int]) -> str:
        """The text with slot ``i`` set to its ``choice[i]``-th word."""
        parts = [self.pieces[0]]
        for opts, c, tail in zip(self.slots, choice, self.pieces[1:]):
            parts.append(opts[c])
            parts.append(tail)
        return "".join(parts)


class Smoother:
    """Draws perturbed copies of texts from the CertDR smoothing distribution.

    Args:
        sets: The perturbation sets.
    """

    def __init__(self, sets: SynonymSets):
        self.sets = sets

    def prepare(self, text: str) -> PreparedText:
        """Split ``text`` into verbatim pieces and perturbable slots; compute o_d."""
        pieces: list[str] = []
        slots: list[tuple[str, ...]] = []
        slot_words: list[int] = []
        words: list[str] = []
        last = 0  # end of the previous slot: text since then is verbatim
        for m in WORD_PATTERN.finditer(text):
            tok = m.group(0)
            words.append(tok.lower())
            options = self.sets.perturbation_set(tok)
            if len(options) <= 1:
                continue
            pieces.append(text[last : m.start()])
            slots.append(tuple(_cased(o, tok) for o in options))
            slot_words.append(len(words) - 1)
            last = m.end()
        pieces.append(text[last:])
        log_support = float(sum(math.log(len(s)) for s in slots))
        return PreparedText(
            text, tuple(pieces), tuple(slots), self.sets.document_bound(words), log_support, tuple(slot_words), len(words)
        )

    def sample(self, prepared: PreparedText, n: int, rng: np.random.Generator) -> list[str]:
        """Draw ``n`` perturbed copies (independent, uniform per slot)."""
        if not prepared.slots:
            return [prepared.text] * n
        sizes = np.array([len(s) for s in prepared.slots])
        draws = (rng.random((n, len(sizes))) * sizes).astype(np.int64)
        return [prepared.render(row) for row in draws.tolist()]

    def sample_common(self, prepared: PreparedText, uniforms: np.ndarray) -> list[str]:
        """Perturbed copies driven by common random numbers (one row of ``uniforms`` per copy).

        ``uniforms[c, i]`` in [0, 1) is the noise of copy ``c`` at word slot ``i`` (the i-th word
        of the text, perturbable or not); the slot's draw is ``floor(u * |S(w)|)``. Two texts
        scored with the same ``uniforms`` get the same draw at every word slot holding the same
        word, so a one-word substitution changes only its own slot's noise.

        Args:
            prepared: The prepared text.
            uniforms: Array [copies, >= prepared.n_words] of uniforms in [0, 1).

        Raises:
            ValueError: ``uniforms`` has fewer columns than the text has words.
        """
        n = int(uniforms.shape[0])
        if not prepared.slots:
            return [prepared.text] * n
        if uniforms.shape[1] < prepared.n_words:
            raise ValueError(f"uniforms cover {uniforms.shape[1]} word slots; the text has {prepared.n_words}")
        sizes = np.array([len(s) for s in prepared.slots])
        draws = (uniforms[:, list(prepared.slot_words)] * sizes).astype(np.int64)
        return [prepared.render(row) for row in draws.tolist()]

    def enumerate(self, prepared: PreparedText, limit: int) -> list[str] | None:
        """All equally likely perturbed copies when there are at most ``limit``, else None."""
        if prepared.log_support > math.log(max(limit, 1)) + 1e-9:
            return None
        ranges = [range(len(s)) for s in prepared.slots]
        return [prepared.render(c) for c in itertools.product(*ranges)]
