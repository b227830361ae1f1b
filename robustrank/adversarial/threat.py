"""The threat model each attack actually ran under, as recorded in results.json.

Two access levels (Wu et al., TOIS 2023; Croce & Hein 2020 for the worst-case role):

* ``black-box`` - the attacker sees the victim only through the oracle: ranks, and scores when
  ``tasks.t4.expose_scores`` is true (``black-box (scores)`` / ``black-box (ranks only)``);
* ``white-box`` - the attacker also has the victim's gradients w.r.t. its input embeddings.

White-box access is *granted* on a system only when ``tasks.t4.white_box`` is true **and** the
system's ranker exposes gradients (:class:`~robustrank.rankers.base.SupportsGradients`);
otherwise attacks get no handle on the model, so they cannot have used it. When white-box is
requested but a system has no gradients, the system records the downgrade. An attack that
needs gradients declares ``threat_model = "white-box"``; where none are granted it is not run
(``not_applicable`` with the reason). One that never reads gradients declares
``threat_model = "black-box"``. An attack that may use granted gradients (e.g. PRADA's
white-box mode) states what it did with ``summary()["threat_model"]``; if it does not say, the
record says that access was granted and its use is undeclared.
"""

from __future__ import annotations

from typing import Any

from robustrank.rankers.base import SupportsGradients

__all__ = ["WHITE_BOX", "attack_threat_model", "refusal", "requires_gradients", "system_access", "weight_leak"]

WHITE_BOX = "white-box"


def _black(expose_scores: bool) -> str:
    return "black-box (scores)" if expose_scores else "black-box (ranks only)"


def system_access(name: str, ranker: Any, *, white_box: bool, expose_scores: bool) -> dict[str, Any]:
    """What attackers may use against one system; notes a white-box request that cannot be met."""
    gradients = isinstance(ranker, SupportsGradients)
    out: dict[str, Any] = {
        "white_box_requested": bool(white_box),
        "gradients_available": gradients,
        "white_box_granted": bool(white_box and gradients),
        "oracle": _black(expose_scores),
    }
    if white_box and not gradients:
        out["downgrade"] = f"white-box requested, but system {name} exposes no gradients: every attack on it ran black-box"
    return out


def requires_gradients(attack: Any) -> bool:
    """Whether an attack plugin declares that it needs the victim's gradients."""
    return getattr(attack, "threat_model", None) == WHITE_BOX


def refusal(access: dict[str, Any], system: str) -> str:
    """Why a white-box-only attack does not run on a system without granted gradients."""
    if not access["white_box_requested"]:
        return "white-box attack, but the audit grants no gradients (tasks.t4.white_box: false)"
    return f"white-box attack, but system {system} exposes no gradients"


def attack_threat_model(attack: Any, access: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    """The record of what one attack ran under on one system (after ``prepare``)."""
    declared = (summary or {}).get("threat_model") if isinstance(summary, dict) else None
    if requires_gradients(attack):
        ran = WHITE_BOX
        note = "gradients of the victim itself"
    elif not access["white_box_granted"]:
        ran = access["oracle"]
        note = access.get("downgrade") or "no gradients granted"
    elif getattr(attack, "threat_model", None) == "black-box":
        ran = access["oracle"]
        note = "declared black-box: the plugin never reads the victim's gradients"
    elif declared:
        ran = access["oracle"] if declared == "black-box" else str(declared)
        note = "declared by the plugin after prepare"
    else:
        ran = f"{WHITE_BOX} granted ({access['oracle']} oracle); use of the gradients not declared by the plugin"
        note = "undeclared"
    return {"ran_under": ran, "requested": WHITE_BOX if requires_gradients(attack) or access["white_box_requested"] else access["oracle"], "note": note}


def _init_fingerprints(summary: Any) -> list[dict[str, str]]:
    """``init_weights_sha256`` records anywhere in an attack's summary (surrogate, imitation model)."""
    out: list[dict[str, str]] = []
    if isinstance(summary, dict):
        fp = summary.get("init_weights_sha256")
        if isinstance(fp, dict) and fp:
            out.append({str(k): str(v) for k, v in fp.items()})
        for v in summary.values():
            out += _init_fingerprints(v)
    return out


def weight_leak(victim: Any, summary: Any) -> str | None:
    """A note when a surrogate or imitation model started from the victim's own weights.

    A black-box attacker that initialises its stand-in from the very weights it attacks (e.g. the
    public all-MiniLM-L6-v2 audited as itself) knows more than the black-box threat model grants:
    its "imitation" is the victim before training. Compared by the sha256 of weight files
    (:class:`~robustrank.rankers.base.SupportsFingerprint`); None when they differ or the victim
    publishes no fingerprint.
    """
    fingerprint = getattr(victim, "fingerprint", None)
    try:
        mine = set(fingerprint().values()) if callable(fingerprint) else set()
    except Exception:  # a ranker whose fingerprint fails publishes none
        mine = set()
    if not mine:
        return None
    for fp in _init_fingerprints(summary):
        if mine & set(fp.values()):
            return (
                "the surrogate/imitation model was initialised from the victim's own weight files (same sha256): "
                "the attacker held the victim's weights, more than the black-box threat model grants"
            )
    return None

