"""Report view of T4 (document-side attacks)."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import draw, pair, summary_row
from robustrank.tasks.base import TaskView


def view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """A summary row per attack (success rates) and for injection, sample sizes, the
    transfer-attack limitation and a rank figure per attack."""
    rows, limitations = [], []
    for key, a in res.get("attacks", {}).items():
        if a.get("status") == "error":  # the plugin could not be loaded: one error row
            rows.append(summary_row(f"{key}: not run", None, None, None, None, None, f"error: {a.get('error', '')}"))
            continue
        systems = a.get("systems", {})
        n, b = systems.get("neural", {}), systems.get("bm25", {})
        nm = n.get("metrics", {}) if n.get("status") == "ok" else {}
        bm = b.get("metrics", {}) if b.get("status") == "ok" else {}
        note = f"targets {nm.get('n_targets', '–')}"
        if n.get("status") not in (None, "ok"):
            note = f"neural: {n.get('status')} {n.get('error') or n.get('reason') or ''}".strip()
        rows.append(summary_row(f"{key}: success rate", nm.get("success_rate"), pair(nm.get("success_rate_ci_low"), nm.get("success_rate_ci_high")),
                                bm.get("success_rate"), pair(bm.get("success_rate_ci_low"), bm.get("success_rate_ci_high")),
                                ("top-10 rate (neural)", nm.get("top10_rate"), pair(nm.get("top10_rate_ci_low"), nm.get("top10_rate_ci_high"))), note))
        for sname, s in systems.items():
            if (s.get("threat_model") or {}).get("init_is_victim_weights"):
                limitations.append(f"Attack {key} on {sname}: its surrogate/imitation model started from the victim's own weight files, so it is not a pure black-box result.")
        prep = a.get("prepare") or {}
        if "imitation_fidelity" in prep or "surrogate" in prep:
            limitations.append(
                f"Attack {key} is transfer-based (surrogate/imitation model); its success depends on the imitation's "
                f"fidelity ({prep.get('imitation_fidelity', 'not recorded')})."
            )
    for ename in ("ensemble", "ensemble_black_box"):
        ens = res.get(ename) or {}
        en, eb = ens.get("neural", {}), ens.get("bm25", {})
        enm = en.get("metrics", {}) if en.get("status") == "ok" else {}
        ebm = eb.get("metrics", {}) if eb.get("status") == "ok" else {}
        if enm or ebm:
            rows.append(summary_row(f"{ename}: worst-case success rate", enm.get("success_rate"), pair(enm.get("success_rate_ci_low"), enm.get("success_rate_ci_high")),
                                    ebm.get("success_rate"), pair(ebm.get("success_rate_ci_low"), ebm.get("success_rate_ci_high")),
                                    ("top-10 rate (neural)", enm.get("top10_rate"), pair(enm.get("top10_rate_ci_low"), enm.get("top10_rate_ci_high"))),
                                    f"targets {enm.get('n_targets', '–')}, members {', '.join(en.get('members', []))}"))
    sim = (res.get("measures") or {}).get("similarity") or {}
    if sim.get("judged_by_victim"):
        limitations.append(f"T4 semantic similarity was measured with {sim.get('model')}, the audited model itself: {sim.get('judge_note', 'the victim judged its own attack')}.")
    for sinfo in (res.get("systems") or {}).values():
        if (sinfo.get("access") or {}).get("downgrade"):
            limitations.append(f"T4: {sinfo['access']['downgrade']}.")
    inj = (res.get("injection") or {}).get("systems") or {}
    if inj:
        rows.append(summary_row("injection: queries with injected doc in top 10", inj.get("neural", {}).get("share_queries_with_injected_in_top10"), None,
                                inj.get("bm25", {}).get("share_queries_with_injected_in_top10"), None, None, f"{res['injection'].get('n_injected', '–')} injected"))
    tp = res.get("target_protocol", {})
    sizes = [{"what": f"queries of {res.get('dataset')}, {tp.get('per_query')} target documents each from ranks {tp.get('rank_ranges')}", "n": tp.get("queries")}]
    for key, a in res.get("attacks", {}).items():
        for sname, s in a.get("systems", {}).items():
            n = s.get("metrics", {}).get("n_targets") if s.get("status") == "ok" else s.get("status")
            sizes.append({"what": f"targets attacked: {key} on {sname}", "n": n})
    figs: dict[str, Any] = {}
    if figures:
        from robustrank.report import plots

        figs = {k: draw(plots.attack_ranks, a.get("systems", {})) for k, a in res.get("attacks", {}).items() if a.get("systems")}
    return TaskView(summary=tuple(rows), sizes=tuple(sizes), limitations=tuple(limitations), figures=figs)
