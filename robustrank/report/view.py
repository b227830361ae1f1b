"""Plain data the report templates render: the summary table, word diffs, limitations.

Nothing here builds markup — the functions return lists and dicts of numbers and strings that
the autoescaping templates turn into HTML. Every number is copied from results.json, never
computed anew (the report must agree with the JSON to the digit).
"""

from __future__ import annotations

import difflib
from typing import Any

__all__ = ["diff_segments", "known_limitations", "sample_sizes", "summary_rows", "task_result"]


def task_result(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The result of task ``key`` when it finished ok, else None."""
    t = (results.get("tasks") or {}).get(key)
    return t.get("result") if t and t.get("status") == "ok" else None


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per headline number of each task: neural vs BM25 with CIs where the task has them.

    Row keys: task, item, kind ("value" or "pct"), neural, neural_ci (pair or None), bm25,
    bm25_ci, extra (label, value, CI) for the difference/gap, note.
    """
    rows: list[dict[str, Any]] = []
    measures = (results.get("config") or {}).get("measures") or []
    first = measures[0] if measures else None

    t1 = task_result(results, "t1")
    if t1:
        for m, v in t1.get("measures", {}).items():
            c = v.get("comparison", {})
            rows.append(_row("t1", f"{m} mean", v["neural"].get("mean"), _ci(v["neural"]), v["bm25"].get("mean"), _ci(v["bm25"]),
                             ("Δ neural − BM25", c.get("mean_diff"), _pair(c.get("diff_ci_low"), c.get("diff_ci_high"))),
                             f"n={t1.get('n_queries')}, paired t p={_p(c.get('t_pvalue'))}"))
    t2 = task_result(results, "t2")
    if t2 and first:
        for key, v in t2.get("variations", {}).items():
            r = v.get("measures", {}).get(first)
            if not r:
                continue
            rows.append(_row("t2", f"{key}: drop in {first}", r["neural"].get("drop"), _pair(r["neural"].get("drop_ci_low"), r["neural"].get("drop_ci_high")),
                             r["bm25"].get("drop"), _pair(r["bm25"].get("drop_ci_low"), r["bm25"].get("drop_ci_high")),
                             ("gap of relative drops", r.get("robustness_gap"), None),
                             f"p corr. {_p(r['neural'].get('p_corrected'))} / {_p(r['bm25'].get('p_corrected'))}"))
    t3 = task_result(results, "t3")
    if t3:
        gm = t3.get("gap_measure") or first
        for name, d in t3.get("domains", {}).items():
            if d.get("status") != "ok" or gm not in d.get("measures", {}):
                rows.append(_row("t3", f"{name}", None, None, None, None, None, f"error: {d.get('error', '')}"))
                continue
            r = d["measures"][gm]
            rows.append(_row("t3", f"{name}: {gm}", r["neural"].get("mean"), _ci(r["neural"]), r["bm25"].get("mean"), _ci(r["bm25"]),
                             ("gap of relative drops", r["shift"].get("gap"), _pair(r["shift"].get("gap_ci_low"), r["shift"].get("gap_ci_high"))),
                             f"relative drop {_pct(r['shift'].get('neural_relative_drop'))} / {_pct(r['shift'].get('bm25_relative_drop'))}"))
    t4 = task_result(results, "t4")
    if t4:
        for key, a in t4.get("attacks", {}).items():
            systems = a.get("systems", {})
            n, b = systems.get("neural", {}), systems.get("bm25", {})
            nm = n.get("metrics", {}) if n.get("status") == "ok" else {}
            bm = b.get("metrics", {}) if b.get("status") == "ok" else {}
            note = f"targets {nm.get('n_targets', '–')}"
            if n.get("status") not in (None, "ok"):
                note = f"neural: {n.get('status')} {n.get('error') or n.get('reason') or ''}".strip()
            rows.append(_row("t4", f"{key}: success rate", nm.get("success_rate"), _pair(nm.get("success_rate_ci_low"), nm.get("success_rate_ci_high")),
                             bm.get("success_rate"), _pair(bm.get("success_rate_ci_low"), bm.get("success_rate_ci_high")),
                             ("top-10 rate (neural)", nm.get("top10_rate"), _pair(nm.get("top10_rate_ci_low"), nm.get("top10_rate_ci_high"))), note))
        for ename in ("ensemble", "ensemble_black_box"):
            ens = t4.get(ename) or {}
            en, eb = ens.get("neural", {}), ens.get("bm25", {})
            enm = en.get("metrics", {}) if en.get("status") == "ok" else {}
            ebm = eb.get("metrics", {}) if eb.get("status") == "ok" else {}
            if enm or ebm:
                rows.append(_row("t4", f"{ename}: worst-case success rate", enm.get("success_rate"), _pair(enm.get("success_rate_ci_low"), enm.get("success_rate_ci_high")),
                                 ebm.get("success_rate"), _pair(ebm.get("success_rate_ci_low"), ebm.get("success_rate_ci_high")),
                                 ("top-10 rate (neural)", enm.get("top10_rate"), _pair(enm.get("top10_rate_ci_low"), enm.get("top10_rate_ci_high"))),
                                 f"targets {enm.get('n_targets', '–')}, members {', '.join(en.get('members', []))}"))
        inj = (t4.get("injection") or {}).get("systems") or {}
        if inj:
            rows.append(_row("t4", "injection: queries with injected doc in top 10", inj.get("neural", {}).get("share_queries_with_injected_in_top10"), None,
                             inj.get("bm25", {}).get("share_queries_with_injected_in_top10"), None, None, f"{t4['injection'].get('n_injected', '–')} injected"))
    cert = task_result(results, "certify")
    if cert:
        for k, v in cert.get("crq", {}).items():
            rows.append(_row("certify", f"CRQ@{k}", v, None, None, None, None, f"alpha={cert.get('alpha')}, n={cert.get('n_queries')}"))
    return rows


def _row(task, item, neural, neural_ci, bm25, bm25_ci, extra, note):
    return {"task": task, "item": item, "neural": neural, "neural_ci": neural_ci, "bm25": bm25, "bm25_ci": bm25_ci, "extra": extra, "note": note}


def _pair(lo: Any, hi: Any) -> tuple[Any, Any] | None:
    return None if lo is None or hi is None else (lo, hi)


def _ci(summary: dict[str, Any]) -> tuple[Any, Any] | None:
    return _pair(summary.get("ci_low"), summary.get("ci_high"))


def _p(v: Any) -> str:
    if not isinstance(v, (int, float)):
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _pct(v: Any) -> str:
    return f"{v * 100:.1f}%" if isinstance(v, (int, float)) else "–"


def diff_segments(original: str, changed: str) -> list[dict[str, str]]:
    """Word-level diff of two texts as segments ``{"kind": same|del|ins, "text": ...}``.

    A substitution shows as a deleted span followed by an inserted one; the template styles
    them (struck through / highlighted). Whitespace tokenisation keeps punctuation attached.
    """
    a, b = (original or "").split(), (changed or "").split()
    out: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append({"kind": "same", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"kind": "del", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            out.append({"kind": "ins", "text": " ".join(b[j1:j2])})
    return out


def sample_sizes(results: dict[str, Any]) -> list[dict[str, Any]]:
    """What was measured on how many units, per task (for the compliance page)."""
    rows = []
    t1 = task_result(results, "t1")
    if t1:
        rows.append({"task": "t1", "what": f"judged queries of {t1.get('dataset')}", "n": t1.get("n_queries")})
    t2 = task_result(results, "t2")
    if t2:
        rows.append({"task": "t2", "what": f"queries × {len(t2.get('variations', {}))} variations of {t2.get('dataset')}", "n": t2.get("n_queries")})
    t3 = task_result(results, "t3")
    if t3:
        for name, d in t3.get("domains", {}).items():
            rows.append({"task": "t3", "what": f"judged queries of {name}", "n": d.get("n_queries") if d.get("status") == "ok" else f"error: {d.get('error')}"})
    t4 = task_result(results, "t4")
    if t4:
        tp = t4.get("target_protocol", {})
        rows.append({"task": "t4", "what": f"queries of {t4.get('dataset')}, {tp.get('per_query')} target documents each from ranks {tp.get('rank_ranges')}", "n": tp.get("queries")})
        for key, a in t4.get("attacks", {}).items():
            for sname, s in a.get("systems", {}).items():
                n = s.get("metrics", {}).get("n_targets") if s.get("status") == "ok" else s.get("status")
                rows.append({"task": "t4", "what": f"targets attacked: {key} on {sname}", "n": n})
    cert = task_result(results, "certify")
    if cert:
        rows.append({"task": "certify", "what": f"queries of {cert.get('dataset')} × {cert.get('candidates_per_query')} candidates", "n": cert.get("n_queries")})
    return rows


def known_limitations(results: dict[str, Any]) -> list[str]:
    """Limitations a reviewer should weigh, derived from what the results record."""
    out: list[str] = []
    cfg = results.get("config") or {}
    lex = results.get("lexicon") or {}
    if lex or task_result(results, "t2") or task_result(results, "t4") or task_result(results, "certify"):
        if not cfg.get("lexicon"):
            out.append(
                "Synonym lexicon is the bundled WordNet 3.0 + GloVe 6B-50d table, not the counter-fitted word "
                "vectors used by PRADA and CertDR; synonym variations, substitution attacks and certification "
                "neighbourhoods differ from the papers'."
            )
        else:
            out.append(f"Synonym lexicon is a user-supplied table ({cfg.get('lexicon')}).")
    bm = (results.get("baseline") or {}).get("bm25") or {}
    if bm:
        out.append(
            f"BM25 baseline is {bm.get('implementation', 'rank-bm25')} (k1={bm.get('k1')}, b={bm.get('b')}, "
            f"stemming {'on' if bm.get('stem') else 'off'}), not Anserini/Lucene; absolute BM25 numbers can differ from published runs."
        )
    if cfg.get("max_queries"):
        out.append(f"Only the first {cfg['max_queries']} judged queries were evaluated (max_queries); intervals are wide on small samples.")
    cand = cfg.get("candidates") or {}
    if cand:
        out.append(f"The neural ranker re-ranks the first stage's top {cand.get('depth')}; recall beyond that depth cannot change.")
    for key, t in (results.get("tasks") or {}).items():
        if t.get("status") == "error":
            out.append(f"Task {key} errored ({t.get('error')}); its conditions are ERROR in the gate.")
        elif t.get("status") == "skipped":
            out.append(f"Task {key} was skipped ({t.get('reason')}).")
        res = t.get("result") or {}
        for note in res.get("deviations", []) if isinstance(res.get("deviations"), list) else []:
            out.append(f"{key}: {note}")
    t4 = task_result(results, "t4")
    if t4:
        sim = (t4.get("measures") or {}).get("similarity") or {}
        if sim.get("judged_by_victim"):
            out.append(f"T4 semantic similarity was measured with {sim.get('model')}, the audited model itself: {sim.get('judge_note', 'the victim judged its own attack')}.")
        for sname, sinfo in (t4.get("systems") or {}).items():
            if (sinfo.get("access") or {}).get("downgrade"):
                out.append(f"T4: {sinfo['access']['downgrade']}.")
        for key, a in t4.get("attacks", {}).items():
            prep = a.get("prepare") or {}
            if "imitation_fidelity" in prep or "surrogate" in prep:
                out.append(f"Attack {key} is transfer-based (surrogate/imitation model); its success depends on the imitation's fidelity ({prep.get('imitation_fidelity', 'not recorded')}).")
    cert = task_result(results, "certify")
    if cert:
        out.append(f"Certification holds for the smoothed ranker and the synonym sets described ({cert.get('bound')}, alpha={cert.get('alpha')}), not for the base model or other perturbations.")
    return out
