"""A remote black-box ranker behind HTTP: audit a deployed ranking service.

Protocol (JSON in, JSON out): ``POST <url>`` with body ``{"query": str, "documents": [str, ...]}``
answers ``{"scores": [float, ...]}`` (one score per document, same order). Documents are sent in
batches of ``batch_size``; up to ``concurrency`` requests are in flight; a request that times
out, fails to connect or gets a 429/5xx answer is retried with exponential backoff
(``backoff * 2**attempt`` seconds, plus jitter) up to ``retries`` times. Any other error, or a
malformed answer, fails with a message naming the URL.

Config::

    ranker:
      type: http
      batch_size: 32
      options: {url: "http://127.0.0.1:8080/score", timeout: 10, retries: 3, backoff: 0.5, concurrency: 4}
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers (e.g. auth).")


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

    @classmethod
    def from_config(cls, config: Any, **_: Any) -> HTTPRanker:
        """Build from a RankerConfig whose ``options`` hold the connection settings."""
        try:
            options = HTTPRankerOptions.model_validate(config.options)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"ranker.options.{loc}: {err['msg']}") from None
        return cls(options, batch_size=config.batch_size)

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json (headers are not recorded)."""
        o = self.options
        return {"type": "http", "url": o.url, "timeout": o.timeout, "retries": o.retries, "concurrency": o.concurrency, "batch_size": self.batch_size}

    def _post(self, query: str, docs: Sequence[str]) -> list[float]:
        o = self.options
        body = json.dumps({"query": query, "documents": list(docs)}).encode("utf-8")
        headers = {"Content-Type": "application/json", **o.headers}
        last: Exception | None = None
        for attempt in range(o.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(o.backoff * 2 ** (attempt - 1) * (1 + 0.1 * random.random()))
            self.requests += 1
            req = urllib.request.Request(o.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=o.timeout) as resp:
                    payload = resp.read()
            except urllib.error.HTTPError as exc:
                last = exc
                if exc.code in _RETRY_STATUS:
                    log.warning("%s answered %d; retrying (%d/%d)", o.url, exc.code, attempt + 1, o.retries)
                    continue
                raise RemoteRankerError(f"{o.url}: HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = exc
                log.warning("%s: %s; retrying (%d/%d)", o.url, getattr(exc, "reason", exc), attempt + 1, o.retries)
                continue
            return self._parse(payload, len(docs))
        raise RemoteRankerError(f"{o.url}: failed after {o.retries + 1} attempts: {getattr(last, 'reason', last)}")

    def _parse(self, payload: bytes, n: int) -> list[float]:
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
