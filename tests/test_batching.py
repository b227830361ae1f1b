"""Token-count sorted batching: less padding, scores in input order, batch size per device."""

from __future__ import annotations

import numpy as np
import pytest

from robustrank.rankers.batching import default_batch_size, pick_batch_size, token_sorted_batches

# lengths deliberately out of order, so sorting permutes the inputs
TEXTS = [
    "a computer",
    "transistor amplifiers noise at high frequencies measured with a microwave bridge and liquids",
    "noise",
    "microwave measurement of liquids at high frequencies",
    "",
    "the amplifiers",
    "query document script alert microwave transistor noise of liquids",
]


@pytest.fixture(scope="module")
def tok(tiny_cross_encoder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_cross_encoder))


def test_batches_cover_inputs_sorted_by_token_count_and_pad_less(tok):
    n_tokens = [len(ids) for ids in tok(TEXTS, truncation=True, max_length=64)["input_ids"]]
    seen, padded_sorted = [], 0
    batches = list(token_sorted_batches(tok, TEXTS, None, batch_size=3, max_length=64))
    for idx, enc in batches:
        seen += idx
        assert enc["input_ids"].shape == enc["attention_mask"].shape == (len(idx), max(n_tokens[i] for i in idx))
        assert enc["attention_mask"].sum(1).tolist() == [n_tokens[i] for i in idx]
        padded_sorted += enc["input_ids"].size
    assert sorted(seen) == list(range(len(TEXTS)))
    assert [n_tokens[i] for i in seen] == sorted(n_tokens, reverse=True)
    padded_input_order = sum(len(n_tokens[s : s + 3]) * max(n_tokens[s : s + 3]) for s in range(0, len(TEXTS), 3))
    assert padded_sorted < padded_input_order


def test_pairs_truncate_to_max_length(tok):
    ((idx, enc),) = list(token_sorted_batches(tok, ["q " * 50], ["d " * 50], batch_size=4, max_length=16))
    assert enc["input_ids"].shape == (1, 16) and set(enc["token_type_ids"][0].tolist()) == {0, 1}


def _input_order_reference(model_dir, pairs, kind):
    """Each input alone (no padding at all), in input order: the scores sorting must reproduce."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    t = AutoTokenizer.from_pretrained(str(model_dir))
    out = []
    with torch.inference_mode():
        if kind == "cross":
            m = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
            for q, d in pairs:
                out.append(float(m(**t([q], [d], truncation=True, max_length=256, return_tensors="pt")).logits[0, 0]))
        else:
            m = AutoModel.from_pretrained(str(model_dir)).eval()

            def emb(x):
                h = m(**t([x], truncation=True, max_length=256, return_tensors="pt")).last_hidden_state[0].mean(0)
                return torch.nn.functional.normalize(h, dim=-1)

            out = [float(emb(q) @ emb(d)) for q, d in pairs]
    return np.array(out)


def test_cross_encoder_sorted_scores_come_back_in_input_order(tiny_cross_encoder):
    from robustrank.rankers.hf import CrossEncoderRanker

    pairs = [(f"q{i % 2} noise", t) for i, t in enumerate(TEXTS)]
    ref = _input_order_reference(tiny_cross_encoder, pairs, "cross")
    assert len(set(np.round(ref, 5))) == len(ref)  # distinct scores: a permutation would show
    got = CrossEncoderRanker(str(tiny_cross_encoder), batch_size=3, device="cpu").score_pairs(pairs)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_bi_encoder_sorted_scores_come_back_in_input_order(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    pairs = [("microwave liquids", t) for t in TEXTS if t]
    ref = _input_order_reference(tiny_bi_encoder, pairs, "bi")
    got = BiEncoderRanker(str(tiny_bi_encoder), batch_size=2, device="cpu").score_pairs(pairs)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_batch_size_per_device_unless_set(tiny_cross_encoder):
    from robustrank.config import RankerConfig
    from robustrank.rankers.hf import CrossEncoderRanker

    assert default_batch_size("cpu") == 16 and default_batch_size("cuda:1") == 64
    assert pick_batch_size(None, "cpu") == 16 and pick_batch_size(7, "cuda") == 7
    assert RankerConfig(model="m").batch_size is None
    assert CrossEncoderRanker(str(tiny_cross_encoder), device="cpu").batch_size == 16
    assert CrossEncoderRanker(str(tiny_cross_encoder), device="cpu", batch_size=5).batch_size == 5
