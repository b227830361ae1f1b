"""Document screens in T4: calibration on clean documents, detection rates on every attack.

A screen (:class:`~robustrank.adversarial.defenses.DocumentScreen`) is fitted on a seeded sample
of clean collection documents. A screen that also screens per query (its ``fit`` takes
``pairs``) gets clean (query, document) pairs: the candidate lists of the evaluated queries
*not* sampled for attack, so no target document calibrates the screen that judges it (when
every query is attacked - ``profile: paper`` - the attacked queries' candidates are used minus
their target documents, recorded as ``pairs_source``).

Per attack and system T4 then reports the detection rate (adversarial documents flagged) and the
false-positive rate on the same targets' original texts, each a share of targets with its exact
(Clopper-Pearson) interval and counts.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from robustrank.adversarial.uncertainty import proportion_ci

__all__ = ["calibration_pairs", "fit_screen", "flag_share", "screening_summary"]


def calibration_pairs(runs: Mapping[str, Any], sampled: Sequence[str], docs: Mapping[str, str], targets: Mapping[str, set[str]] | None = None
                      ) -> tuple[list[tuple[str, str]], str]:
    """Clean (query, document text) pairs from candidate lists, and where they came from."""
    queries, cands = runs["queries"], runs["candidates"]
    others = [q for q in queries if q not in set(sampled)]
    if len(others) >= 5:
        return [(queries[q], docs[d]) for q in others for d, _ in cands.get(q, []) if d in docs], "candidates of queries not attacked"
    targets = targets or {}
    pairs = [(queries[q], docs[d]) for q in sampled for d, _ in cands.get(q, []) if d in docs and d not in targets.get(q, set())]
    return pairs, "candidates of the attacked queries, target documents excluded"


def fit_screen(screen: Any, texts: list[str], seed: int, runs: Mapping[str, Any], sampled: Sequence[str], docs: Mapping[str, str]) -> str | None:
    """Fit a screen on clean texts, with clean (query, document) pairs when it takes them.

    Returns:
        Where the calibration pairs came from (None when the screen takes none).
    """
    params = inspect.signature(screen.fit).parameters
    if "pairs" in params:
        pairs, source = calibration_pairs(runs, sampled, docs)
        screen.fit(texts, seed=seed, pairs=pairs)
        return source
    screen.fit(texts, seed=seed)
    return None


def flag_share(flags: Sequence[bool]) -> dict[str, Any]:
    """``{count, n, rate, ci_low, ci_high}`` of flagged items, with the exact 95% interval."""
    k, n = int(sum(flags)), len(flags)
    lo, hi = proportion_ci(k, n)
    return {"count": k, "n": n, "rate": k / n if n else None, "ci_low": lo, "ci_high": hi}


def screening_summary(attacks: Mapping[str, Mapping[str, Any]], screens: Mapping[str, Any]) -> dict[str, Any]:
    """Per screen, attack and system: detection rate and false-positive rate with intervals."""
    out: dict[str, Any] = {}
    for name in screens:
        per: dict[str, Any] = {}
        for key, entry in attacks.items():
            for sname, res in entry["systems"].items():
                if res.get("status") != "ok":
                    continue
                recs = [r for r in res["targets"] if r.get("flags") is not None and name in r["flags"]]
                changed = [r for r in recs if r.get("words_changed", 0) > 0]
                per.setdefault(key, {})[sname] = {
                    "detection": flag_share([r["flags"][name] for r in changed]),
                    "false_positive": flag_share([r["flags_original"][name] for r in recs if name in (r.get("flags_original") or {})]),
                    "unchanged_targets": len(recs) - len(changed),
                }
        out[name] = {"attacks": per,
                     "note": "detection: adversarial documents that differ from the original; false positives: the same targets' original texts"}
    return out
