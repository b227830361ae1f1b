"""The persistent score store: a re-run reuses scores, never another pair's or another model's."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from robustrank.rankers.cache import CachedRanker, _key
from robustrank.rankers.score_store import ScoreStore, open_score_store, store_key
from robustrank.sharedcache import using_cache_dir

DOCS = ["alpha beta", "gamma delta", "epsilon", "zeta eta theta"]


@pytest.fixture(autouse=True)
def _store_on(monkeypatch):
    monkeypatch.delenv("ROBUSTRANK_SCORE_STORE", raising=False)


class Counting:
    """A ranker that counts the pairs it scores; its score depends on the weights given."""

    name = "counting"

    def __init__(self, weight: float = 1.0, fingerprint: str = "w1"):
        self.weight, self._fp, self.scored = weight, fingerprint, 0

    def fingerprint(self):
        return {"weights.safetensors": self._fp}

    def score(self, query, docs):
        self.scored += len(docs)
        return np.array([self.weight * (len(query) + len(d)) / 100.0 for d in docs])


def _cached(inner: Counting, settings=None) -> CachedRanker:
    cached = CachedRanker(inner)
    cached.attach_store(open_score_store(settings or {"type": "counting", "max_length": 256}, inner, inner.fingerprint()))
    return cached


def test_second_audit_scores_nothing_and_gets_the_same_scores(tmp_path):
    with using_cache_dir(tmp_path / "cache"):
        first = Counting()
        a = _cached(first)
        s1 = a.score("q", DOCS)
        a.flush()
        second = Counting()
        b = _cached(second)
        s2 = b.score("q", DOCS + ["new doc"])
    assert first.scored == 4 and second.scored == 1  # only the unseen pair was scored again
    np.testing.assert_array_equal(s1, s2[:4])
    assert b.stats()["store"]["hits"] == 4 and b.stats()["store"]["loaded"] == 4


def test_other_weights_settings_or_device_get_another_store(tmp_path):
    with using_cache_dir(tmp_path / "cache"):
        a = _cached(Counting())
        a.score("q", DOCS)
        a.flush()
        other_weights = Counting(weight=2.0, fingerprint="w2")
        b = _cached(other_weights)
        assert not np.allclose(b.score("q", DOCS), a.score("q", DOCS))
        assert other_weights.scored == 4
        other_settings = Counting()
        _cached(other_settings, {"type": "counting", "max_length": 128}).score("q", DOCS)
        assert other_settings.scored == 4
    fp = {"w": "1"}
    assert store_key({}, fp, "cpu", "float32") != store_key({}, fp, "cuda", "float32")
    assert store_key({}, fp, "cpu", "float32") != store_key({}, fp, "cpu", "float16")
    assert store_key({}, {}, "cpu", "float32") is None  # no fingerprint: no store


def test_rankers_without_weight_fingerprint_and_cache_off_get_no_store(tmp_path):
    class Plain:
        name = "plain"

        def score(self, query, docs):
            return np.zeros(len(docs))

    with using_cache_dir(tmp_path / "cache"):
        assert open_score_store({}, Plain(), {"module.py": "abc"}) is None
    with using_cache_dir("off"):
        assert open_score_store({}, Counting(), {"w": "1"}) is None


def test_lookup_never_returns_another_pairs_score(tmp_path):
    store = ScoreStore(tmp_path)
    rng = np.random.default_rng(0)
    keys = [_key("q", f"doc {i}") for i in range(2000)]
    values = rng.random(2000).tolist()
    store.add(keys, values)
    store.flush()
    again = ScoreStore(tmp_path)
    probe = keys[::7] + [_key("q", f"unseen {i}") for i in range(500)]
    # a key sharing the first 8 bytes with a stored one but not the rest must miss
    twin = keys[3][:8] + bytes(b ^ 0xFF for b in keys[3][8:])
    found = again.lookup(probe + [twin])
    assert found == {j: values[7 * j] for j in range(len(keys[::7]))}


def test_corrupt_or_partial_shards_are_ignored(tmp_path):
    store = ScoreStore(tmp_path)
    store.add([_key("q", "a")], [0.5])
    store.flush()
    (shard,) = tmp_path.glob("*.rrsc")
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0x01  # one flipped bit: the name no longer matches the bytes
    shard.write_bytes(bytes(data))
    truncated = b"robustrank-scores-v1\n" + b"\x00" * 10
    (tmp_path / f"{hashlib.sha256(truncated).hexdigest()}.rrsc").write_bytes(truncated)
    again = ScoreStore(tmp_path)
    assert again.lookup([_key("q", "a")]) == {}
    assert again.stats()["ignored_shards"] == 2


@pytest.mark.parametrize("limit", [1, 3])
def test_max_entries_loads_newest_shards_first(tmp_path, limit):
    import os
    import time

    store = ScoreStore(tmp_path)
    seen: set = set()
    for i in range(3):
        store.add([_key("q", str(i))], [float(i)])
        store.flush()
        (shard,) = set(tmp_path.glob("*.rrsc")) - seen
        seen.add(shard)
        os.utime(shard, (time.time() + 10 * i, time.time() + 10 * i))
    again = ScoreStore(tmp_path, max_entries=limit)
    assert again.loaded == limit
    assert again.lookup([_key("q", "2")]) == {0: 2.0}


def test_second_audit_reuses_every_score_of_the_first(tiny_config, tmp_path):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    cfg = load_config(tiny_config)
    a, _ = run_audit(cfg, out_dir=tmp_path / "a", progress=False, render_html=False)
    b, _ = run_audit(cfg, out_dir=tmp_path / "b", progress=False, render_html=False)
    first, second = a["score_cache"], b["score_cache"]
    assert first["misses"] > 0 and first["store"]["hits"] == 0 and first["store"]["written"] == first["misses"]
    assert second["misses"] == 0 and second["store"]["hits"] == first["misses"] == second["store"]["loaded"]
    assert a["tasks"]["t1"]["result"] == b["tasks"]["t1"]["result"]
    events_a, events_b = a["shared_cache"]["kinds"]["scores"], b["shared_cache"]["kinds"]["scores"]
    assert (events_a["hits"], events_a["misses"], events_a["published"]) == (0, 1, 1)
    assert (events_b["hits"], events_b["misses"], events_b["published"]) == (1, 0, 0)
