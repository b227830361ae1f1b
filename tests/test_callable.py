"""Callables as first-class rankers: found next to the config, say where they looked, fingerprinted by source."""

from __future__ import annotations

import hashlib

import pytest
from conftest import write_config

MODULE = '''
def score(query, docs):
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) for d in docs]
'''


def _setup(tmp_path, tiny_dataset, module_name):
    (tmp_path / f"{module_name}.py").write_text(MODULE)
    return write_config(tmp_path / "audit.yaml", f"""
name: callable
ranker: {{type: callable, callable: '{module_name}:score'}}
candidates: {{depth: 5}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
tasks:
  t1: {{bootstrap_samples: 50}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  t4: {{enabled: false}}
  certify: {{enabled: false}}
output: {{dir: {tmp_path / 'out'}, html: false}}
""")


def test_callable_next_to_config_is_found_and_fingerprinted(tmp_path, tiny_dataset):
    from robustrank.audit import build_ranker, run_audit
    from robustrank.checkpoint import CheckpointMismatch
    from robustrank.config import load_config

    cfg_path = _setup(tmp_path, tiny_dataset, "rr_callable_fp")
    cfg = load_config(cfg_path)
    ranker = build_ranker(cfg.ranker, cfg)
    src = (tmp_path / "rr_callable_fp.py").read_bytes()
    assert ranker.fingerprint() == {"callable:rr_callable_fp.py": hashlib.sha256(src).hexdigest()}
    results, _ = run_audit(cfg, progress=False)
    assert results["fingerprints"]["model"] == ranker.fingerprint()
    # the scoring code changes: provenance and resume notice
    (tmp_path / "rr_callable_fp.py").write_text(MODULE + "\n# changed\n")
    assert ranker.fingerprint() != results["fingerprints"]["model"]
    with pytest.raises(CheckpointMismatch):
        run_audit(cfg, progress=False, resume=True)


def test_callable_import_error_says_where_it_looked(tmp_path, tiny_dataset):
    from robustrank.config import load_config
    from robustrank.errors import ConfigError
    from robustrank.rankers.build import build_ranker

    cfg_path = _setup(tmp_path, tiny_dataset, "rr_callable_present")
    cfg_path.write_text(cfg_path.read_text().replace("rr_callable_present:score", "rr_callable_absent:score"))
    cfg = load_config(cfg_path)
    with pytest.raises(ConfigError, match=r"cannot import module 'rr_callable_absent' .*config folder .*PYTHONPATH"):
        build_ranker(cfg.ranker, cfg)


def test_callable_own_fingerprint_wins():
    from robustrank.rankers.callable import CallableRanker

    def fn(query, docs):
        return [0.0] * len(docs)

    fn.fingerprint = lambda: {"service": "v2"}
    assert CallableRanker(fn).fingerprint() == {"service": "v2"}
