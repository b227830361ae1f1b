"""Training memory: length-grouped batches, gradient accumulation, memory given back."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from robustrank.adversarial.training import PairwiseExample, TrainingConfig, _epoch_batches, train_pairwise_cross_encoder
from robustrank.memory import release_memory


def _examples(n=200, seed=0):
    rng = np.random.default_rng(seed)
    words = "noise transistor microwave liquids indexing documents heat transfer boundary layer".split()
    return [PairwiseExample(" ".join(rng.choice(words, 2)), " ".join(rng.choice(words, int(rng.integers(1, 60)))), " ".join(rng.choice(words, int(rng.integers(1, 60)))))
            for _ in range(n)]


def _padded(examples, batches):
    size = lambda i: len(examples[i].query) + max(len(examples[i].better), len(examples[i].worse))  # noqa: E731
    return sum(len(b) * max(size(i) for i in b) for b in batches)


def test_length_grouped_batches_cover_the_epoch_with_less_padding():
    ex = _examples()
    order = torch.randperm(len(ex), generator=torch.Generator().manual_seed(0)).tolist()
    grouped = _epoch_batches(ex, order, TrainingConfig(batch_size=8), torch.Generator().manual_seed(1))
    plain = _epoch_batches(ex, order, TrainingConfig(batch_size=8, group_by_length=False), torch.Generator().manual_seed(1))
    assert sorted(i for b in grouped for i in b) == list(range(len(ex))) and all(len(b) <= 8 for b in grouped)
    assert _padded(ex, grouped) < 0.8 * _padded(ex, plain)
    assert plain == [order[i : i + 8] for i in range(0, len(order), 8)]


def test_gradient_accumulation_gives_the_same_step(tmp_path, tiny_bi_encoder, monkeypatch):
    # no dropout anywhere, so both runs compute the same function
    monkeypatch.setattr(torch.nn.functional, "dropout", lambda x, p=0.5, training=True, inplace=False: x)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", lambda *a, **k: sdpa(*a, **{**k, "dropout_p": 0.0}))
    ex = _examples(8)
    out = {}
    for acc in (1, 4):
        cfg = TrainingConfig(init_model=str(tiny_bi_encoder), batch_size=8, max_steps=1, max_length=32, grad_accumulation=acc, seed=2)
        path = train_pairwise_cross_encoder(ex, cfg, tmp_path / str(acc), device="cpu")
        from safetensors.torch import load_file

        out[acc] = (json.loads((path / "training.json").read_text())["first_loss"], load_file(str(path / "model.safetensors")))
    assert out[1][0] == pytest.approx(out[4][0], rel=1e-5)
    for name, w in out[1][1].items():
        torch.testing.assert_close(w, out[4][1][name], atol=2e-5, rtol=1e-4)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_memory_trims_the_heap():
    assert release_memory() is True
