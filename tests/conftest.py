"""Shared fixtures: a tiny BEIR collection and tiny random BERT rankers built from a config."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# never the user's ~/.cache/robustrank: each test gets its own shared cache (fixture below)
os.environ["ROBUSTRANK_CACHE_DIR"] = _SESSION_CACHE = tempfile.mkdtemp(prefix="robustrank-test-cache-")
# audits in tests compute their scores (a second run in one test must not reuse the first's);
# tests/test_score_store.py turns the persistent score store back on
os.environ["ROBUSTRANK_SCORE_STORE"] = "off"
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)  # leave no folder behind

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny"
REPO = Path(__file__).resolve().parent.parent

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab() -> list[str]:
    from robustrank.text import words

    seen: dict[str, None] = {}
    for name in ("corpus.jsonl", "queries.jsonl"):
        for line in (TINY / name).read_text().splitlines():
            obj = json.loads(line)
            for w in words(obj.get("title", "") + " " + obj["text"]):
                seen[w] = None
    extra = "the of a and with to in for by on at is are how what query document script alert".split()
    for w in extra:
        seen[w] = None
    return SPECIAL + sorted(seen) + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz0123456789")


def _build_tiny_bert(folder: Path, *, kind: str, seed: int) -> Path:
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertModel,
        BertTokenizerFast,
    )

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(folder)
    cfg = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=1,
    )
    torch.manual_seed(seed)
    model = BertModel(cfg) if kind == "bi" else BertForSequenceClassification(cfg)
    model.save_pretrained(folder, safe_serialization=True)
    if kind == "bi":
        (folder / "modules.json").write_text(json.dumps([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ]))
        (folder / "1_Pooling").mkdir(exist_ok=True)
        (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}))
    return folder


@pytest.fixture(scope="session")
def tiny_bi_encoder(tmp_path_factory) -> Path:
    """A 2-layer random BERT bi-encoder folder (mean pooling, normalised -> cosine)."""
    return _build_tiny_bert(tmp_path_factory.mktemp("tiny-bi"), kind="bi", seed=0)


@pytest.fixture(scope="session")
def tiny_bi_encoder_b(tmp_path_factory) -> Path:
    """A second checkpoint of the tiny bi-encoder (another seed)."""
    return _build_tiny_bert(tmp_path_factory.mktemp("tiny-bi-b"), kind="bi", seed=1)


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A 2-layer random BERT cross-encoder folder (one-logit head)."""
    return _build_tiny_bert(tmp_path_factory.mktemp("tiny-ce"), kind="ce", seed=0)


@pytest.fixture()
def tiny_dataset(tmp_path) -> Path:
    """A writable copy of the tiny BEIR collection (12 docs, 5 queries of which 4 judged)."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst


FULL_RESULTS = FIXTURES / "results" / "full.json"


@pytest.fixture(scope="module")
def results() -> dict:
    """The hand-made results.json fixture covering every task (tests/fixtures/results/full.json)."""
    return json.loads(FULL_RESULTS.read_text())


def tiny_t4(similarity_model: object, *, injection: str = "{enabled: false}") -> str:
    """The tiny T4 settings audit tests share (YAML lines under ``tasks.t4:``): 3 queries x 2
    targets at ranks 3-10, a budget of 2 words and 6 victim queries, bigram fluency."""
    return ("    enabled: true\n"
            "    targets: {rank_ranges: [[3, 10]], per_query: 2, queries: 3}\n"
            "    budget: {max_words: 2, max_victim_queries: 6}\n"
            f"    similarity_model: {similarity_model}\n"
            "    fluency: {order: 2}\n"
            f"    injection: {injection}\n")


def tiny_t4_only(config_text: str, similarity_model: object) -> str:
    """``tiny_config``'s text with T1 replaced by T4 alone (T2/T3 off; :func:`tiny_t4` settings;
    random substitution and prepended keyword stuffing)."""
    block = ("  t1: {enabled: false}\n  t2: {enabled: false}\n  t3: {enabled: false}\n  t4:\n"
             f"{tiny_t4(similarity_model)}    attacks:\n"
             "      - name: random_substitution\n"
             "      - name: keyword_stuffing\n"
             "        options: {mode: prepend}\n")
    return config_text.replace("  t1:\n    bootstrap_samples: 200\n", block)


def write_config(path: Path, text: str) -> Path:
    """Write a YAML config file and return its path."""
    path.write_text(text)
    return path


@pytest.fixture()
def tiny_config(tmp_path, tiny_dataset, tiny_bi_encoder) -> Path:
    """A complete audit config over the tiny collection and tiny bi-encoder."""
    return write_config(tmp_path / "model.yaml", f"""
name: tiny
seed: 7
ranker:
  type: bi-encoder
  model: {tiny_bi_encoder}
  batch_size: 4
  device: cpu
candidates:
  depth: 10
datasets:
  in_domain:
    path: {tiny_dataset}
tasks:
  t1:
    bootstrap_samples: 200
output:
  dir: {tmp_path / 'out'}
""")


@pytest.fixture(autouse=True)
def _own_shared_cache(tmp_path, monkeypatch):
    """A fresh shared artefact cache per test (robustrank.sharedcache), so no test reuses another's."""
    monkeypatch.setenv("ROBUSTRANK_CACHE_DIR", str(tmp_path / "shared-cache"))
