"""Pairwise cross-encoder training (surrogate / imitation models) on a tiny random BERT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from robustrank.adversarial.training import (
    PairwiseExample,
    TrainingConfig,
    train_pairwise_cross_encoder,
)

TINY = Path(__file__).parent / "fixtures" / "tiny"


def test_training_learns_preferences_and_is_cached(tmp_path, tiny_bi_encoder):
    from robustrank.rankers.hf import CrossEncoderRanker

    examples = [
        PairwiseExample("transistor noise", "noise in transistor amplifiers", "boundary layer flat plate"),
        PairwiseExample("microwave liquids", "dielectric constant of liquids microwave", "library catalogue indexing"),
        PairwiseExample("indexing documents", "automatic indexing of documents", "heat transfer turbulent"),
    ] * 4
    cfg = TrainingConfig(init_model=str(tiny_bi_encoder), epochs=15, batch_size=4, learning_rate=2e-3, max_length=32, seed=1)
    path = train_pairwise_cross_encoder(examples, cfg, tmp_path / "cache", device="cpu")
    info = json.loads((path / "training.json").read_text())
    assert info["examples"] == 12 and info["steps"] == 45
    assert info["final_loss_mean_last_10pct"] < info["first_loss"]
    ce = CrossEncoderRanker(str(path), device="cpu")
    for ex in examples[:3]:
        better, worse = ce.score(ex.query, [ex.better, ex.worse])
        assert better > worse
    mtime = (path / "model.safetensors").stat().st_mtime
    assert train_pairwise_cross_encoder(examples, cfg, tmp_path / "cache", device="cpu") == path
    assert (path / "model.safetensors").stat().st_mtime == mtime
    other = train_pairwise_cross_encoder(examples, TrainingConfig(**{**cfg.__dict__, "max_steps": 2}), tmp_path / "cache", device="cpu")
    assert other != path


def test_distillation_learns_the_victims_scores(tmp_path, tiny_bi_encoder, tiny_bi_encoder_b):
    """A bi-encoder student from another random init distils a bi-encoder victim: held-out fidelity rises."""
    from robustrank.adversarial.distillation import DistillationConfig, ScoredList, train_distilled_ranker
    from robustrank.adversarial.fidelity import measure_fidelity
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.text import words

    victim = BiEncoderRanker(str(tiny_bi_encoder), device="cpu")
    docs = {}
    for line in (TINY / "corpus.jsonl").read_text().splitlines():
        o = json.loads(line)
        docs[o["_id"]] = (o.get("title", "") + " " + o["text"]).strip()
    vocab = sorted({w for t in docs.values() for w in words(t)})
    rng = np.random.default_rng(0)
    queries = {f"q{i}": " ".join(rng.choice(vocab, size=3)) for i in range(40)}
    ids = sorted(docs)
    rankings = {}
    for q, text in queries.items():
        s = victim.score(text, [docs[d] for d in ids])
        rankings[q] = sorted(zip(ids, s.tolist()), key=lambda x: (-x[1], x[0]))
    train = {q: queries[q] for q in list(queries)[:30]}
    held = {q: queries[q] for q in list(queries)[30:]}
    lists = [ScoredList(train[q], tuple(docs[d] for d, _ in rankings[q]), tuple(s for _, s in rankings[q])) for q in train]
    cfg = DistillationConfig(
        init_model=str(tiny_bi_encoder_b), architecture="bi-encoder", max_steps=120, lists_per_step=2, docs_per_list=8,
        learning_rate=3e-3, max_length=32, seed=0,
    )
    before = measure_fidelity(BiEncoderRanker(str(tiny_bi_encoder_b), device="cpu").score, rankings, held, docs, depth=12, k=3)
    path = train_distilled_ranker(lists, cfg, tmp_path / "cache", device="cpu")
    info = json.loads((path / "training.json").read_text())
    assert info["mode"] == "distillation" and info["steps"] == 120 and info["lists"] == 30 and info["logit_scale"] > 0
    student = BiEncoderRanker(str(path), device="cpu")  # sentence-transformers layout: loads as a bi-encoder
    after = measure_fidelity(student.score, rankings, held, docs, depth=12, k=3)
    assert after["queries"] == 10 and after["spearman_against"] == "victim scores"
    assert after["spearman"]["mean"] > before["spearman"]["mean"] + 0.2
    assert after["spearman"]["ci_low"] <= after["spearman"]["mean"] <= after["spearman"]["ci_high"]
    # cached by content: the same inputs reuse the folder
    assert train_distilled_ranker(lists, cfg, tmp_path / "cache", device="cpu") == path


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_activation_checkpointing_trains_the_same_weights(tmp_path, monkeypatch, tiny_bi_encoder, tiny_cross_encoder):
    """Checkpointed activations (the default, for memory) recompute each layer in the backward
    pass with dropout replayed: the trained weights equal those of plain backpropagation, for
    both student architectures, and the saved config does not carry the training-time setting."""
    from robustrank.adversarial.distillation import DistillationConfig, ScoredList, train_distilled_ranker

    monkeypatch.setenv("ROBUSTRANK_CACHE_DIR", "off")  # both runs train
    docs = ["noise in transistor amplifiers", "boundary layer flat plate", "dielectric constant of liquids",
            "automatic indexing of documents", "heat transfer turbulent flow", "library catalogue indexing"]
    lists = [ScoredList(q, tuple(docs), tuple(float(s) for s in np.random.default_rng(i).normal(size=len(docs))))
             for i, q in enumerate(["transistor noise", "indexing documents", "heat transfer"])]
    for arch, init in (("cross-encoder", tiny_cross_encoder), ("bi-encoder", tiny_bi_encoder)):
        cfg = DistillationConfig(init_model=str(init), architecture=arch, max_steps=6, docs_per_list=4,
                                 learning_rate=1e-2, max_length=32, seed=3)
        on = train_distilled_ranker(lists, cfg, tmp_path / arch / "on", device="cpu")
        off = train_distilled_ranker(lists, cfg, tmp_path / arch / "off", device="cpu", checkpoint_activations=False)
        assert json.loads((on / "training.json").read_text())["activation_checkpointing"] is True
        assert json.loads((off / "training.json").read_text())["activation_checkpointing"] is False
        a, b = _weights(on), _weights(off)
        assert a.keys() == b.keys()
        init_w = _weights(Path(init))
        moved = [k for k in a if k in init_w and a[k].shape == init_w[k].shape and not bool((a[k] == init_w[k]).all())]
        assert moved, "training changed no weight: the comparison would be vacuous"
        for k in a:
            assert bool((a[k] == b[k]).all()), f"{arch}: {k} differs with checkpointed activations"
        assert "gradient_checkpointing" not in json.loads((on / "config.json").read_text())
