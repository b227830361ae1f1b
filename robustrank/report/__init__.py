"""HTML rendering of results.json through jinja2 templates (autoescaped)."""

from robustrank.report.render import render_report

__all__ = ["render_report"]
