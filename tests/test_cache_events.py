"""results.json records shared-cache use (robustrank.cache_events), and executor workers use the
audit's cache folder (robustrank.sharedcache.worker_setting / enter_worker)."""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import sys
from pathlib import Path

import pytest

from robustrank import cache_events
from robustrank.config.executor import ExecutorConfig
from robustrank.executors.pool import UnitPool
from robustrank.sharedcache import SharedCache, cache_root, using_cache_dir


class CacheRootJob:
    """A unit job that reports the shared cache folder its process sees."""

    def run(self, payload: int) -> str | None:
        root = cache_root()
        return None if root is None else str(root)


def _worker_roots(cfg: ExecutorConfig) -> list[str | None]:
    pool = UnitPool(cfg, device="cpu")
    got: list[str | None] = []
    try:
        pool.map("cache root", CacheRootJob(), [("a", 1), ("b", 2)], lambda _key, root: got.append(root))
    finally:
        pool.close()
    assert pool.units_run == 2 and pool.fallbacks == []  # the workers ran the job, not the driver
    return got


def test_process_workers_use_the_audits_cache_dir(tmp_path):
    # the environment (conftest) names another folder: a worker that ignored cache_dir would see it
    cfg = ExecutorConfig(type="processes", workers=1, units_per_task=1)
    with using_cache_dir(str(tmp_path / "from-model-yaml")):
        assert _worker_roots(cfg) == [str(tmp_path / "from-model-yaml")] * 2
    with using_cache_dir("off"):
        assert _worker_roots(cfg) == [None, None]


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'")
def test_ray_workers_use_the_audits_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # single-node local test cluster
    import cloudpickle

    cfg = ExecutorConfig(type="ray", workers=1, units_per_task=1, object_store_mb=80)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import tests/
    try:
        with using_cache_dir(str(tmp_path / "from-model-yaml")):
            assert _worker_roots(cfg) == [str(tmp_path / "from-model-yaml")] * 2
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_events_are_counted_per_kind_with_their_keys(tmp_path):
    cache = SharedCache(tmp_path / "c")
    src = tmp_path / "model"
    src.mkdir()
    (src / "w.safetensors").write_bytes(b"weights")
    with cache_events.collecting():
        assert cache.get_json("t4-bm25", "k1") is None
        cache.put_json("t4-bm25", "k1", {"row": 1})
        assert cache.get_json("t4-bm25", "k1") == {"row": 1}
        (tmp_path / "c" / "t4-bm25" / "k1.json").write_text('{"sha256": "0", "payload": {"row": 2}}')
        assert cache.get_json("t4-bm25", "k1") is None
        assert not cache.get_dir("distilled", "d1", tmp_path / "out")
        cache.put_dir("distilled", "d1", src)
        assert cache.get_dir("distilled", "d1", tmp_path / "out")
        got = cache_events.summary(tmp_path / "c")
    assert got == {"dir": str(tmp_path / "c"), "kinds": {
        "distilled": {"hits": 1, "misses": 1, "published": 1, "ignored": 0,
                      "keys": {"hit": ["d1"], "miss": ["d1"], "published": ["d1"], "ignored": []}},
        "t4-bm25": {"hits": 1, "misses": 1, "published": 1, "ignored": 1,
                    "keys": {"hit": ["k1"], "miss": ["k1"], "published": ["k1"], "ignored": ["k1"]}},
    }}
    assert cache_events.summary(None) == {"dir": None, "kinds": {}}  # no collector in force: nothing recorded


def test_an_event_in_a_worker_is_logged_not_dropped_silently(caplog):
    def in_a_worker() -> None:
        cache_events.in_worker()
        cache_events.note("t4-bm25", "k9", "hit")

    with caplog.at_level(logging.WARNING, logger="robustrank.cache_events"):
        contextvars.copy_context().run(in_a_worker)
    assert "in a worker process: not recorded in results.json" in caplog.text and "k9" in caplog.text


def _config(tiny_config: Path, sim: Path, out: Path, cache: Path) -> Path:
    # imported here: a worker unpickling CacheRootJob imports this module, and importing conftest
    # there would set $ROBUSTRANK_CACHE_DIR (conftest does at import) over the driver's setting
    from conftest import tiny_t4_only

    text = tiny_t4_only(Path(tiny_config).read_text(), sim)
    text = text.replace(text.split("  dir: ")[1].splitlines()[0], str(out))
    path = out.parent / f"{out.name}.yaml"
    path.write_text(f"{text}cache_dir: '{cache}'\n")
    return path


def test_second_audit_records_hits_where_the_first_missed_and_published(tmp_path, tiny_config, tiny_cross_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config
    from robustrank.results import read_results

    cache = tmp_path / "model-yaml-cache<i>"  # not the environment's folder (conftest): cache_dir: wins
    runs = []
    for name in ("a", "b"):
        _, path = run_audit(load_config(_config(tiny_config, tiny_cross_encoder, tmp_path / name, cache)), render_html=name == "b")
        runs.append(read_results(path)["shared_cache"])  # the schema accepts the record
    page = (tmp_path / "b" / "report.html").read_text()
    assert "shared cache: t4-bm25</td><td class=\"l\">2 hits, 0 misses, 0 published, 0 ignored (" in page
    assert "model-yaml-cache&lt;i&gt;" in page and "model-yaml-cache<i>" not in page  # escaped
    first, second = runs
    assert first["dir"] == second["dir"] == str(cache)
    rows = first["kinds"]["t4-bm25"]
    assert (rows["hits"], rows["misses"], rows["published"], rows["ignored"]) == (0, 2, 2, 0)
    keys = rows["keys"]["miss"]
    assert len(set(keys)) == 2 and sorted(rows["keys"]["published"]) == sorted(keys)
    again = second["kinds"]["t4-bm25"]
    assert (again["hits"], again["misses"], again["published"], again["ignored"]) == (2, 0, 0, 0)
    assert sorted(again["keys"]["hit"]) == sorted(keys)  # the very rows the first audit stored


def test_cache_off_records_no_folder_and_no_events(tmp_path, tiny_config, tiny_cross_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    results, _ = run_audit(load_config(_config(tiny_config, tiny_cross_encoder, tmp_path / "off", "off")), render_html=False)
    assert results["shared_cache"] == {"dir": None, "kinds": {}}
