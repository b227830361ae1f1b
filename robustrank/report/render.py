"""Render a report page from a results document alone (never the model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["render_report", "render_html"]


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("robustrank.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pval"] = _pval
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True)
    return env


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def _pval(value: Any) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def render_html(results: dict[str, Any]) -> str:
    """Return the report page for a results document."""
    return _env().get_template("report.html.j2").render(r=results)


def render_report(results: dict[str, Any], path: str | Path) -> Path:
    """Write the report page for ``results`` to ``path`` (atomically)."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_html(results)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, path)
    return path
