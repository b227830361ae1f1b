"""The job of certification: certify one query's candidate list (one work unit per query).

Shipped once to each worker (:mod:`robustrank.executors`): the mapped scorer (its ranker is
rebuilt in the worker from the config), the smoother with its synonym sets, and the settings.
A unit's payload carries the query, its candidates and the per-document seeds drawn by the
driver, so a certificate does not depend on where or in which order queries run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustrank.certify import CertifySettings, Smoother, certify_query

__all__ = ["CertifyJob"]


@dataclass
class CertifyJob:
    """Certify queries with one scorer, smoother and settings."""

    scorer: Any
    smoother: Smoother
    settings: CertifySettings

    def run(self, payload: tuple[str, str, list[str], list[str], list[int]]) -> dict[str, Any]:
        """The per-query record of results.json: the certificate, doc ids and seconds."""
        qid, query, doc_ids, texts, seeds = payload
        t0 = time.perf_counter()
        cert = certify_query(query, texts, self.scorer, self.smoother, self.settings, [np.random.default_rng(int(s)) for s in seeds])
        rec = {"query_id": qid, **cert.to_json(), "doc_ids": list(doc_ids), "seconds": round(time.perf_counter() - t0, 3)}
        for d, did in zip(rec["documents"], doc_ids):
            d["doc_id"] = did
        return rec
