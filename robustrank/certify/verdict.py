"""A verdict per (query, K): certified, broken, inconclusive — or a soundness alarm.

In the spirit of ISO/IEC 24029-2 (formal methods for neural networks: a proof, a counterexample,
or no conclusion), the certify task joins its certificates with the adversarial documents that
task t4 found:

* **certified** — the certificate holds: no substitution attack inside the threat model on one
  candidate outside the smoothed top K can move it into the top K (probability >= 1 - alpha);
* **broken** — t4 produced an adversarial document *inside the certified threat model* that
  moves a candidate from outside the smoothed top K into it: every changed word is replaced by
  a neighbour in the undirected lexicon synonym graph of the certificate (no insertions,
  deletions or other words; the text between words unchanged), within t4's word budget, and
  the smoothed ranker's lower confidence bound on the adversarial copy exceeds the K-th highest
  upper bound among the other candidates (so, with probability >= 1 - alpha, it is in the top K
  of the *smoothed* ranker that the certificate is about; t4 attacks the unsmoothed ranker);
* **inconclusive** — neither;
* **soundness_alarm** — both certified and broken: impossible on the coverage events, so either
  a (probability <= 2 alpha) Monte Carlo failure or a bug; reported loudly.

Keyword stuffing, triggers and other insertions are outside the threat model and never count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustrank.certify.synonyms import WORD_PATTERN

__all__ = ["ThreatCheck", "VERDICTS", "check_threat_model", "combine_verdicts", "t4_counterexamples", "verdict_metrics", "enters_top_k"]

log = logging.getLogger(__name__)

VERDICTS = ("certified", "broken", "inconclusive", "soundness_alarm")


@dataclass(frozen=True)
class ThreatCheck:
    """Whether an adversarial text lies inside the certified threat model.

    Attributes:
        inside: True when every change is an in-graph synonym substitution within the budget.
        reason: Why not (None when inside).
        substitutions: (original, replacement) word pairs, lowercase.
    """

    inside: bool
    reason: str | None
    substitutions: tuple[tuple[str, str], ...] = ()


def _split(text: str) -> tuple[list[str], list[str]]:
    words, gaps, last = [], [], 0
    for m in WORD_PATTERN.finditer(text):
        gaps.append(text[last : m.start()])
        words.append(m.group(0))
        last = m.end()
    gaps.append(text[last:])
    return words, gaps


def check_threat_model(original: str, adversarial: str, sets: Any, word_limit: int | None = None) -> ThreatCheck:
    """Check that ``adversarial`` is ``original`` with synonym substitutions of the certificate.

    Words are compared case-insensitively (the smoothing gives a substitute the case pattern of
    the word it replaces; the audited rankers are uncased).

    Args:
        original: The attacked document.
        adversarial: t4's adversarial document.
        sets: The certificate's :class:`~robustrank.certify.synonyms.SynonymSets`.
        word_limit: t4's word budget for this document (None: unlimited).
    """
    a_words, a_gaps = _split(original)
    b_words, b_gaps = _split(adversarial)
    if len(a_words) != len(b_words):
        return ThreatCheck(False, "insertion_or_deletion")
    if a_gaps != b_gaps:
        return ThreatCheck(False, "non_word_text_changed")
    subs = []
    for x, y in zip(a_words, b_words):
        lx, ly = x.lower(), y.lower()
        if lx == ly:
            continue
        if ly not in sets.neighbours(lx):
            return ThreatCheck(False, "not_a_lexicon_synonym", ((lx, ly),))
        subs.append((lx, ly))
    if not subs:
        return ThreatCheck(False, "unchanged")
    if word_limit is not None and len(subs) > word_limit:
        return ThreatCheck(False, "over_word_budget", tuple(subs))
    return ThreatCheck(True, None, tuple(subs))


def t4_counterexamples(t4: Mapping[str, Any] | None) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(attack key, attack name, per-target record) of every t4 attack on the undefended neural ranker."""
    for key, attack in ((t4 or {}).get("attacks") or {}).items():
        system = (attack.get("systems") or {}).get("neural") or {}
        if system.get("status", "ok") != "ok":
            continue
        for rec in system.get("targets") or []:
            yield key, str(attack.get("attack", key)), rec


def enters_top_k(adv_low: float, other_high: Sequence[float], k: int) -> bool:
    """Whether an adversarial copy is confidently in the top K among ``other_high`` documents.

    True when its lower bound exceeds the K-th highest upper bound of the other candidates: on
    the coverage event, at most K - 1 of them can score above it.
    """
    hi = np.sort(np.asarray(other_high, dtype=np.float64))[::-1]
    if k > len(hi):
        return True
    return bool(adv_low > hi[k - 1])


def combine_verdicts(certified: Mapping[str, bool], broken: Mapping[str, bool]) -> dict[str, str]:
    """Verdict per K from the certificate and the counterexamples."""
    out = {}
    for k, ok in certified.items():
        b = bool(broken.get(k, False))
        out[k] = "soundness_alarm" if ok and b else "certified" if ok else "broken" if b else "inconclusive"
    return out


def verdict_metrics(verdicts: Sequence[Mapping[str, str]], k_values: Sequence[int]) -> dict[str, float]:
    """Counts ``verdict.<v>@K`` over queries (flat metrics for the gate)."""
    out: dict[str, float] = {}
    for k in k_values:
        key = str(k)
        for v in VERDICTS:
            out[f"verdict.{v}@{k}"] = float(sum(1 for q in verdicts if q.get(key) == v))
    return out


def smoothed_bounds_for_text(
    draw: Callable[[int], np.ndarray],
    exact: np.ndarray | None,
    delta: float,
    thresholds: Mapping[str, float],
    n_min: int,
    n_max: int,
    ratio: float,
) -> dict[str, Any]:
    """Betting bounds on the smoothed score of one text, sampled until every threshold is decided.

    Args:
        draw: ``draw(n)`` returns n further mapped scores of i.i.d. copies.
        exact: All copies' scores when the support was enumerated (then no sampling).
        delta: Two-sided level.
        thresholds: Per K, the value the lower bound must exceed.
        n_min: First look.
        n_max: Cap.
        ratio: Growth per look.
    """
    from robustrank.certify.betting import betting_interval

    if exact is not None:
        g = float(np.mean(exact))
        return {"low": g, "high": g, "samples": int(len(exact)), "exact": True}
    scores = np.zeros(0)
    low, high = 0.0, 1.0
    n = n_min
    while True:
        scores = np.concatenate([scores, np.asarray(draw(n - len(scores)), dtype=np.float64)])
        lo, hi = betting_interval([scores], delta)
        low, high = max(low, float(lo[0])), min(high, float(hi[0]))
        settled = all(low > t or high <= t for t in thresholds.values())
        if settled or len(scores) >= n_max:
            break
        n = min(n_max, max(n + n_min, int(np.ceil(n * ratio))))
    return {"low": low, "high": high, "samples": int(len(scores)), "exact": False}
