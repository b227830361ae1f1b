"""A two-node Ray cluster with token authentication runs an audit as the in-process run does.

The head and a second node are started with ``ray start --block`` as separate process groups on
this machine (own ports, own temp folders, 1 CPU each, ``RAY_AUTH_MODE=token`` with the token in a
file named by ``RAY_AUTH_TOKEN_PATH``). The audit runs in a separate driver process
(``robustrank audit`` with ``executor: {type: ray, address: ...}``), as a user would start it.
The ranker kills its own worker the first time it runs on the second node; Ray re-runs that task.
The audit (T1, a keyword-stuffing T4, a tiny certify) must give the in-process run's metrics, result
records (timings aside) and re-ranking units. Today only the re-ranking units go to the executor; T4
and certify are scored in the driver, so for them the check becomes a cluster check once their
units run on executors too (nothing here needs to change then).

What Ray 2.60 allows on loopback: ``ray start`` replaces ``--node-ip-address 127.0.0.1`` by the
machine's reachable address, and its gRPC servers (GCS, raylet) listen on every interface; with
token authentication on, a caller without the token is refused (checked below).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from robustrank.audit import run_audit
from robustrank.config import load_config

pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'"),
]

# Logs every call with the node it ran on (RAY_NODE_TAG comes from the environment of `ray start`,
# which the raylet passes on to its workers); dies once, the first time it runs on the second node;
# on the head it waits until the second node has scored a unit, so both nodes take part.
NODE_RANKER = '''
import os
import time
from pathlib import Path
HERE = Path(__file__).parent
def score(query, docs):
    node = os.environ.get("RR_NODE_TAG", "driver")
    marker = HERE / "died.marker"
    if node == "second" and not marker.exists():
        marker.write_text(str(os.getpid()))
        with open(HERE / "calls.log", "a") as f:
            f.write(f"died {os.getpid()}\\n")
        os._exit(1)
    if node == "head":  # hold the head's only CPU until the second node has scored a unit
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "second" not in (HERE / "calls.log").read_text():
            time.sleep(0.1)
    with open(HERE / "calls.log", "a") as f:
        f.write(f"{node} {os.getpid()}\\n")
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.001 * (len(d) % 13) for d in docs]
'''

START_TIMEOUT_S = 60


def _script(name: str) -> str:
    """A console script of this environment (next to the interpreter), else from PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.skip(f"the {name!r} command is not installed")
    return found


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _wait_started(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"ray start did not come up; its log ({log}):\n{log.read_text(errors='replace')[-3000:]}")


def _descendants(pids: list[int]) -> list[int]:
    """Every process below ``pids`` (read from /proc; [] where there is none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
            ppid = int(rest.rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], list(pids)
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _stop(procs: list[subprocess.Popen]) -> None:
    """Kill each `ray start --block` process group (never `ray stop`, which stops every Ray on the machine)."""
    members = _descendants([p.pid for p in procs])
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGTERM:
            time.sleep(1.0)
    for pid in members:  # anything the raylet moved to another process group
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, driver env, folder of the ranker module) of a 2-node token-authenticated Ray cluster on this machine."""
    home = tmp_path_factory.mktemp("cluster")
    # Ray's socket paths (<temp>/session_<date>_<pid>/sockets/plasma_store) must stay under ~107 characters.
    root = Path(tempfile.mkdtemp(prefix="rr", dir="/tmp"))
    token = root / "token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    (home / "node_ranker.py").write_text(NODE_RANKER)
    env = {
        **os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "PYTHONPATH": str(home),
        "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("RAY_ADDRESS", None)
    ray_cli = _script("ray")
    gcs, dash, *rest = _free_ports(12)
    common = ["--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", str(80 * 1024 * 1024),
              "--min-worker-port", "0", "--max-worker-port", "0", "--disable-usage-stats"]
    nodes = {
        "head": ["--head", "--port", str(gcs), "--include-dashboard", "false", "--dashboard-port", str(dash)],
        "second": ["--address", f"127.0.0.1:{gcs}"],
    }
    procs: list[subprocess.Popen] = []
    try:
        for i, (tag, extra) in enumerate(nodes.items()):
            p = rest[5 * i : 5 * i + 5]
            ports = ["--node-manager-port", str(p[0]), "--object-manager-port", str(p[1]), "--dashboard-agent-listen-port", str(p[2]),
                     "--dashboard-agent-grpc-port", str(p[3]), "--runtime-env-agent-port", str(p[4])]
            log = root / f"{tag}.log"
            with log.open("w") as out:
                proc = subprocess.Popen([ray_cli, "start", *extra, *common, *ports, "--temp-dir", str(root / tag)],
                                        env={**env, "RR_NODE_TAG": tag}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(proc)
            _wait_started(proc, log)
        yield f"127.0.0.1:{gcs}", env, home
    finally:
        _stop(procs)
        shutil.rmtree(root, ignore_errors=True)


LEXICON = '#robustrank-lexicon\t1\t{"name": "tiny"}\nmeasurement\tmeasuring:0.8\ndesign\tdesigning:0.8 plan:0.75\nmicrowave\tradio:0.8\n'


def _config(folder: Path, dataset: Path, similarity_model: Path, executor: str) -> Path:
    """T1, a keyword-stuffing T4 and a tiny certify run; with ``executor`` (YAML flow mapping body) on that backend."""
    (folder / "lex.tsv").write_text(LEXICON)
    p = folder / f"{'cluster' if executor else 'inproc'}.yaml"
    ex = f"executor: {{{executor}}}\n" if executor else ""
    p.write_text(f"""name: cl
seed: 5
lexicon: {folder / 'lex.tsv'}
ranker: {{type: callable, callable: 'node_ranker:score'}}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {dataset}}}}}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{enabled: false}}
  t4:
    enabled: true
    targets: {{rank_ranges: [[3, 10]], per_query: 1, queries: 2}}
    budget: {{max_words: 2, max_victim_queries: 4}}
    similarity_model: {similarity_model}
    fluency: {{order: 2}}
    injection: {{enabled: false}}
    attacks: [{{name: keyword_stuffing, options: {{mode: prepend}}}}]
  certify: {{enabled: true, queries: 2, candidates: 6, k_values: [1, 2], alpha: 0.1, n_min: 8, n_max: 64, n_fixed: 32,
            min_similarity: 0.5, max_set_size: 3, detector_docs: 12, detector_stuffed: 6, defenses: []}}
{ex}""")
    return p


def _ranked_lists(out_dir: Path) -> dict:
    lines = (out_dir / "checkpoint.jsonl").read_text().splitlines()[1:]
    return {(r["task"], r["unit"]): r["result"] for r in map(json.loads, lines) if r["task"] == "rerank"}


def _is_timing(key: str) -> bool:
    return key in ("seconds", "duration_s") or key.startswith("seconds_")


def _untimed(obj):
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if not _is_timing(k)}
    return [_untimed(v) for v in obj] if isinstance(obj, list) else obj


def _records(results: dict) -> dict:
    """What must not depend on where units ran: every metric and the t1, t4 and certify result records (timings aside)."""
    return _untimed({"metrics": results["metrics"], **{t: results["tasks"][t]["result"] for t in ("t1", "t4", "certify")}})


def test_two_node_token_cluster_survives_a_killed_worker(cluster, tmp_path, tiny_dataset, tiny_bi_encoder, monkeypatch):
    address, env, home = cluster
    calls = home / "calls.log"
    # in-process reference (the marker keeps the ranker alive)
    monkeypatch.syspath_prepend(str(home))
    (home / "died.marker").write_text("in-process reference never dies")
    run_audit(load_config(_config(tmp_path, tiny_dataset, tiny_bi_encoder, "")), out_dir=tmp_path / "ref", progress=False, render_html=False)
    (home / "died.marker").unlink()
    calls.write_text("")

    cfg = _config(tmp_path, tiny_dataset, tiny_bi_encoder, f"type: ray, address: '{address}', units_per_task: 1, max_in_flight: 3, max_retries: 2")
    t0 = time.monotonic()
    run = subprocess.run([_script("robustrank"), "-q", "audit", str(cfg), "--out", str(tmp_path / "cluster"), "--no-html"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    wall = time.monotonic() - t0

    tags = calls.read_text().split()[::2]
    assert "died" in tags  # a worker on the second node really died mid-run ...
    assert {"head", "second"} <= set(tags)  # ... and both nodes scored units
    ref, got = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("ref", "cluster"))
    assert all(got["tasks"][t]["status"] == "ok" for t in ("t1", "t4", "certify"))
    assert _records(got) == _records(ref)
    runs = _ranked_lists(tmp_path / "cluster")
    assert len(runs) == 4 and runs == _ranked_lists(tmp_path / "ref")
    print(f"driver wall {wall:.1f}s; calls: {' '.join(tags)}")


# Talks to the GCS directly (ray.init would retry a refused connection for ~20 s): prints the alive nodes.
GCS_PROBE = """
import sys
from ray._raylet import GcsClient
nodes = GcsClient(address=sys.argv[1]).get_all_node_info()
print("alive nodes:", sum(n.state == 0 for n in nodes.values()))
"""


def test_cluster_has_two_nodes_and_refuses_a_client_without_the_token(cluster, tmp_path):
    address, env, _ = cluster
    ok = subprocess.run([sys.executable, "-c", GCS_PROBE, address], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "alive nodes: 2" in ok.stdout, ok.stderr[-2000:]
    wrong = tmp_path / "wrong-token"
    wrong.write_text(secrets.token_hex(32))
    bad = subprocess.run([sys.executable, "-c", GCS_PROBE, address], env={**env, "RAY_AUTH_TOKEN_PATH": str(wrong)}, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "AuthenticationError" in bad.stderr and "alive nodes" not in bad.stdout
