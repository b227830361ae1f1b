"""A remote black-box ranker behind HTTP: audit a deployed ranking service.

Protocol (JSON in, JSON out): ``POST <url>`` with body ``{"query": str, "documents": [str, ...]}``
answers ``{"scores": [float, ...]}`` (one score per document, same order). Documents are sent in
batches of ``batch_size``; up to ``concurrency`` requests are in flight; a request that times
out, fails to connect or gets a 429/5xx answer is retried with exponential backoff
(``backoff * 2**attempt`` seconds, plus jitter) up to ``retries`` times. Any other error, or a
malformed answer, fails with a message naming the URL.

Safety limits (see docs/security.md):

* ``timeout`` bounds each socket operation and ``deadline`` the whole request (connect, send,
  headers and body): a server that drips one byte at a time is cut off at the deadline.
* ``max_response_bytes`` caps the answer; a larger ``Content-Length`` or body is refused.
* Redirects are refused by default (``redirects: refuse``); with ``redirects: same-origin`` a
  redirect to the same scheme, host and port is followed (at most 5), and the configured
  ``headers`` (credentials) are never sent to the redirect target. Followed redirects are
  counted in results.json (``ranker.redirects_followed``). A refused redirect fails the request.
* NaN or infinite scores are rejected when the ranked list is built (naming query and document).

Config::

    ranker:
      type: http
      batch_size: 32
      options: {url: "http://127.0.0.1:8080/score", timeout: 10, deadline: 60, retries: 3, backoff: 0.5, concurrency: 4}
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from robustrank.errors import ConfigError
from robustrank.schema_base import StrictModel

__all__ = ["HTTPRanker", "HTTPRankerOptions", "RemoteRankerError"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}


class RemoteRankerError(RuntimeError):
    """The remote ranker failed or answered something unusable."""


class HTTPRankerOptions(StrictModel):
    """``ranker.options`` of the http ranker."""

    url: str = Field(pattern=r"^https?://", description="Scoring endpoint.")
    timeout: float = Field(10.0, gt=0, description="Seconds per request.")
    retries: int = Field(3, ge=0, description="Retries of a failed request.")
    backoff: float = Field(0.5, ge=0, description="Base of the exponential backoff, seconds.")
    concurrency: int = Field(4, gt=0, description="Requests in flight at most.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers (e.g. auth); never sent to a redirect target.")
    deadline: float = Field(60.0, gt=0, description="Seconds for a whole request (connect to last byte), whatever the server's pace.")
    max_response_bytes: int = Field(16 * 1024 * 1024, gt=0, description="Largest answer accepted, bytes.")
    redirects: Literal["refuse", "same-origin"] = Field(
        "refuse", description="refuse: a 3xx answer fails the request; same-origin: follow redirects to the same scheme/host/port (without the configured headers)."
    )


class _Deadline(Exception):
    """The whole-request deadline passed."""


class _Refused(Exception):
    """An answer that must not be retried (refused redirect, oversized body, client error)."""


def _origin(url: str) -> str:
    p = urllib.parse.urlsplit(url)
    if not p.scheme or not p.hostname:
        return ""
    port = p.port or (443 if p.scheme == "https" else 80)
    return f"{p.scheme}://{p.hostname.lower()}:{port}"


def _same_origin(a: str, b: str) -> bool:
    return bool(_origin(a)) and _origin(a) == _origin(b)


class HTTPRanker:
    """Scores (query, docs) by calling a remote service.

    Args:
        options: Connection settings.
        batch_size: Documents per request.
        name: Display name.
    """

    def __init__(self, options: HTTPRankerOptions, *, batch_size: int = 32, name: str | None = None):
        self.options = options
        self.batch_size = batch_size
        self.name = name or options.url
        self.requests = 0
        self.retried = 0
        self.redirects_followed = 0

    @classmethod
    def from_config(cls, config: Any, **_: Any) -> HTTPRanker:
        """Build from a RankerConfig whose ``options`` hold the connection settings."""
        try:
            options = HTTPRankerOptions.model_validate(config.options)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"ranker.options.{loc}: {err['msg']}") from None
        return cls(options, batch_size=config.batch_size or 32)

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json (headers are not recorded)."""
        o = self.options
        return {
            "type": "http", "url": o.url, "timeout": o.timeout, "deadline": o.deadline, "retries": o.retries,
            "concurrency": o.concurrency, "batch_size": self.batch_size, "max_response_bytes": o.max_response_bytes,
            "redirects": o.redirects, "redirects_followed": self.redirects_followed,
        }

    def _post(self, query: str, docs: Sequence[str]) -> list[float]:
        o = self.options
        body = json.dumps({"query": query, "documents": list(docs)}).encode("utf-8")
        last: Exception | None = None
        for attempt in range(o.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(o.backoff * 2 ** (attempt - 1) * (1 + 0.1 * random.random()))
            self.requests += 1
            try:
                status, reason, payload = self._request(body)
            except _Refused as exc:
                raise RemoteRankerError(str(exc)) from None
            except _Deadline:
                last = TimeoutError(f"no complete answer within the {o.deadline:g} s deadline")
                log.warning("%s: %s; retrying (%d/%d)", o.url, last, attempt + 1, o.retries)
                continue
            except (OSError, http.client.HTTPException) as exc:  # connect/read timeouts, resets, bad status lines
                last = exc
                log.warning("%s: %s; retrying (%d/%d)", o.url, exc, attempt + 1, o.retries)
                continue
            if status in _RETRY_STATUS:
                last = RuntimeError(f"HTTP {status} {reason}")
                log.warning("%s answered %d; retrying (%d/%d)", o.url, status, attempt + 1, o.retries)
                continue
            if not 200 <= status < 300:
                raise RemoteRankerError(f"{o.url}: HTTP {status} {reason}")
            return self._parse(payload, len(docs))
        raise RemoteRankerError(f"{o.url}: failed after {o.retries + 1} attempts: {last}")

    def _request(self, body: bytes) -> tuple[int, str, bytes]:
        """One POST under the whole-request deadline, following only allowed redirects.

        Returns:
            (status, reason, body) of the final answer.
        """
        o = self.options
        url = o.url
        headers = {"Content-Type": "application/json", **o.headers}
        expired = threading.Event()
        conns: list[http.client.HTTPConnection] = []

        def kill() -> None:  # the deadline passed: break whatever read or write is blocking
            expired.set()
            for c in conns:
                sock = c.sock
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        timer = threading.Timer(o.deadline, kill)
        timer.daemon = True
        timer.start()
        try:
            for _ in range(6):
                parts = urllib.parse.urlsplit(url)
                cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                conn = cls(parts.hostname, parts.port, timeout=min(o.timeout, o.deadline))
                conns.append(conn)
                try:
                    try:
                        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers)
                        resp = conn.getresponse()
                        if 300 <= resp.status < 400 and resp.status != 304:
                            target = urllib.parse.urljoin(url, resp.getheader("Location") or "")
                            if o.redirects != "same-origin" or not _same_origin(url, target):
                                raise _Refused(
                                    f"{o.url}: answered HTTP {resp.status} redirecting to {_origin(target) or target!r}; redirects are "
                                    + ("refused (options.redirects: refuse)" if o.redirects == "refuse" else "followed only to the same origin")
                                )
                            self.redirects_followed += 1
                            log.warning("%s: following a same-origin redirect to %s (configured headers not sent)", o.url, target)
                            url = target
                            headers = {"Content-Type": "application/json"}  # never forward credentials
                            continue
                        return resp.status, resp.reason, self._read_capped(resp, expired)
                    except OSError:
                        if expired.is_set():
                            raise _Deadline() from None
                        raise
                finally:
                    conn.close()
            raise _Refused(f"{o.url}: more than 5 redirects")
        finally:
            timer.cancel()
            if expired.is_set():
                raise _Deadline()

    def _read_capped(self, resp: http.client.HTTPResponse, expired: threading.Event) -> bytes:
        cap = self.options.max_response_bytes
        length = resp.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > cap:
            raise _Refused(f"{self.options.url}: answer of {int(length)} bytes exceeds options.max_response_bytes ({cap})")
        chunks, size = [], 0
        while True:
            block = resp.read1(65536)
            if expired.is_set():
                raise _Deadline()
            if not block:
                break
            size += len(block)
            if size > cap:
                raise _Refused(f"{self.options.url}: answer exceeds options.max_response_bytes ({cap} bytes)")
            chunks.append(block)
        if length is not None and length.strip().isdigit() and size < int(length):
            raise http.client.IncompleteRead(b"".join(chunks), int(length) - size)  # connection cut: retried
        return b"".join(chunks)

    def _parse(self, payload: bytes, n: int) -> list[float]:
        """The ``scores`` of an answer (NaN/inf are caught when the ranked list is built)."""
        try:
            scores = json.loads(payload)["scores"]
            out = [float(s) for s in scores]
        except (ValueError, KeyError, TypeError):
            raise RemoteRankerError(f"{self.options.url}: answer is not {{\"scores\": [numbers]}}") from None
        if len(out) != n:
            raise RemoteRankerError(f"{self.options.url}: {len(out)} scores for {n} documents")
        return out

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Score documents for a query through the service (batched, concurrent, retried)."""
        return self.score_pairs([(query, d) for d in docs])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Score (query, doc) pairs: one request per query batch, ``concurrency`` in flight."""
        out = np.empty(len(pairs), dtype=np.float64)
        by_query: dict[str, list[int]] = {}
        for i, (q, _) in enumerate(pairs):
            by_query.setdefault(q, []).append(i)
        jobs = [(q, idx[i : i + self.batch_size]) for q, idx in by_query.items() for i in range(0, len(idx), self.batch_size)]
        if not jobs:
            return out

        def run(job: tuple[str, list[int]]) -> tuple[list[int], list[float]]:
            q, idx = job
            return idx, self._post(q, [pairs[i][1] for i in idx])

        if len(jobs) == 1:
            results = [run(jobs[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(self.options.concurrency, len(jobs))) as pool:
                results = list(pool.map(run, jobs))
        for idx, scores in results:
            out[idx] = scores
        return out
