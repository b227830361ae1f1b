"""Gate outputs: Markdown (for a pull-request comment), JUnit XML (CI dashboards), JSON.

Markdown comes from a jinja2 template; every text from the results (error messages, names) is
escaped for GitHub-flavoured Markdown, which would otherwise render inline HTML. JUnit XML is
built with :mod:`xml.etree.ElementTree`, which escapes text and attributes; characters XML
cannot represent at all (control characters) are first replaced by visible escapes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from robustrank.gate.evaluate import GateResult
from robustrank.results import write_json_atomic, write_text_atomic

__all__ = ["gate_markdown", "gate_junit", "write_gate_outputs"]

_MD_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]"}


def md_escape(value: Any) -> str:
    """Escape text for a GFM table cell: no HTML, no pipes, no emphasis, one line."""
    text = " ".join(str(value).split())
    return "".join(_MD_ESCAPES.get(c, c) for c in text)


def md_code(value: Any) -> str:
    """A GFM code span for a table cell (backticks replaced, pipes escaped)."""
    text = " ".join(str(value).split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _md_num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return md_escape(value)
    return f"{value:.4g}"


def gate_markdown(gate: GateResult) -> str:
    """The Markdown summary of a gate outcome."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("robustrank.report", "templates"),
        autoescape=False,  # Markdown, not HTML: values go through the md filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["mdnum"] = _md_num
    env.filters["code"] = md_code
    icons = {"PASS": "✅", "WARN": "⚠️", "FAIL": "❌", "ERROR": "⛔"}
    return env.get_template("gate.md.j2").render(g=gate, icons=icons, counts=gate.counts)


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: Any) -> str:
    """Text with the characters XML 1.0 cannot hold (control characters, lone surrogates)
    written as visible ``\\xNN`` / ``\\uNNNN`` escapes, so CI parsers accept the file."""
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", str(value))


def gate_junit(gate: GateResult) -> str:
    """JUnit XML: one test case per condition; FAIL -> failure, failing ERROR -> error,
    tolerated ERROR -> skipped, WARN -> passed with the warning in system-out. Every text is
    passed through :func:`xml_safe` (control characters cannot appear in XML 1.0 at all)."""
    import xml.etree.ElementTree as ET

    gate = _xml_safe_gate(gate)

    counts = gate.counts
    suite = ET.Element("testsuite", {
        "name": f"robustrank gate: {gate.results_name}",
        "tests": str(len(gate.conditions)),
        "failures": str(counts["FAIL"]),
        "errors": str(sum(1 for c in gate.conditions if c.outcome == "ERROR" and c.counts_as_failure)),
        "skipped": str(sum(1 for c in gate.conditions if c.outcome == "ERROR" and not c.counts_as_failure)),
        "timestamp": gate.evaluated_at,
    })
    props = ET.SubElement(suite, "properties")
    for k, v in (("outcome", gate.outcome), ("results_sha256", gate.results_digest), ("baseline", gate.baseline_path), ("baseline_sha256", gate.baseline_digest)):
        if v is not None:
            ET.SubElement(props, "property", {"name": k, "value": str(v)})
    for c in gate.conditions:
        case = ET.SubElement(suite, "testcase", {"classname": f"robustrank.gate.{c.task or 'results'}", "name": c.name})
        if c.outcome == "FAIL":
            ET.SubElement(case, "failure", {"message": c.message, "type": "FAIL"}).text = f"{c.check}\n{c.message}"
        elif c.outcome == "ERROR" and c.counts_as_failure:
            ET.SubElement(case, "error", {"message": c.message, "type": "ERROR"}).text = f"{c.check}\n{c.message}"
        elif c.outcome == "ERROR":
            ET.SubElement(case, "skipped", {"message": f"ERROR tolerated (on_error: warn): {c.message}"})
        ET.SubElement(case, "system-out").text = f"{c.outcome} ({c.severity}): {c.check} — {c.message}"
    root = ET.Element("testsuites", {"name": "robustrank", "tests": suite.get("tests"), "failures": suite.get("failures"), "errors": suite.get("errors")})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_safe_gate(gate: GateResult) -> GateResult:
    import dataclasses

    conds = tuple(
        dataclasses.replace(c, name=xml_safe(c.name), check=xml_safe(c.check), message=xml_safe(c.message), task=None if c.task is None else xml_safe(c.task))
        for c in gate.conditions
    )
    return dataclasses.replace(
        gate, conditions=conds, results_name=xml_safe(gate.results_name),
        baseline_path=None if gate.baseline_path is None else xml_safe(gate.baseline_path),
    )


def write_gate_outputs(gate: GateResult, *, markdown: str | Path | None = None, junit: str | Path | None = None, json_path: str | Path | None = None) -> list[Path]:
    """Write the requested outputs atomically; returns the paths written."""

    written = []
    for path, text in ((markdown, gate_markdown), (junit, gate_junit)):
        if path is not None:
            written.append(_write_text(Path(path), text(gate)))
    if json_path is not None:
        written.append(write_json_atomic(json_path, gate.to_dict()))
    return written


def _write_text(path: Path, text: str) -> Path:

    return write_text_atomic(path, text)
