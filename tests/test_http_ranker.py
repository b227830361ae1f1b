"""The HTTP black-box ranker against a local server on 127.0.0.1 started by the test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from robustrank.rankers.http import HTTPRanker, HTTPRankerOptions, RemoteRankerError


class _Service:
    """A toy ranking service: score = number of query words in the document."""

    def __init__(self):
        self.fail_next = 0  # answer 503 this many times
        self.bad = False
        self.calls = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with service._lock:
                    service.calls += 1
                    service._in_flight += 1
                    service.max_in_flight = max(service.max_in_flight, service._in_flight)
                    fail = service.fail_next > 0
                    service.fail_next -= 1 if fail else 0
                try:
                    import time

                    time.sleep(0.02)
                    if fail:
                        self.send_response(503)
                        self.end_headers()
                        return
                    q = set(body["query"].split())
                    scores = [float(len(q & set(d.split()))) for d in body["documents"]]
                    payload = json.dumps({"scores": scores[:-1] if service.bad else scores}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with service._lock:
                        service._in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/score"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def service():
    s = _Service()
    yield s
    s.close()


DOCS = [f"doc {i} about transistor noise" if i % 2 else f"doc {i} about waveguides" for i in range(10)]


def test_scores_batches_and_concurrency(service):
    r = HTTPRanker(HTTPRankerOptions(url=service.url, concurrency=3), batch_size=2)
    s = r.score("transistor noise", DOCS)
    np.testing.assert_allclose(s, [2.0 if i % 2 else 0.0 for i in range(10)])
    assert service.calls == 5
    assert 1 < service.max_in_flight <= 3
    pairs = [("waveguides", d) for d in DOCS[:3]] + [("noise", d) for d in DOCS[:3]]
    np.testing.assert_allclose(r.score_pairs(pairs), [1, 0, 1, 0, 1, 0])


def test_retries_with_backoff(service):
    service.fail_next = 2
    r = HTTPRanker(HTTPRankerOptions(url=service.url, retries=3, backoff=0.01), batch_size=20)
    np.testing.assert_allclose(r.score("noise", DOCS[:2]), [0, 1])
    assert r.retried == 2 and service.calls == 3


def test_gives_up_after_retries(service):
    service.fail_next = 10
    r = HTTPRanker(HTTPRankerOptions(url=service.url, retries=1, backoff=0.0), batch_size=20)
    with pytest.raises(RemoteRankerError, match="failed after 2 attempts"):
        r.score("noise", DOCS[:2])


def test_malformed_answer(service):
    service.bad = True
    r = HTTPRanker(HTTPRankerOptions(url=service.url, retries=0), batch_size=20)
    with pytest.raises(RemoteRankerError, match="1 scores for 2 documents"):
        r.score("noise", DOCS[:2])


def test_timeout_and_connection_refused():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    r = HTTPRanker(HTTPRankerOptions(url=f"http://127.0.0.1:{port}/score", retries=1, backoff=0.0, timeout=0.5))
    with pytest.raises(RemoteRankerError, match="failed after 2 attempts"):
        r.score("q", ["d"])


def test_audit_against_service(service, tmp_path, tiny_dataset):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    p = tmp_path / "m.yaml"
    p.write_text(f"name: remote\nranker: {{type: http, batch_size: 4, options: {{url: '{service.url}', concurrency: 2}}}}\n"
                 f"datasets: {{in_domain: {{path: {tiny_dataset}}}}}\ntasks: {{t2: {{enabled: false}}}}\n")
    results, _ = run_audit(load_config(p), out_dir=tmp_path / "o", progress=False, render_html=False)
    assert results["tasks"]["t1"]["status"] == "ok"
    assert results["ranker"]["type"] == "http" and results["ranker"]["url"] == service.url
    assert service.calls > 0


def test_bad_options_name_the_key(tmp_path, tiny_dataset):
    from robustrank.audit import run_audit
    from robustrank.config import load_config
    from robustrank.errors import ConfigError

    p = tmp_path / "m.yaml"
    p.write_text(f"name: remote\nranker: {{type: http, options: {{url: 'ftp://x'}}}}\ndatasets: {{in_domain: {{path: {tiny_dataset}}}}}\n")
    with pytest.raises(ConfigError, match=r"ranker.options.url: String should match pattern"):
        run_audit(load_config(p), out_dir=tmp_path / "o", progress=False)
