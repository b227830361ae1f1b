"""One attack against one attacked system: prepare the attack, then one checkpointed unit per target.

An :class:`AttackedSystem` is what T4 attacks (the neural ranker, BM25, or the neural ranker
behind a ranker defence): its scoring function, its own ranked lists, and its targets. A
:class:`Campaign` holds what every (attack, system) pair shares - documents, queries, budget,
measures, document screens - and :meth:`Campaign.run` runs one attack plugin against one system.
A failing pair becomes an ``error`` row; the task goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from robustrank.adversarial.runner import aggregate
from robustrank.adversarial.specs import AttackSpec, load_attack
from robustrank.adversarial.target_job import TargetJob
from robustrank.adversarial.threat import attack_threat_model, refusal, requires_gradients, system_access, weight_leak
from robustrank.adversarial.types import AttackEnvironment, AttackTarget, Budget, architecture_of
from robustrank.adversarial.uncertainty import add_intervals

__all__ = ["AttackedSystem", "Campaign"]

log = logging.getLogger(__name__)


@dataclass
class AttackedSystem:
    """A system under attack.

    Attributes:
        name: ``neural``, ``bm25`` or ``neural+<defence>``.
        score_fn: ``(query, texts) -> scores`` of the system (the victim).
        rankings: query_id -> the system's own ranked list [(doc_id, score)].
        ranker: The ranker object (white-box attacks read its gradients), if any.
        note: What the system is, for results.json.
        targets: (query_id, doc_id, rank) attacked on this system.
    """

    name: str
    score_fn: Callable[[str, list[str]], Any]
    rankings: Mapping[str, list[tuple[str, float]]]
    ranker: Any = None
    note: str = ""
    targets: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class Campaign:
    """What every (attack, system) pair of one T4 run shares.

    Attributes:
        ctx: The audit context (checkpointed units, seeded streams, timings, lexicon, artefacts).
        documents: doc_id -> text of the collection.
        queries: query_id -> text of the evaluated queries.
        budget: Per-target limits, enforced by :func:`attack_one`.
        expose_scores: Black box with scores (False: ranks only).
        white_box: Give attacks the victim's ranker (for gradients).
        keep_texts: Store original and adversarial texts per target.
        similarity: ``(a, b) -> cosine`` of the similarity encoder.
        perplexity: ``text -> perplexity`` (cached by the caller).
        screens: Fitted document screens by name (flag each adversarial document).
    """

    ctx: Any
    documents: dict[str, str]
    queries: Mapping[str, str]
    budget: Budget
    expose_scores: bool
    white_box: bool
    keep_texts: bool
    similarity: Callable[[str, str], float]
    perplexity: Callable[[str], float | None]
    screens: dict[str, Any] = field(default_factory=dict)

    def run(self, key: str, spec: AttackSpec, system: AttackedSystem, entry: dict[str, Any]) -> dict[str, Any]:
        """Run attack ``spec`` (results key ``key``) against ``system``; returns its results row.

        ``entry["prepare"][system.name]`` receives the attack's ``summary()`` after ``prepare``.
        """
        ctx = self.ctx
        access = system_access(system.name, system.ranker, white_box=self.white_box, expose_scores=self.expose_scores)
        try:
            attack, _ = load_attack(spec)
            if requires_gradients(attack) and not access["white_box_granted"]:
                reason = refusal(access, system.name)
                return {"status": "not_applicable", "reason": reason, "threat_model": {"ran_under": None, "requested": "white-box", "note": reason}}
            rankings = {q: [(d, s if self.expose_scores else None) for d, s in lst] for q, lst in system.rankings.items()}
            env = AttackEnvironment(
                documents=self.documents,
                queries={q: self.queries[q] for q in rankings if q in self.queries},
                victim_rankings=rankings,
                rank_fn=None,
                lexicon=ctx.lexicon,
                seed=ctx.stream_seed("t4", key, system.name, "prepare"),
                artifact_dir=ctx.artifact_dir,
                device=ctx.config.ranker.device,
                white_box_ranker=system.ranker if access["white_box_granted"] else None,
                progress=ctx.progress,
                score_fn=system.score_fn, expose_scores=self.expose_scores, victim_architecture=architecture_of(system.ranker),
                attacked_query_ids=frozenset(q for q, _, _ in system.targets),
            )
            if hasattr(attack, "applicable"):
                reason = attack.applicable(env)
                if reason:
                    return {"status": "not_applicable", "reason": str(reason)}
            with ctx.timed(f"t4:{key}:{system.name}:prepare"):
                if hasattr(attack, "prepare"):
                    attack.prepare(env)
            summary = attack.summary() if hasattr(attack, "summary") else None
            if summary is not None:
                entry["prepare"][system.name] = summary
            threat = attack_threat_model(attack, access, summary)
            leak = weight_leak(system.ranker, summary)
            if leak:
                threat = {**threat, "init_is_victim_weights": True, "note": f"{threat['note']}; {leak}"}
                log.warning("t4: %s on %s: %s", key, system.name, leak)
            listed = {d for qid, _, _ in system.targets for d, _ in rankings[qid]} | {d for _, d, _ in system.targets}
            job = TargetJob(attack, system.score_fn, {d: self.documents[d] for d in listed if d in self.documents}, self.budget,
                            self.expose_scores, self.keep_texts, self.similarity, self.perplexity, self.screens)
            units = {
                f"{key}/{system.name}/{qid}/{did}": (
                    AttackTarget(qid, self.queries[qid], did, self.documents[did], rank, tuple(rankings[qid])),
                    ctx.rng("t4", key, system.name, qid, did),
                )
                for qid, did, rank in system.targets
            }
            with ctx.timed(f"t4:{key}:{system.name}:attack"):
                records = list(ctx.map_units("t4", f"{key} {system.name}", job, units).values())
            metrics = add_intervals(aggregate(records), records, seed=ctx.stream_seed("t4", key, system.name, "bootstrap"))
            return {"status": "ok", "threat_model": threat, "metrics": metrics, "targets": records}
        except Exception as exc:  # one failing (attack, system) pair does not stop the task
            log.error("t4: attack %s against %s failed: %s", key, system.name, exc)
            log.debug("traceback", exc_info=True)
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
