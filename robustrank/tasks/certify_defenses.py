"""certify: evaluate the configured defences on the certified queries.

A ranker defence (e.g. ``certdr_wu_2022``) is measured by the configured measures of its
re-ranking of the same candidates vs the undefended ranker; a document screen (e.g.
``perplexity_detector``) by its false-positive rate on clean documents and its detection rate on
the adversarial documents of task t4 when t4 ran in this audit (``source: t4``), else on
keyword-stuffed copies generated here (``source: generated_keyword_stuffing``). Defences are
loaded with :func:`~robustrank.adversarial.specs.load_defense` and seeded by the ``defense/<name>``
stream.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from typing import Any

import numpy as np

from robustrank.adversarial.defenses import defense_environment
from robustrank.adversarial.edits import apply_edits, query_terms, stuffing_edits
from robustrank.adversarial.screening import flag_share
from robustrank.adversarial.specs import load_defense
from robustrank.adversarial.target_job import screen_flag
from robustrank.tasks.certify_options import CertifyConfig, DefenseSpec
from robustrank.tasks.defense_job import DefenseJob, unit_result
from robustrank.text import words

__all__ = ["evaluate_defense"]

log = logging.getLogger(__name__)


def evaluate_defense(ctx: Any, options: CertifyConfig, coll: Any, runs: dict[str, Any], qids: list[str], spec: DefenseSpec) -> dict[str, Any]:
    """Evaluate one defence on the certified queries (never raises: an error becomes the record).

    A ranker defence (``wrap``) is measured by its re-ranking of the same candidates; a document
    screen (``fit`` + ``score``) by its false-positive rate and detection rate.
    """
    try:
        defense, info = load_defense(spec)
        if hasattr(defense, "wrap"):
            env = defense_environment(ctx, spec.name, {d: doc.full_text for d, doc in coll.documents.items()})
            return {"role": "ranker", "plugin": info.value, **_ranker_defense(ctx, options, coll, runs, qids, spec.name, defense.wrap(ctx.ranker, env))}
        if hasattr(defense, "fit") and hasattr(defense, "score"):
            return {"role": "screen", "plugin": info.value, **_screen(ctx, options, coll, runs, qids, spec.name, defense)}
        return {"status": "error", "error": f"{spec.name} is neither a RankerDefense nor a DocumentScreen"}
    except Exception as exc:  # one failing defence must not lose the certificate
        log.error("defence %s failed: %s", spec.name, exc)
        log.debug("defence traceback", exc_info=True)
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}

def _ranker_defense(ctx, options: CertifyConfig, coll, runs, qids, name, defended) -> dict[str, Any]:
    """Each certified query's undefended top-n re-ranked by ``defended``: one work unit per query
    (``defense/<name>/<query_id>``) through the executor (:class:`DefenseJob`); forwards are the
    sum of the units' own counts, so units run by workers or read back from a checkpoint count."""
    n = options.candidates
    t0 = time.perf_counter()
    units = {}
    for qid in qids:
        top = [d for d, _ in runs["neural"].get(qid, []) if d in coll.documents][:n]
        units[f"defense/{name}/{qid}"] = (runs["queries"][qid], top, [coll.documents[d].full_text for d in top])
    with ctx.timed(f"certify:defense:{name}"):
        done = ctx.map_units("certify", f"defense {name}", DefenseJob(defended), units)
    undefended, defended_run = {}, {}
    forwards, unrecorded = 0, 0
    for qid in qids:
        ranked, unit_forwards = unit_result(done[f"defense/{name}/{qid}"])
        if unit_forwards is None:  # checkpointed by an older version: its forwards were not kept
            unrecorded += 1
        else:
            forwards += unit_forwards
        full = runs["neural"].get(qid, [])
        top_ids = {d for d, _ in ranked}
        rest = [d for d, _ in full if d not in top_ids]
        defended_run[qid] = ranked + [(d, -1.0 - i) for i, d in enumerate(rest)]
        undefended[qid] = full
    before = ctx.evaluate(undefended, coll, qids)
    after = ctx.evaluate(defended_run, coll, qids)
    eff = {}
    for m in ctx.config.measures:
        u = float(np.mean([before[m][q] for q in qids])) if qids else 0.0
        d = float(np.mean([after[m][q] for q in qids])) if qids else 0.0
        eff[m] = {"undefended": u, "defended": d, "diff": d - u}
    describe = defended.describe() if hasattr(defended, "describe") else {}
    return {
        "effectiveness": eff,
        "samples": int(describe.get("samples", 0)),
        "forwards": forwards,
        "queries": len(qids),
        "candidates": n,
        "protocol": f"the defended ranker re-ranks the undefended top-{n}; documents below keep their order",
        "seconds": round(time.perf_counter() - t0, 3),
        **({"forwards_unrecorded_units": unrecorded} if unrecorded else {}),
    }

def _screen(ctx, options: CertifyConfig, coll, runs, qids, name, screen) -> dict[str, Any]:
    """False positives on clean documents and detection on adversarial ones, each judged the way
    T4 screens them: per (query, document) when the screen takes queries (``fit(..., pairs=)``;
    the query-term features need the query), else on the text alone."""
    opt = options
    t0 = time.perf_counter()
    ids = sorted(coll.documents)
    rng = ctx.rng("certify", "detector")
    pick = rng.choice(len(ids), size=min(opt.detector_docs, len(ids)), replace=False)
    clean = [coll.documents[ids[i]].full_text for i in pick]
    half = len(clean) // 2
    queries = runs["queries"]
    adversarial: dict[str, list[tuple[str, str]]] = {}
    originals: dict[str, list[tuple[str, str]]] = {}
    attacked: set[str] = set()
    t4 = ctx.result_of("t4") or {}
    for key, attack in (t4.get("attacks") or {}).items():
        for system in (attack.get("systems") or {}).values():
            if system.get("status", "ok") != "ok":
                continue
            for t in system.get("targets") or []:
                attacked.add(t.get("query_id"))
                adv, orig = t.get("adversarial_text"), t.get("original_text")
                query = t.get("query") or queries.get(t.get("query_id"), "")
                if adv and adv != orig:
                    adversarial.setdefault(key, []).append((query, adv))
                    if orig:
                        originals.setdefault(key, []).append((query, orig))
    takes_pairs = "pairs" in inspect.signature(screen.fit).parameters
    clean_pairs: list[tuple[str, str]] = []
    if takes_pairs:  # clean (query, candidate) pairs of queries not attacked, split by query: fit / evaluate
        others = sorted((q for q in queries if q not in attacked), key=str)
        order = [others[int(j)] for j in rng.permutation(len(others))]
        fit_q, eval_q = order[: len(order) // 2], order[len(order) // 2 :]
        pairs = [(queries[q], coll.documents[d].full_text) for q in fit_q for d, _ in runs["candidates"].get(q, []) if d in coll.documents]
        screen.fit(clean[:half], seed=ctx.stream_seed("defense", name), pairs=pairs)
        pool = [(queries[q], coll.documents[d].full_text) for q in eval_q for d, _ in runs["candidates"].get(q, []) if d in coll.documents]
        clean_pairs = [pool[int(j)] for j in rng.permutation(len(pool))[: len(clean) - half]]
    else:
        screen.fit(clean[:half], seed=ctx.stream_seed("defense", name))
        clean_pairs = [("", text) for text in clean[half:]]
    threshold = float(screen.threshold) if getattr(screen, "threshold", None) is not None else None
    source = "t4"
    if not adversarial:
        source = "generated_keyword_stuffing"
        texts = []
        srng = ctx.rng("certify", "stuffing")
        pool = [(q, d) for q in qids for d, _ in runs["neural"].get(q, [])[: opt.candidates] if d in coll.documents]
        for j in srng.permutation(len(pool))[: opt.detector_stuffed]:
            q, d = pool[int(j)]
            text = coll.documents[d].full_text
            terms = query_terms(queries[q])
            n_insert = max(len(terms), math.ceil(0.2 * len(words(text))))
            texts.append((queries[q], apply_edits(text, stuffing_edits(text, terms, n_insert, "interleave", srng)) if terms else text))
        adversarial = {"keyword_stuffing_generated": texts}

    def share(items: list[tuple[str, str]]) -> dict[str, Any]:
        return flag_share([screen_flag(screen, text, query) for query, text in items])

    fp = share(clean_pairs)
    detected = {k: share(v) for k, v in adversarial.items() if v}
    out = {
        "threshold": threshold,
        "query_aware": takes_pairs,
        "false_positive_rate": fp["rate"],
        "false_positives": fp,
        "detection_rate": {k: d["rate"] for k, d in detected.items()},
        "detections": detected,
        "source": source,
        "n_clean_fit": half,
        "n_clean_eval": len(clean_pairs),
        "clean_eval": "(query, BM25 candidate) pairs of queries neither attacked nor used for calibration" if takes_pairs else "held-out documents",
        "n_adversarial": {k: len(v) for k, v in adversarial.items()},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if originals:
        out["originals_flagged_rate"] = {k: share(v)["rate"] for k, v in originals.items()}
    if source == "generated_keyword_stuffing":
        out["generation"] = "query content terms, cycled, spread evenly over top candidates by the stuffing generator (mode interleave, +20% words)"
    return out
