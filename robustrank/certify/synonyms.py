"""Synonym (perturbation) sets S(w) and per-word total-variation terms, CertDR/SAFER style.

The substitution space of the certificate is the synonym lexicon: an attacker may replace any
word ``w`` of a document by any word ``w'`` adjacent to it in the *undirected* synonym graph
(lexicon pairs with similarity >= ``min_similarity``, either direction; a superset of what
:meth:`robustrank.lexicon.Lexicon.synonyms` returns, so the certificate also covers the directed
substitutions the attacks use).

Perturbation sets (the smoothing distribution resamples ``w`` uniformly from ``S(w)``) follow
the reference construction of CertDR (``data_process.py::get_perturbation_set``, itself SAFER's,
Ye et al., ACL 2020):

* connected components of the synonym graph;
* a component with at most ``max_set_size`` words (reference: 100) is the perturbation set of
  every word in it, so a substitution inside it leaves the smoothing distribution unchanged
  (total-variation term 0, overlap 1);
* in a larger component each word gets its ``max_set_size`` nearest words of the component.
  **Deviation:** the reference ranks them by cosine of PCA-post-processed counter-fitted vectors,
  which we do not have; we rank by shortest-path length in the synonym graph with edge cost
  ``1 - similarity`` (Dijkstra; ties by word), so ``w`` itself comes first. The sets stay
  symmetric-enough for the bound because the bound below is exact for any sets.

Per-word term (reference ``tv_table.py``): for a position holding ``w``, the largest total
variation between the smoothing distributions before and after one substitution ``w -> w'`` is

    TV(U(S(w)), U(S(w'))) = 1 - |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|),

and we store its complement, the *overlap* ``min_{w'} |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|)``.
**Fix of a reference defect:** the reference divides by ``|S(w)|`` only, which overstates the
overlap (understates TV) when ``|S(w')| > |S(w)|``; the max is the exact TV of two uniform laws.
Words without synonyms have ``S(w) = {w}`` and overlap 1 (the attacker cannot change them).
"""

from __future__ import annotations

import heapq
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["SynonymSets", "WORD_PATTERN"]

log = logging.getLogger(__name__)

WORD_PATTERN = re.compile(r"[A-Za-z]+")
"""Word tokens that may be substituted (the lexicon holds lowercase alphabetic words)."""

DEFAULT_MAX_SET_SIZE = 100
"""Cap on |S(w)|: CertDR ``--perturbation_constraint`` default (data_process.py)."""


@dataclass(frozen=True)
class _Graph:
    adjacency: dict[str, dict[str, float]]
    component: dict[str, int]
    sizes: tuple[int, ...]
    members: tuple[tuple[str, ...], ...]


def _build_graph(lexicon: Any, min_similarity: float) -> _Graph:
    adjacency: dict[str, dict[str, float]] = {}
    for w in lexicon:
        for syn in lexicon.synonyms(w, min_similarity=min_similarity):
            s = syn.word.lower()
            if s == w:
                continue
            sim = float(syn.similarity)
            for a, b in ((w, s), (s, w)):
                nbrs = adjacency.setdefault(a, {})
                nbrs[b] = max(sim, nbrs.get(b, -1.0))
    component: dict[str, int] = {}
    members: list[tuple[str, ...]] = []
    for start in sorted(adjacency):
        if start in component:
            continue
        cid = len(members)
        stack, found = [start], [start]
        component[start] = cid
        while stack:
            x = stack.pop()
            for y in adjacency[x]:
                if y not in component:
                    component[y] = cid
                    stack.append(y)
                    found.append(y)
        members.append(tuple(sorted(found)))
    return _Graph(adjacency, component, tuple(len(m) for m in members), tuple(members))


class SynonymSets:
    """Perturbation sets S(w) and overlap terms built from a synonym lexicon.

    Args:
        lexicon: A :class:`robustrank.lexicon.Lexicon` (or anything with ``__iter__`` over words
            and ``synonyms(word, min_similarity=)``).
        min_similarity: Lexicon pairs below this similarity are not substitutions.
        max_set_size: Cap on |S(w)| (reference: 100), or ``"auto"``: the size of the largest
            component, so that every connected component is the set of each of its words and
            every per-word TV term is 0 (o_d = 0 for every document).

    Example:
        >>> sets = SynonymSets(Lexicon.load(), min_similarity=0.5)   # doctest: +SKIP
        >>> sets.perturbation_set("measured")[:3]                    # doctest: +SKIP
    """

    def __init__(self, lexicon: Any, *, min_similarity: float = 0.5, max_set_size: int | str = DEFAULT_MAX_SET_SIZE):
        if max_set_size != "auto" and (not isinstance(max_set_size, int) or max_set_size < 1):
            raise ValueError(f"max_set_size must be an integer >= 1 or 'auto', got {max_set_size!r}")
        self.min_similarity = float(min_similarity)
        self._graph = _build_graph(lexicon, self.min_similarity)
        self.max_set_size_option = max_set_size
        # auto: the largest component, so every component is one set and every TV term is 0
        self.max_set_size = max(self._graph.sizes, default=1) if max_set_size == "auto" else int(max_set_size)
        self._sets: dict[str, tuple[str, ...]] = {}
        self._overlap: dict[str, float] = {}
        self._lexicon_info = getattr(lexicon, "info", None)

    # -- sets -----------------------------------------------------------------------------------
    def neighbours(self, word: str) -> tuple[str, ...]:
        """Words an attacker may put in place of ``word`` (undirected synonym graph)."""
        return tuple(sorted(self._graph.adjacency.get(word.lower(), {})))

    def perturbation_set(self, word: str) -> tuple[str, ...]:
        """S(w): the words the smoothing distribution draws from for ``word`` (includes it).

        Lowercase; ``(word,)`` for a word without synonyms.
        """
        w = word.lower()
        found = self._sets.get(w)
        if found is not None:
            return found
        g = self._graph
        cid = g.component.get(w)
        if cid is None:
            found = (w,)
        elif g.sizes[cid] <= self.max_set_size:
            found = g.members[cid]
        else:
            found = self._nearest(w)
        self._sets[w] = found
        return found

    def _nearest(self, w: str) -> tuple[str, ...]:
        """The max_set_size closest words by path length with edge cost 1 - similarity."""
        adjacency = self._graph.adjacency
        dist = {w: 0.0}
        heap = [(0.0, w)]
        done: list[str] = []
        settled: set[str] = set()
        while heap and len(done) < self.max_set_size:
            d, x = heapq.heappop(heap)
            if x in settled:
                continue
            settled.add(x)
            done.append(x)
            for y, sim in adjacency[x].items():
                nd = d + (1.0 - sim)
                if y not in settled and nd < dist.get(y, float("inf")):
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        return tuple(done)

    def overlap(self, word: str) -> float:
        """min over substitutions w' of |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|); 1 = unattackable.

        ``1 - overlap(w)`` bounds the total variation one substitution at a position holding
        ``w`` causes in the smoothing distribution.
        """
        w = word.lower()
        found = self._overlap.get(w)
        if found is not None:
            return found
        s_w = set(self.perturbation_set(w))
        value = 1.0
        for v in self.neighbours(w):
            s_v = self.perturbation_set(v)
            value = min(value, len(s_w.intersection(s_v)) / max(len(s_w), len(s_v)))
        self._overlap[w] = value
        return value

    def document_bound(self, words: Iterable[str]) -> float:
        """o_d = 1 - prod over word positions of overlap(w): bound on TV(smoothing at d, at d').

        Valid for any number of substituted positions (coupling of product measures:
        TV(⊗P_i, ⊗Q_i) <= 1 - ∏(1 - TV(P_i, Q_i))), as in the reference (no truncation).
        """
        import math

        log_prod = 0.0
        for w in words:
            ov = self.overlap(w)
            if ov <= 0.0:
                return 1.0
            log_prod += math.log(ov)
        return max(0.0, float(-math.expm1(log_prod)))

    # -- provenance -----------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """How the sets were built (for results.json)."""
        sizes = sorted(self._graph.sizes, reverse=True)
        return {
            "construction": "connected components of the undirected lexicon synonym graph; components of at most "
            "max_set_size words are the set of each member; larger components: the max_set_size nearest words by "
            "graph path length (edge cost 1 - similarity)",
            "substitution_space": "undirected lexicon synonym graph (pairs with similarity >= min_similarity)",
            "min_similarity": self.min_similarity,
            "max_set_size": self.max_set_size,
            "max_set_size_option": self.max_set_size_option,
            "words": len(self._graph.component),
            "components": len(sizes),
            "largest_components": sizes[:5],
            "words_in_capped_components": sum(s for s in sizes if s > self.max_set_size),
            "tv_term": "1 - |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|)",
            "lexicon": {k: self._lexicon_info.get(k) for k in ("name", "version", "sha256")} if isinstance(self._lexicon_info, dict) else None,
        }
