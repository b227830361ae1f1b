"""HTML report: rendered from a fixture results.json alone — every number traceable to the
JSON, markup in user text inert (tables and SVG figures), self-contained, verdict banner."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from conftest import FULL_RESULTS as FULL

from robustrank.cli import main
from robustrank.report import plots, render_compliance_html, render_html


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_html(results, results_path=FULL)


class _Text(HTMLParser):
    """Visible text of a page, without <svg>, <style> and <pre> (the config dump) content."""

    def __init__(self):
        super().__init__()
        self.skip, self.parts, self.tags = 0, [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("svg", "style", "pre", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("svg", "style", "pre", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def _leaves(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def _renderings(results) -> set[str]:
    """Every way the templates may print a number of the results (fixed digits, percent)."""
    out: set[str] = set()
    for leaf in _leaves(results):
        if isinstance(leaf, bool):
            continue
        if isinstance(leaf, (int, float)):
            for d in range(0, 5):
                out.add(f"{leaf:.{d}f}")
                out.add(f"{leaf * 100:.{d}f}")
            out.add(str(leaf))
        elif isinstance(leaf, str):
            out.update(re.findall(r"-?\d+(?:\.\d+)?", leaf))
    return out


def test_every_decimal_number_comes_from_the_results(results, page):
    text = visible_text(page)
    allowed = _renderings(results)
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.])", text)
    assert len(numbers) > 200  # the page is full of numbers ...
    stray = sorted({n for n in numbers if n not in allowed and n.lstrip("-") not in allowed})
    assert not stray, f"numbers not traceable to results.json: {stray[:20]}"


def test_key_values_appear(results, page):
    t1 = results["tasks"]["t1"]["result"]["measures"]["nDCG@10"]
    t2 = results["tasks"]["t2"]["result"]["variations"]["typo"]["measures"]["nDCG@10"]
    t3 = results["tasks"]["t3"]["result"]["domains"]["cranfield"]["measures"]["nDCG@10"]["shift"]
    for v in (t1["neural"]["mean"], t1["neural"]["ci_low"], t1["bm25"]["ci_high"], t1["comparison"]["mean_diff"],
              t2["neural"]["drop"], t2["bm25"]["drop_ci_low"], t3["gap"], t3["gap_ci_low"]):
        assert f"{v:.3f}" in page
    assert f"{t2['neural']['relative_drop'] * 100:.1f}%" in page
    assert "75.0%" in page and "62.5%" in page  # PRADA success neural vs BM25
    assert "0.375" in page and "1312.5" in page and "10500" in page  # CRQ@10, forwards
    assert results["fingerprints"]["model"] and all(h in page for h in results["fingerprints"]["model"].values())
    for files in results["fingerprints"]["datasets"].values():
        assert all(h in page for h in files.values())


def test_sections_and_figures(page):
    for heading in ("Release gate", "Summary", "T1 — I.I.D.", "T2 — Unseen query", "T3 — Unseen domains",
                    "T4 — Adversarial attacks", "Certification", "Provenance", "Worst queries", "Query variants beside"):
        assert heading in page, heading
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    # t1 (1) + t2 (4 measures) + t3 (4) + t4 (2 attacks) + certify (1)
    assert len(svgs) == 12
    for svg in svgs:
        ET.fromstring(svg)  # well-formed XML, no prolog
    assert "not_applicable" in page and "RuntimeError: stuffing exploded" in page
    assert "<del>storage</del>" in page and "<ins>memory</ins>" in page  # the adversarial diff view
    assert "<ins>microwave techniques</ins>" in page  # an inserted trigger


def test_self_contained(page):
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert "Content-Security-Policy" in page


def test_markup_in_user_text_is_inert(page):
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;xss-query&#34;)" in page  # worst-queries table
    assert "&lt;script&gt;alert(&#39;xss-doc&#39;)" in page  # adversarial document diff
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # T2 variant


def test_markup_in_plot_labels_is_escaped(results):
    evil = "<script>alert('svg')</script>"
    t3 = results["tasks"]["t3"]["result"]
    domains = {evil: t3["domains"]["cranfield"]}
    svg = plots.domain_shift(t3["in_domain"], domains, "nDCG@10")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)
    systems = copy.deepcopy(results["tasks"]["t4"]["result"]["attacks"]["prada_wu_2023"]["systems"])
    systems[evil] = systems.pop("neural")
    svg = plots.attack_ranks(systems)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    variations = {evil: results["tasks"]["t2"]["result"]["variations"]["typo"]}
    svg = plots.variation_drops(variations, "nDCG@10")
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_plots_skip_missing_data():
    assert plots.t1_distribution({"neural": {}, "bm25": {}}, ["nDCG@10"]) is None
    assert plots.certify_curve({}) is None
    assert plots.attack_ranks({"neural": {"status": "error", "error": "x"}}) is None
    assert plots.domain_shift({"measures": {}}, {"a": {"status": "error"}}, "nDCG@10") is None


def test_deterministic(results, page):
    assert render_html(results, results_path=FULL) == page


def test_verdict_banner(results, page):
    assert 'Release gate: <span class="WARN">WARN</span>' in page  # the policy recorded in the fixture
    bare = copy.deepcopy(results)
    bare["config"]["gate"] = {"conditions": []}
    assert "no verdict" in render_html(bare, figures=False)
    failing = copy.deepcopy(results)
    failing["tasks"]["t4"] = {"status": "error", "error": "Boom: <b>bad</b>", "traceback": "Traceback <tb>", "duration_s": 1.0}
    html = render_html(failing, figures=False)
    assert 'Release gate: <span class="ERROR">ERROR</span>' in html
    assert "task t4 errored: Boom: &lt;b&gt;bad&lt;/b&gt;" in html and "Traceback &lt;tb&gt;" in html
    assert "T4 — Adversarial attacks" not in html


def test_minimal_results_render(results):
    """A T1-only audit (as the walking skeleton wrote) and a T3 with an errored domain render."""
    small = copy.deepcopy(results)
    for key in ("t2", "t3", "t4", "certify"):
        small["tasks"].pop(key)
    small["config"]["gate"] = {"conditions": []}
    html = render_html(small)
    assert "T1 — I.I.D." in html and "T2 —" not in html and html.count("<svg") == 1
    small["tasks"]["fairness"] = {"status": "ok", "title": "A plugin task", "duration_s": 1.0, "result": {
        "metrics": {"fairness.parity": 0.8125},
        "per_query": [{"query_id": "q1", "system": "neural", "measure": "parity", "value": 0.5}]}}
    html = render_html(small, figures=False)  # not installed here: the generic section
    assert "fairness.parity" in html and "0.8125" in html and "ships no report fragment" in html
    assert "1 per-query records over 1 queries" in html
    broken = copy.deepcopy(results)
    broken["tasks"]["t3"]["result"]["domains"]["cisi"] = {"status": "error", "error": "ValueError: no judged queries"}
    html = render_html(broken, figures=False)
    assert "error: ValueError: no judged queries" in html


def test_report_cli(tmp_path):
    res = CliRunner().invoke(main, ["report", str(FULL), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "r.html").read_text()
    assert "results.json sha256" in html and "T4 — Adversarial attacks" in html
    res = CliRunner().invoke(main, ["report", str(FULL), "--compliance", "-o", str(tmp_path / "c.html")])
    assert res.exit_code == 0 and "Robustness audit record" in (tmp_path / "c.html").read_text()


def test_missing_fields_fall_back_to_the_generic_section(results, caplog):
    """A fragment that meets a result without a field it uses costs that section only: it is
    replaced by the generic section (status, metrics) with a visible notice naming the field."""
    partial = copy.deepcopy(results)
    del partial["tasks"]["t4"]["result"]["target_protocol"]
    html = render_html(partial, figures=False)
    assert "could not render the result" in html and "target_protocol" in html
    assert "T4 — Adversarial attacks" not in html and "t4 — Adversarial robustness (T4)" in html
    assert "t4.prada_wu_2023.success_rate" in html  # the generic section lists the task's metrics
    assert "Certification — certified top-K" in html and "T1 — I.I.D." in html  # the others are untouched
    assert "could not render its result" in caplog.text
    assert "could not render the result" not in render_html(results, figures=False)


def test_unrenderable_section_is_reported_not_fatal(results):
    broken = copy.deepcopy(results)
    broken["tasks"]["t1"]["result"] = {"metrics": {}}  # no measures at all
    html = render_html(broken, figures=False)
    assert "could not render the result" in html
    assert "T2 — Unseen query" in html  # the other sections still render
    compliance = render_compliance_html(_without(results, "t4", "target_protocol"), evaluate_policy=False)
    assert "Task t4: this section could not be rendered" in compliance and "Certification" in compliance


def _without(results, task, field):
    out = copy.deepcopy(results)
    del out["tasks"][task]["result"][field]
    return out


def test_sections_come_from_the_task_classes(results, monkeypatch):
    """The page knows no task: a task's section is its class's fragment, found through the registry."""
    from robustrank.report import view
    from robustrank.tasks.iid import IIDTask

    page = render_html(results, figures=False)
    assert "T1 — I.I.D." in page
    real = view.task_class

    class Bare:  # the same task key, a class without report hooks
        pass

    monkeypatch.setattr(view, "task_class", lambda key: Bare if key == "t1" else real(key))
    bare = render_html(results, figures=False)
    assert "T1 — I.I.D." not in bare and "t1 — I.I.D. performance variance" in bare and "ships no report fragment" in bare
    assert "t1.nDCG@10.mean" in bare and "T2 — Unseen query" in bare
    assert IIDTask.report_fragment == "templates/t1.html.j2"


def test_certify_section_reads_its_defences_and_the_t4_join_generically(results):
    """Defences render by what they report (effectiveness / detection), under any name; a screen
    that used T4's adversarial documents shows its rate per T4 attack and says so."""
    joined = copy.deepcopy(results)
    cert = joined["tasks"]["certify"]["result"]
    cert["defenses"]["my_screen"] = {"role": "screen", "threshold": 99.5, "false_positive_rate": 0.0625, "source": "t4",
                                     "detection_rate": {"prada_wu_2023": 0.8125}, "n_adversarial": {"prada_wu_2023": 16},
                                     "originals_flagged_rate": {"prada_wu_2023": 0.1875}}
    cert["defenses"]["broken"] = {"status": "error", "error": "ValueError: <no docs>"}
    html = render_html(joined, figures=False, evaluate_policy=False)
    section = html[html.index('id="task-certify"'):]
    assert "my_screen (threshold 99.5, FPR 6.2%)" in section and "81.2%" in section and "18.8%" in section
    assert "(n=16)" in section and "those of task t4 in this audit" in section
    assert "broken" in section and "ValueError: &lt;no docs&gt;" in section
    assert "certdr_wu_2022 (200 samples)" in section  # the fixture's ranker defence, unchanged
