"""Which encoder judges the semantic similarity of original and adversarial documents.

The similarity measure should not be the attacked model: an attack optimised against an encoder
also moves that encoder's embeddings, so the victim judging its own attack is biased. T4's
``similarity_model`` may list several encoders; the first that resolves to a local model and is
not the audited ranker's own model is used. When none qualifies (e.g. the demo, where
all-MiniLM-L6-v2 is both the victim and the only encoder installed), the first that resolves is
used anyway and results.json records ``judged_by_victim: true`` with the note
"the victim judged its own attack", which the report repeats.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from robustrank.adversarial.measures import BiEncoderSimilarity
from robustrank.errors import RobustRankError

__all__ = ["VICTIM_NOTE", "build_similarity", "victim_model_path"]

log = logging.getLogger(__name__)

VICTIM_NOTE = "the victim judged its own attack"


def victim_model_path(ranker: Any) -> str | None:
    """The local model folder of the audited ranker (unwrapping a cache), if it has one."""
    inner = getattr(ranker, "inner", ranker)
    path = getattr(inner, "model_path", None)
    return str(Path(path).resolve()) if path and Path(str(path)).exists() else (str(path) if path else None)


def build_similarity(names: str | list[str], ranker: Any, *, device: str = "auto", base_dir: Path | None = None) -> BiEncoderSimilarity:
    """The similarity measure for T4 (see module docstring); ``info`` records the choice.

    Raises:
        RobustRankError: None of ``names`` resolves to a local model.
    """
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.rankers.resolve import resolve_model

    candidates = [names] if isinstance(names, str) else list(names)
    victim = victim_model_path(ranker)
    resolved: list[tuple[str, str]] = []
    unresolved: dict[str, str] = {}
    for name in candidates:
        try:
            path = resolve_model(name, base_dir=base_dir)
        except RobustRankError as exc:
            unresolved[name] = str(exc)
            continue
        resolved.append((name, str(Path(path).resolve()) if Path(path).exists() else path))
    if not resolved:
        raise RobustRankError(f"tasks.t4.similarity_model: none of {candidates} resolves to a local model")
    independent = [(n, p) for n, p in resolved if p != victim]
    name, path = independent[0] if independent else resolved[0]
    judged_by_victim = path == victim
    inner = getattr(ranker, "inner", ranker)
    encoder = inner if judged_by_victim and isinstance(inner, BiEncoderRanker) else BiEncoderRanker(name, device=device, base_dir=base_dir)
    sim = BiEncoderSimilarity(encoder, name)
    sim.info.update({"candidates": candidates, "unresolved": unresolved, "victim_model": victim, "judged_by_victim": judged_by_victim})
    if judged_by_victim:
        sim.info["judge_note"] = VICTIM_NOTE
        log.warning("t4: similarity encoder %s is the audited model: %s", name, VICTIM_NOTE)
    return sim
