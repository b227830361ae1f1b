"""The shared artefact cache: a hit skips training, a bad entry is never used, writes are atomic."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from robustrank.adversarial.distillation import DistillationConfig, ScoredList, train_distilled_ranker
from robustrank.adversarial.training import PairwiseExample, TrainingConfig, train_pairwise_cross_encoder
from robustrank.sharedcache import ENV_VAR, SharedCache, cache_root, using_cache_dir

EXAMPLES = [
    PairwiseExample("transistor noise", "noise in transistor amplifiers", "boundary layer flat plate"),
    PairwiseExample("microwave liquids", "dielectric constant of liquids microwave", "library catalogue indexing"),
]
LISTS = [ScoredList("microwave liquids", ("liquids microwave", "a computer", "noise"), (3.0, 1.0, 0.5))] * 2


def _cfg(init):
    return TrainingConfig(init_model=str(init), epochs=1, batch_size=2, max_length=16, seed=3)


def _count_training(monkeypatch):
    """Count model loads for training (the expensive part a cache hit must skip)."""
    import transformers

    calls = []
    real = transformers.AutoModelForSequenceClassification.from_pretrained

    def counting(*a, **k):
        calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", counting)
    return calls


def test_second_output_folder_reuses_the_trained_model(tmp_path, tiny_bi_encoder, monkeypatch):
    calls = _count_training(monkeypatch)
    first = train_pairwise_cross_encoder(EXAMPLES, _cfg(tiny_bi_encoder), tmp_path / "out1" / "artifacts", device="cpu")
    assert len(calls) == 1
    entry = cache_root() / "pairwise-cross-encoder" / first.name
    assert (entry / "MANIFEST.json").is_file() and (entry / "model.safetensors").is_file()
    second = train_pairwise_cross_encoder(EXAMPLES, _cfg(tiny_bi_encoder), tmp_path / "out2" / "artifacts", device="cpu")
    assert len(calls) == 1  # no training: restored from the shared cache
    assert second.parent == tmp_path / "out2" / "artifacts"  # the output stays self-contained
    assert (second / "model.safetensors").read_bytes() == (first / "model.safetensors").read_bytes()
    assert not (second / "MANIFEST.json").exists() and (second / "training.json").is_file()


def test_distilled_student_is_shared_too(tmp_path, tiny_bi_encoder, monkeypatch):
    cfg = DistillationConfig(init_model=str(tiny_bi_encoder), max_steps=2, docs_per_list=3, max_length=16)
    calls = _count_training(monkeypatch)
    train_distilled_ranker(LISTS, cfg, tmp_path / "a", device="cpu")
    train_distilled_ranker(LISTS, cfg, tmp_path / "b", device="cpu")
    assert len(calls) == 1 and (tmp_path / "b").is_dir()


@pytest.mark.parametrize("damage", ["flip_byte", "drop_file", "no_manifest", "bad_manifest", "pickle_file"])
def test_corrupt_or_partial_entry_is_never_used(tmp_path, tiny_bi_encoder, monkeypatch, damage):
    first = train_pairwise_cross_encoder(EXAMPLES, _cfg(tiny_bi_encoder), tmp_path / "out1", device="cpu")
    entry = cache_root() / "pairwise-cross-encoder" / first.name
    weights = entry / "model.safetensors"
    if damage == "flip_byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.unlink()  # a hard link to out1's file: replace it, do not write through it
        weights.write_bytes(bytes(data))
    elif damage == "drop_file":
        weights.unlink()
    elif damage == "no_manifest":
        (entry / "MANIFEST.json").unlink()
    elif damage == "bad_manifest":
        (entry / "MANIFEST.json").write_text("{not json")
    else:  # a consistent manifest, but a file torch would unpickle
        (entry / "pytorch_model.bin").write_bytes(b"pickle")
        manifest = json.loads((entry / "MANIFEST.json").read_text())
        manifest["pytorch_model.bin"] = hashlib.sha256(b"pickle").hexdigest()
        (entry / "MANIFEST.json").write_text(json.dumps(manifest))
    calls = _count_training(monkeypatch)
    second = train_pairwise_cross_encoder(EXAMPLES, _cfg(tiny_bi_encoder), tmp_path / "out2", device="cpu")
    assert len(calls) == 1  # trained again
    assert (second / "model.safetensors").read_bytes() == (first / "model.safetensors").read_bytes()  # same seed, same bytes


def test_records_verified_and_atomic(tmp_path):
    cache = SharedCache(tmp_path / "c")
    cache.put_json("bm25-column", "k", {"rows": [1, 2.5, None]})
    assert cache.get_json("bm25-column", "k") == {"rows": [1, 2.5, None]}
    path = tmp_path / "c" / "bm25-column" / "k.json"
    wrapper = json.loads(path.read_text())
    wrapper["payload"]["rows"][0] = 9
    path.write_text(json.dumps(wrapper))
    assert cache.get_json("bm25-column", "k") is None
    path.write_text(path.read_text()[:10])  # truncated
    assert cache.get_json("bm25-column", "k") is None
    assert not [p for p in (tmp_path / "c" / "bm25-column").iterdir() if p.name.startswith(".tmp-")]


def test_unsafe_root_is_not_used(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    cache = SharedCache(root)
    assert not cache.usable() and cache.put_json("k", "k", 1) is None and cache.get_json("k", "k") is None
    os.chmod(root, 0o700)
    assert cache.usable()


def test_cache_folder_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    with using_cache_dir(str(tmp_path / "cfg")):
        assert cache_root() == tmp_path / "cfg"
        with using_cache_dir("off"):
            assert cache_root() is None
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(ENV_VAR)
    assert str(cache_root()).endswith(os.path.join(".cache", "robustrank"))
    monkeypatch.setenv(ENV_VAR, "off")
    assert cache_root() is None
