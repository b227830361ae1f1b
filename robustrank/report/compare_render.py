"""Render a comparison of two audits (:mod:`robustrank.report.compare`) as one HTML page and as
Markdown for a pull-request comment; :func:`write_comparison` reads both files and writes both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustrank.gate.output import md_code, md_escape
from robustrank.report.compare import compare_results

__all__ = ["comparison_html", "comparison_markdown", "write_comparison"]


def _n(v: Any, signed: bool = False) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "–" if v is None else md_escape(v)
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _p(v: Any) -> str:
    return "–" if v is None else ("<0.001" if v < 0.001 else f"{v:.3f}")


def comparison_html(cmp: dict[str, Any]) -> str:
    """The comparison page (self-contained, autoescaped)."""
    from robustrank.report.render import _env

    return _env().get_template("compare.html.j2").render(c=cmp)


def comparison_markdown(cmp: dict[str, Any], max_rows: int = 60) -> str:
    """A Markdown summary: what changed, significant paired differences, metric deltas."""
    o, n = cmp["old"], cmp["new"]
    lines = [f"## robustrank: {md_escape(o['name'])} → {md_escape(n['name'])}", ""]
    ch = cmp["changes"]
    lines.append("**What changed:** " + "; ".join(x for x in (
        f"model ({len(ch['model'])} fields)" if ch["model"] else "",
        f"data ({', '.join(ch['data'])})" if ch["data"] else "",
        f"config ({len(ch['config'])} keys)" if ch["config"] else "",
        f"environment ({len(ch['environment'])} versions)" if ch["environment"] else "",
        f"seed {ch['seed']['old']} → {ch['seed']['new']}" if ch["seed"] else "",
    ) if x) if any(ch.values()) else "**What changed:** nothing recorded (same model, data, config, versions and seed).")
    tested = [r for r in cmp["paired"] if r["p_t"] is not None]
    sig = [r for r in tested if r["significant"]]
    lines += ["", f"**Paired per-query tests:** {len(tested)} series on shared queries, {len(sig)} significant "
              f"(two-sided paired t-test, Holm-corrected over the {cmp['family_size']} series that differ, α = {cmp['alpha']}).", ""]
    rows = sig or sorted((r for r in tested if not r["identical"]), key=lambda r: r["p_t"])[:max_rows // 3]
    if rows:
        lines += ["| task | series | n | old | new | Δ [95% CI] | p (Holm) |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            ci = f" [{_n(r['ci'][0], True)}, {_n(r['ci'][1], True)}]" if r["ci"] else ""
            lines.append(f"| {md_escape(r['task'])} | {md_escape(r['series'])} | {r['n_shared']} | {_n(r['old_mean'])} | {_n(r['new_mean'])} | {_n(r['mean_diff'], True)}{ci} | {_p(r['p_holm'])} |")
    lines += ["", "<details><summary>All shared metrics</summary>", "", "| metric | old | new | Δ |", "|---|---|---|---|"]
    for m in cmp["metrics"][:max_rows]:
        lines.append(f"| {md_code(m['key'])} | {_n(m['old'])} | {_n(m['new'])} | {_n(m['delta'], True)} |")
    if len(cmp["metrics"]) > max_rows:
        lines.append(f"| … {len(cmp['metrics']) - max_rows} more in the HTML page | | | |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def write_comparison(old_path: Path, new_path: Path, *, html: Path | None, markdown: Path | None, alpha: float = 0.05) -> tuple[dict[str, Any], list[Path]]:
    """Read both results files, compare, write the requested outputs; return the comparison and the paths written.

    Raises:
        DataError: A file is not a results.json this robustrank reads, or a field has an unexpected type.
    """
    from robustrank.errors import DataError
    from robustrank.gate.evaluate import results_digest
    from robustrank.results import read_results, write_text_atomic

    old, new = read_results(old_path), read_results(new_path)
    try:
        cmp = compare_results(old, new, alpha=alpha, old_path=str(old_path), new_path=str(new_path),
                              old_digest=results_digest(old_path), new_digest=results_digest(new_path))
        html_text = comparison_html(cmp) if html else None
        md_text = comparison_markdown(cmp) if markdown else None
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:  # tampered field types
        detail = " ".join(str(exc).split())[:200]
        raise DataError(f"{old_path} / {new_path}: cannot compare: a field has an unexpected type or value ({type(exc).__name__}: {detail})") from None
    written = []
    if html_text is not None:
        written.append(write_text_atomic(html, html_text))
    if md_text is not None:
        written.append(write_text_atomic(markdown, md_text))
    return cmp, written
