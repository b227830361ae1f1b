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
