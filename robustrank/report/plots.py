"""Figures for the HTML report: matplotlib (Agg backend) rendered to inline SVG markup.

Every figure is drawn from numbers of results.json only. Text is written as SVG ``<text>``
elements (``svg.fonttype: none``), which matplotlib's SVG writer XML-escapes; labels that
come from user data (domain names, attack keys) therefore render inert (tested). Output is
deterministic (fixed ``svg.hashsalt``, no date metadata) so two renders of the same results
are byte-identical. Mathtext is off (``text.parse_math: False``), so a ``$`` in a name is a
dollar sign, not a formula that fails to parse. matplotlib is imported lazily, on the first figure.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

__all__ = ["attack_ranks", "certify_curve", "domain_shift", "t1_distribution", "variation_drops"]

log = logging.getLogger(__name__)

NEURAL, BM25 = "#1f5fa8", "#c2571a"  # colour-blind-safe blue / orange pair
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "robustrank",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "text.parse_math": False,  # labels from user data ("$\\frac$" in a dataset name) are plain text
}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    """Serialise a figure to SVG markup without the XML prolog (for inline embedding)."""
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})  # layout: tight_layout per figure
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _finite(values: Any) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def _err(mean: Any, low: Any, high: Any) -> tuple[float, float]:
    if None in (mean, low, high):
        return (0.0, 0.0)
    return (max(mean - low, 0.0), max(high - mean, 0.0))


def t1_distribution(per_query: dict[str, dict[str, dict[str, float]]], measures: list[str]) -> str | None:
    """Box plots of the per-query values of each measure, neural vs BM25, with the paired points.

    Args:
        per_query: T1's long per-query records pivoted to {system: {measure: {qid: value}}}
            (:func:`robustrank.results.pivot`).
        measures: Measures to draw, one panel each.
    """
    measures = [m for m in measures if m in per_query.get("neural", {}) and m in per_query.get("bm25", {})]
    if not measures:
        return None
    plt = _plt()
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, len(measures), figsize=(2.3 * len(measures) + 0.6, 3.0), squeeze=False)
        for ax, m in zip(axes[0], measures):
            n, b = per_query["neural"][m], per_query["bm25"][m]
            qids = [q for q in n if q in b]
            nv, bv = _finite(n[q] for q in qids), _finite(b[q] for q in qids)
            bp = ax.boxplot([nv, bv], widths=0.5, patch_artist=True, showmeans=True, medianprops={"color": "black"},
                            meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 4})
            for patch, colour in zip(bp["boxes"], (NEURAL, BM25)):
                patch.set_facecolor(colour)
                patch.set_alpha(0.35)
            if len(nv) == len(bv) and len(nv) <= 200:
                for a, c in zip(nv, bv):
                    ax.plot([1.15, 1.85], [a, c], color="grey", alpha=0.15, linewidth=0.6)
            ax.set_xticks([1, 2], ["neural", "BM25"])
            ax.set_title(m)
        axes[0][0].set_ylabel("per-query value")
        fig.tight_layout()
        return _svg(fig)


def variation_drops(variations: dict[str, Any], measure: str) -> str | None:
    """Drop (original − variant mean) of each system per query variation with its bootstrap CI;
    ``*`` marks drops significant after the task's multiple-testing correction.

    Args:
        variations: ``tasks.t2.result.variations``.
        measure: The measure to draw.
    """
    rows = [(k, v["measures"][measure]) for k, v in variations.items() if measure in v.get("measures", {})]
    if not rows:
        return None
    plt = _plt()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 0.4 * len(rows) + 1.3))
        ys = list(range(len(rows)))
        for offset, system, colour, label in ((-0.17, "neural", NEURAL, "neural"), (0.17, "bm25", BM25, "BM25")):
            means, errs, sig = [], [[], []], []
            for _, row in rows:
                r = row[system]
                means.append(r.get("drop") or 0.0)
                lo, hi = _err(r.get("drop"), r.get("drop_ci_low"), r.get("drop_ci_high"))
                errs[0].append(lo)
                errs[1].append(hi)
                sig.append(bool(r.get("significant")))
            y = [v + offset for v in ys]
            ax.errorbar(means, y, xerr=errs, fmt="o", color=colour, label=label, capsize=3, markersize=5)
            for xm, yy, s in zip(means, y, sig):
                if s:
                    ax.annotate("*", (xm, yy), textcoords="offset points", xytext=(6, -2), color=colour, fontsize=12)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ys, [k for k, _ in rows])
        ax.invert_yaxis()
        ax.set_xlabel(f"drop in {measure} (original − variant), 95% CI; * = significant after correction")
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
        fig.tight_layout()
        return _svg(fig)


def domain_shift(in_domain: dict[str, Any], domains: dict[str, Any], measure: str) -> str | None:
    """Effectiveness in-domain and on each unseen domain (mean with CI) for both systems, and
    the robustness gap with its CI.

    Args:
        in_domain: ``tasks.t3.result.in_domain``.
        domains: ``tasks.t3.result.domains`` (errored domains are left out).
        measure: The measure to draw.
    """
    ok = [(n, d) for n, d in domains.items() if d.get("status") == "ok" and measure in d.get("measures", {})]
    if not ok or measure not in in_domain.get("measures", {}):
        return None
    plt = _plt()
    with plt.rc_context(_STYLE):
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.0), gridspec_kw={"width_ratios": [3, 2]})
        names = [f"{in_domain.get('dataset', 'in-domain')} (in)"] + [n for n, _ in ok]
        rows = [in_domain["measures"][measure]] + [d["measures"][measure] for _, d in ok]
        xs = list(range(len(names)))
        for offset, system, colour, label in ((-0.12, "neural", NEURAL, "neural"), (0.12, "bm25", BM25, "BM25")):
            means = [r[system].get("mean") or 0.0 for r in rows]
            lo_hi = [_err(r[system].get("mean"), r[system].get("ci_low"), r[system].get("ci_high")) for r in rows]
            ax.errorbar([x + offset for x in xs], means, yerr=[[a for a, _ in lo_hi], [b for _, b in lo_hi]],
                        fmt="o", color=colour, label=label, capsize=3)
        ax.set_xticks(xs, names)
        ax.set_ylabel(f"{measure} (mean, 95% CI)")
        ax.legend(frameon=False)
        gaps = [d["measures"][measure]["shift"] for _, d in ok]
        gx = list(range(len(ok)))
        ax2.errorbar(gx, [g.get("gap") or 0.0 for g in gaps],
                     yerr=[[_err(g.get("gap"), g.get("gap_ci_low"), g.get("gap_ci_high"))[i] for g in gaps] for i in (0, 1)],
                     fmt="s", color="black", capsize=3)
        ax2.axhline(0, color="grey", linewidth=0.8)
        ax2.set_xticks(gx, [n for n, _ in ok])
        ax2.set_ylabel("gap: neural − BM25 relative drop")
        ax2.set_title("> 0: neural degrades more", fontsize=8)
        fig.tight_layout()
        return _svg(fig)


def attack_ranks(systems: dict[str, Any]) -> str | None:
    """Per attack: histogram of boosted ranks (original − new) and before/after ranks per system.

    Args:
        systems: ``tasks.t4.result.attacks.<key>.systems``.
    """
    ok = [(name, s) for name, s in systems.items() if s.get("status") == "ok" and s.get("targets")]
    if not ok:
        return None
    plt = _plt()
    palette = [NEURAL, BM25, "#2a8a3e", "#7a3e9d", "#8c6d1f"]
    with plt.rc_context(_STYLE):
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.0))
        boosts = []
        for i, (name, s) in enumerate(ok):
            pairs = [(t.get("original_rank"), t.get("new_rank")) for t in s["targets"]]
            pairs = [(a, b) for a, b in pairs if isinstance(a, (int, float)) and isinstance(b, (int, float))]
            boosts.append(([a - b for a, b in pairs], name, palette[i % len(palette)]))
            ax2.scatter([a for a, _ in pairs], [b for _, b in pairs], s=12, alpha=0.7, color=palette[i % len(palette)], label=name)
        all_b = [b for bs, _, _ in boosts for b in bs]
        if all_b:
            lo, hi = min(all_b + [0]), max(all_b + [1])
            bins = min(30, max(5, int(hi - lo) or 5))
            ax.hist([bs for bs, _, _ in boosts], bins=bins, range=(lo, hi), color=[c for _, _, c in boosts],
                    label=[n for _, n, _ in boosts], alpha=0.8)
        ax.set_xlabel("boosted ranks (original − new)")
        ax.set_ylabel("targets")
        ax.legend(frameon=False, fontsize=7)
        top = max([a for _, s in ok for t in s["targets"] for a in (t.get("original_rank") or 0, t.get("new_rank") or 0)] + [10])
        ax2.plot([1, top], [1, top], color="grey", linewidth=0.8, linestyle="--")
        ax2.axhline(10, color="black", linewidth=0.6, linestyle=":")
        ax2.set_xlabel("rank before attack")
        ax2.set_ylabel("rank after attack")
        ax2.invert_yaxis()
        ax2.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        return _svg(fig)


def certify_curve(crq: dict[str, Any]) -> str | None:
    """CRQ@K against K.

    Args:
        crq: ``tasks.certify.result.crq`` ({"<K>": share of certified queries}).
    """
    pts = sorted((int(k), float(v)) for k, v in crq.items() if str(k).isdigit() and isinstance(v, (int, float)))
    if not pts:
        return None
    plt = _plt()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 2.8))
        ax.plot([k for k, _ in pts], [v for _, v in pts], marker="o", color=NEURAL)
        ax.set_xlabel("K")
        ax.set_ylabel("CRQ@K (share of queries certified)")
        ax.set_ylim(0, max(0.05, min(1.0, max(v for _, v in pts) * 1.2)))
        fig.tight_layout()
        return _svg(fig)
