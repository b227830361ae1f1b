"""Fault tests (issue 15): SIGINT and kill -9 at random work units, two concurrent audits on one
output folder, and a flaky HTTP ranking service. Disk-full while checkpointing is tested with a
failing writer in test_issue15_broken.py (a small tmpfs needs privileges CI does not have)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SLOW = '''
import time
def score(query, docs):
    time.sleep(0.08)
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.01 * (len(d) % 7) for d in docs]
'''


def _config(tmp_path: Path, dataset: Path) -> Path:
    (tmp_path / "slow15.py").write_text(SLOW)
    p = tmp_path / "m.yaml"
    p.write_text(f"""
name: faults
seed: 5
ranker: {{type: callable, callable: 'slow15:score'}}
candidates: {{depth: 8}}
datasets: {{in_domain: {{path: {dataset}}}}}
tasks:
  t1: {{bootstrap_samples: 50}}
  t2:
    bootstrap_samples: 50
    variations:
      - {{name: typo, rate: 0.5}}
      - {{name: shuffle, rate: 1.0}}
      - {{name: stopword_drop, rate: 1.0}}
      - {{name: typo, rate: 1.0}}
  t3: {{enabled: false}}
""")
    return p


def _start(cfg: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(cfg.parent), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "robustrank.cli", "-q", "audit", str(cfg), "--out", str(out), "--no-html", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _units(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines()[1:] if line.strip())


def _wait_units(proc: subprocess.Popen, ckpt: Path, n: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if _units(ckpt) >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"audit ended before the fault: {proc.stderr.read()}")
        time.sleep(0.01)
    pytest.fail("audit too slow")


def _comparable(path: Path) -> dict:
    r = json.loads(path.read_text())
    return {"tasks": {k: {kk: vv for kk, vv in t.items() if kk != "duration_s"} for k, t in r["tasks"].items()}, "metrics": r["metrics"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the fault config."""
    import shutil

    d = tmp_path_factory.mktemp("ref")
    data = d / "tiny"
    shutil.copytree(Path(__file__).parent / "fixtures" / "tiny", data)
    cfg = _config(d, data)
    proc = _start(cfg, d / "out")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return cfg, d / "out" / "results.json"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupt_at_a_random_unit_then_resume_matches(reference, tmp_path, sig):
    cfg, ref = reference
    out = tmp_path / "o"
    at = random.Random(f"{sig}-{os.getpid()}").randint(1, 12)
    proc = _start(cfg, out)
    _wait_units(proc, out / "checkpoint.jsonl", at)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert "interrupted" in err and "--resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not (out / "results.json").exists()
    done = _units(out / "checkpoint.jsonl")
    assert done >= at
    proc = _start(cfg, out, "--resume")  # the lock of the dead process does not block
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["checkpoint"]["resumed_units"] == done
    assert _comparable(out / "results.json") == _comparable(ref)


def test_two_concurrent_audits_on_one_folder(reference, tmp_path):
    """While one audit holds the folder a second is refused naming it; the holder's work is intact.

    The holder is made to last (a SIGSTOP after its first unit) so the outcome does not depend on
    how fast either process starts on a loaded machine.
    """
    cfg, ref = reference
    out = tmp_path / "o"
    first = _start(cfg, out)
    _wait_units(first, out / "checkpoint.jsonl", 1)
    first.send_signal(signal.SIGSTOP)
    try:
        second = _start(cfg, out)
        _, err2 = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err2
    assert f"in use by process {first.pid}" in err2 and "Traceback" not in err2
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    lines = (out / "checkpoint.jsonl").read_text().splitlines()
    units = [(json.loads(x)["task"], json.loads(x)["unit"]) for x in lines[1:]]
    assert len(units) == len(set(units))  # nothing interleaved or duplicated
    assert _comparable(out / "results.json") == _comparable(ref)


def test_flaky_http_service_audit_completes_with_retries(tmp_path, tiny_dataset):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    rng = random.Random(15)
    lock = threading.Lock()
    stats = {"calls": 0, "faults": 0}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                stats["calls"] += 1
                fault = rng.random() < 0.3
                stats["faults"] += fault
                kind = rng.choice(["503", "reset", "truncated"]) if fault else None
            if kind == "503":
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            q = set(body["query"].split())
            payload = json.dumps({"scores": [float(len(q & set(d.split()))) for d in body["documents"]]}).encode()
            if kind == "reset":
                self.connection.shutdown(2)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2] if kind == "truncated" else payload)
            if kind == "truncated":
                self.close_connection = True

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/score"
        p = tmp_path / "m.yaml"
        p.write_text(f"name: flaky\nranker: {{type: http, batch_size: 4, options: {{url: '{url}', retries: 8, backoff: 0.0, timeout: 2, deadline: 5}}}}\n"
                     f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\ntasks: {{t1: {{bootstrap_samples: 50}}, t2: {{enabled: false}}, t3: {{enabled: false}}}}\n")
        results, _ = run_audit(load_config(p), out_dir=tmp_path / "o", progress=False, render_html=False)
    finally:
        srv.shutdown()
        srv.server_close()
    assert results["tasks"]["t1"]["status"] == "ok", results["tasks"]["t1"].get("error")
    assert stats["faults"] > 0
    assert results["ranker"]["redirects_followed"] == 0
