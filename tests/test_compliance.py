"""Compliance record: what was tested, with which model/data/tools, the policy outcome, known
limitations, and the results.json digest — all from the results file."""

from __future__ import annotations

import copy
import hashlib

import pytest
from conftest import FULL_RESULTS as FULL

from robustrank.report import render_compliance_html
from robustrank.report.view import known_limitations, sample_sizes


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_compliance_html(results, results_path=FULL)


def test_digest_ties_the_document_to_the_file(page):
    assert hashlib.sha256(FULL.read_bytes()).hexdigest() in page


def test_model_data_and_tools(results, page):
    for h in results["fingerprints"]["model"].values():
        assert h in page
    for files in results["fingerprints"]["datasets"].values():
        for h in files.values():
            assert h in page
    for pkg, version in results["environment"]["packages"].items():
        assert f"<td class=\"l\">{pkg}</td><td class=\"l\">{version or 'not installed'}</td>" in page
    assert results["robustrank_version"] in page and results["lexicon"]["sha256"] in page


def test_what_was_tested(results, page):
    for key in results["tasks"]:
        assert f"<td class=\"l\">{key}</td>" in page
    # attack budgets and certification alpha
    assert "words changed per document</td><td>3</td>" in page
    assert "victim queries per target</td><td>500</td>" in page
    assert "20.0%" in page  # max_fraction 0.2
    assert "α = 0.001" in page
    sizes = sample_sizes(results)
    assert {"task": "t1", "what": "judged queries of vaswani", "n": 8} in sizes
    assert any(s["what"] == "targets attacked: prada_wu_2023 on neural" and s["n"] == 4 for s in sizes)
    assert any(s["task"] == "certify" and s["n"] == 8 for s in sizes)


def test_policy_outcomes_listed(page):
    assert 'Release gate: <span class="WARN">WARN</span>' in page
    for check in ("t1.nDCG@10.mean &gt;= 0.40", "t4.prada_wu_2023.success_rate &lt;= 0.5", "certify.crq@10 &gt;= 0.05"):
        assert check in page
    assert page.count('<td class="l PASS">PASS</td>') == 4 and page.count('<td class="l WARN">WARN</td>') == 1


def test_known_limitations(results, page):
    lim = known_limitations(results)
    assert any("WordNet" in s and "counter-fitted" in s for s in lim)
    assert any("rank_bm25" in s and "Anserini" in s for s in lim)
    assert any("imitation" in s and "0.642" in s for s in lim)
    assert "counter-fitted" in page
    errored = copy.deepcopy(results)
    errored["tasks"]["t3"] = {"status": "error", "error": "OSError: <gone>", "traceback": "", "duration_s": 0}
    errored["config"]["lexicon"] = "my-lexicon.tsv"
    lim = known_limitations(errored)
    assert any("Task t3 errored (OSError: <gone>)" in s for s in lim)
    assert not any("counter-fitted" in s for s in lim)
    html = render_compliance_html(errored)
    assert "OSError: &lt;gone&gt;" in html and "<gone>" not in html
    assert "not computed" in html  # no file, no digest
