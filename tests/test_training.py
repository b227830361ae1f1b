"""Pairwise cross-encoder training (surrogate / imitation models) on a tiny random BERT."""

from __future__ import annotations

import json

from robustrank.adversarial.training import (
    PairwiseExample,
    TrainingConfig,
    train_pairwise_cross_encoder,
)


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
