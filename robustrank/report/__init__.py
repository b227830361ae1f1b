"""HTML rendering of results.json through jinja2 templates (autoescaped): the report page and
the compliance page."""

from robustrank.report.render import (
    render_compliance,
    render_compliance_html,
    render_html,
    render_report,
)

__all__ = ["render_compliance", "render_compliance_html", "render_html", "render_report"]
