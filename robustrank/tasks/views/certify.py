"""Report view of certify (CertDR certified top-K robustness)."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import draw, summary_row
from robustrank.tasks.base import TaskView


def view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """A summary row per K, the sample size, the scope of the certificate and the CRQ curve."""
    rows = [summary_row(f"CRQ@{k}", v, None, None, None, None, f"alpha={res.get('alpha')}, n={res.get('n_queries')}") for k, v in res.get("crq", {}).items()]
    figs: dict[str, Any] = {}
    if figures:
        from robustrank.report import plots

        figs = {"certify": draw(plots.certify_curve, res.get("crq", {}))}
    return TaskView(
        summary=tuple(rows),
        sizes=({"what": f"queries of {res.get('dataset')} × {res.get('candidates_per_query')} candidates", "n": res.get("n_queries")},),
        limitations=(
            f"Certification holds for the smoothed ranker and the synonym sets described ({res.get('bound')}, alpha={res.get('alpha')}), "
            "not for the base model or other perturbations.",
        ),
        figures=figs,
    )
