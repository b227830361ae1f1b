"""The report in a real browser: headless Debian chromium loads the fixture report without
console errors, renders the expected DOM, and produces a non-trivial screenshot.

Run: ``pytest -m browser`` (skipped when ``chromium`` is not installed: apt-get install chromium).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from robustrank.report import render_report

FULL = Path(__file__).parent / "fixtures" / "results" / "full.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


def _console_problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line or "Content Security Policy" in line]


def test_report_in_headless_chromium(tmp_path):
    page = render_report(json.loads(FULL.read_text()), tmp_path / "report.html", results_path=FULL)
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not _console_problems(dom.stderr), _console_problems(dom.stderr)
    assert "Release gate:" in dom.stdout and dom.stdout.count("<svg") == 12
    assert "<script" not in dom.stdout  # the escaped payloads stayed text
    assert "&lt;script&gt;alert(\"xss-query\")" in dom.stdout

    shot = tmp_path / "shot.png"
    res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert not _console_problems(res.stderr)
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 2000)
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 100  # text, tables, banner and figures, not a blank page
    dominant = max(colours)[0] / (img.size[0] * img.size[1])
    assert dominant < 0.9


_MEASURE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{src}" style="width:1280px;height:900px;border:0"></iframe><pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {{
  var d = this.contentDocument, out = {{rows: []}};
  out.verdict = d.getElementById("verdict").getBoundingClientRect().bottom;
  out.heading = d.querySelector("#scorecard h2").getBoundingClientRect().bottom;
  d.querySelectorAll("#scorecard > table.findings tr.finding").forEach(function (tr) {{
    var a = {{}};
    for (var i = 0; i < tr.attributes.length; i++) a[tr.attributes[i].name] = tr.attributes[i].value;
    a.bottom = tr.getBoundingClientRect().bottom;
    out.rows.push(a);
  }});
  document.getElementById("out").textContent = JSON.stringify(out);
}});
</script></body></html>"""


def test_first_screen_shows_verdict_and_top_findings_equal_to_results(tmp_path):
    """At 1280x900 the verdict and the scorecard's top findings are on the first screen, and every
    number the scorecard shows (data attributes of each row) equals results.json."""
    import re

    results = json.loads(FULL.read_text())
    page = render_report(results, tmp_path / "report.html", results_path=FULL)
    wrapper = tmp_path / "measure.html"  # a script outside the report (whose CSP forbids scripts) reads its layout
    wrapper.write_text(_MEASURE.format(src=page.as_uri()))
    res = _chromium(tmp_path, "--allow-file-access-from-files", "--virtual-time-budget=5000", "--window-size=1280,1000", "--dump-dom", wrapper.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', res.stdout, re.S)
    assert found and found.group(1) != "pending", res.stdout[-2000:]
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert out["verdict"] <= 900 and out["heading"] <= 900
    rows = out["rows"]
    assert len(rows) >= 3 and all(r["bottom"] <= 900 for r in rows[:3]), rows  # the top findings on the first screen
    metrics, n_cert = results["metrics"], results["tasks"]["certify"]["result"]["n_queries"]
    for r in rows:
        key = r["data-key"]
        assert key in metrics, key
        value = float(r["data-value"])
        if ".verdict." in key:
            assert value * n_cert == pytest.approx(metrics[key])
        else:
            assert value == pytest.approx(metrics[key]), key
        for side in ("ci-low", "ci-high"):
            mk = f"{key}.{side.replace('-', '_')}"
            if mk in metrics:
                assert float(r[f"data-{side}"]) == pytest.approx(metrics[mk]), mk
        if "data-bm25-value" in r and key.startswith("t4."):
            attack = key.split(".")[1]
            assert float(r["data-bm25-value"]) == pytest.approx(metrics[f"t4.{attack}.bm25_top10_rate"])
