"""Built-in defence plugins: CertDR smoothing (RankerDefense) and the perplexity/stuffing screen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robustrank.api import DefenseEnvironment, DocumentScreen, Lexicon, RankerDefense
from robustrank.plugins import load_plugin

TINY = Path(__file__).parent / "fixtures" / "tiny"


def _env(tmp_path, lexicon) -> DefenseEnvironment:
    return DefenseEnvironment(documents={}, lexicon=lexicon, seed=5, artifact_dir=lambda kind, key: tmp_path / kind / key)


@pytest.fixture()
def lexicon(tmp_path) -> Lexicon:
    path = tmp_path / "lex.tsv"
    path.write_text('#robustrank-lexicon\t1\t{}\nmicrowave\tradio:0.9\nmeasurement\tmeasuring:0.8 gauging:0.7\n')
    return Lexicon.load(path)


class WordCounter:
    """A transparent cosine-like ranker: share of query words in the doc, mapped into [-1, 1]."""

    name = "counter"
    similarity = "cosine"

    def __init__(self):
        self.pairs = []

    def score_pairs(self, pairs):
        self.pairs += list(pairs)
        out = []
        for q, d in pairs:
            qw, dw = set(q.lower().split()), set(d.lower().split())
            out.append(2 * len(qw & dw) / max(len(qw), 1) - 1)
        return np.array(out)

    def score(self, query, docs):
        return self.score_pairs([(query, d) for d in docs])


def test_plugins_are_registered_and_implement_the_api():
    cls, _ = load_plugin("defense", "certdr_wu_2022")
    assert isinstance(cls(), RankerDefense)
    cls, _ = load_plugin("defense", "perplexity_detector")
    assert isinstance(cls(), DocumentScreen)


def test_certdr_smoothed_score_is_mean_of_mapped_scores(tmp_path, lexicon):
    from robustrank_defenses.certdr import CertDRSmoothing

    inner = WordCounter()
    smoothed = CertDRSmoothing({"samples": 8, "min_similarity": 0.5}).wrap(inner, _env(tmp_path, lexicon))
    q, d = "microwave measurement", "microwave measurement of liquids"
    s = smoothed.score(q, [d, "poetry"])
    assert s.shape == (2,) and np.all((0 <= s) & (s <= 1))
    copies = [p[1] for p in inner.pairs[:8]]
    assert len(set(copies)) > 1 and all(c.endswith(" of liquids") for c in copies)
    expected = np.mean([(inner.score_pairs([(q, c)])[0] + 1) / 2 for c in copies])
    assert s[0] == pytest.approx(expected)
    assert s[1] == pytest.approx(0.0)  # nothing to perturb, no query word: (-1 + 1) / 2
    # deterministic per (query, doc): the same pair scores the same, batched or not
    assert smoothed.score_pairs([(q, d)])[0] == pytest.approx(s[0])
    assert smoothed.forwards == 24
    assert smoothed.describe()["samples"] == 8 and smoothed.name == "counter+certdr_wu_2022"
    # the smoothed score of the clean document is below the unsmoothed one (substitutes miss the query)
    assert s[0] < (inner.score(q, [d])[0] + 1) / 2


def test_certdr_options_are_strict():
    from robustrank_defenses.certdr import CertDRSmoothing

    with pytest.raises(Exception, match="unknown|extra"):
        CertDRSmoothing({"sample": 3})


def _corpus() -> list[str]:
    lines = (TINY / "corpus.jsonl").read_text().splitlines()
    return [(json.loads(line)["title"] + " " + json.loads(line)["text"]).strip() for line in lines]


def test_detector_flags_stuffing_and_gibberish():
    from robustrank_defenses.detector import StuffingDetector

    rng = np.random.default_rng(0)
    base = _corpus()
    # a clean "collection": sentences recombined from the tiny corpus
    clean = []
    for _ in range(300):
        a, b = rng.choice(len(base), 2, replace=False)
        clean.append(base[a] + " " + base[b])
    det = StuffingDetector({"order": 2, "quantile": 0.95})
    with pytest.raises(RuntimeError):
        det.score(["x"])
    det.fit(clean[:200], seed=0)
    held_out = det.score(clean[200:])
    fpr = float(np.mean(held_out > det.threshold))
    assert fpr <= 0.2
    stuffed = [t + " microwave microwave microwave microwave microwave" for t in clean[200:260]]
    shuffled = [" ".join(rng.permutation(t.split())) for t in clean[200:260]]
    assert np.mean(det.score(stuffed) > det.threshold) >= 0.9
    assert np.mean(det.score(shuffled)) > np.mean(held_out)  # less fluent -> higher perplexity z
    feats = det.features(["microwave microwave microwave"])
    assert feats["stuffing"][0] == 1.0
