"""What a task gets to work with: the ranker under audit, BM25, data, runs and seeds.

Everything is computed on first use and cached, so tasks share the in-domain runs and a task
that needs no OOD data never loads it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.checkpoint import Checkpoint
from robustrank.config.audit import AuditConfig
from robustrank.config.data import DatasetConfig
from robustrank.data import Collection, load_dataset, read_trec_run
from robustrank.executors import JobRegistry, Progress, RerankJob, UnitPool
from robustrank.lexicon import Lexicon
from robustrank.metrics import evaluate
from robustrank.pipeline import first_stage_bm25, rerank
from robustrank.ranked import check_finite
from robustrank.rankers.base import Ranker
from robustrank.rankers.bm25 import BM25Ranker
from robustrank.seeds import derive_seed, stream_seed

__all__ = ["AuditContext"]

log = logging.getLogger(__name__)


class AuditContext:
    """Shared state of one audit.

    Args:
        config: The validated configuration.
        ranker: The (cached) ranker under audit.
        progress: Show progress (bars, or JSON lines with ``progress_mode="json"``).
        progress_mode: ``bar`` or ``json`` when ``progress`` is on.
    """

    def __init__(
        self,
        config: AuditConfig,
        ranker: Ranker,
        *,
        progress: bool = False,
        checkpoint: Checkpoint | None = None,
        artifacts: Path | None = None,
        progress_mode: str = "bar",
    ):
        self.config = config
        self.checkpoint = checkpoint or Checkpoint(None, "")
        self.artifacts = artifacts
        self.ranker = ranker
        self.progress = progress and progress_mode == "bar"
        """tqdm bars of inner loops (only in bar mode)."""
        self.reporter = Progress(progress_mode if progress else "off")
        self.seed = config.seed
        self.jobs = JobRegistry()
        self.jobs.add(ranker, config.ranker, config.base_dir)
        self._pool: UnitPool | None = None
        self.timings: dict[str, float] = {}
        self._collections: dict[str, Collection] = {}
        self._bm25: dict[str, Any] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._lexicon: Any = None
        self._first_stage: Any = None
        self.recorded_runs: dict[tuple[str, str, str], Any] = {}
        """Ranked lists by (dataset, variation, system), written as TREC runs with ``output.runs``."""
        self.task_results: dict[str, dict[str, Any]] = {}
        """Results of the tasks finished so far in this audit, by task key (e.g. ``t4``)."""

    def __reduce__(self):
        raise TypeError("the audit context cannot be sent to a worker (a job refers to it); pass what the job needs instead")

    # -- data ---------------------------------------------------------------------------------
    def collection(self, ds: DatasetConfig) -> Collection:
        """Load (once) the collection of a dataset entry."""
        key = ds.display_name
        if key not in self._collections:
            with self.timed(f"load:{key}"):
                self._collections[key] = load_dataset(ds, self.config.resolve)
        return self._collections[key]

    @property
    def in_domain(self) -> Collection:
        """The in-domain collection."""
        return self.collection(self.config.datasets.in_domain)

    def loaded_collections(self) -> dict[str, Collection]:
        """Collections loaded so far, by name."""
        return dict(self._collections)

    def query_ids(self, coll: Collection) -> list[str]:
        """Judged query ids evaluated on ``coll`` (the first ``max_queries`` when set)."""
        qids = coll.judged_query_ids()
        if self.config.max_queries:
            qids = qids[: self.config.max_queries]
        return qids

    def result_of(self, key: str) -> dict[str, Any] | None:
        """The result of task ``key`` if it finished earlier in this audit (see ``Task.after``)."""
        return self.task_results.get(key)

    def stream_seed(self, *parts: object) -> int:
        """An ``int`` seed on the stream ``parts`` of the audit seed (see :mod:`robustrank.seeds`)."""
        return stream_seed(self.seed, *parts)

    def rng(self, *parts: object) -> np.random.Generator:
        """A generator seeded from the audit seed and ``parts`` (e.g. task name, query id)."""
        return np.random.default_rng(derive_seed(self.seed, *parts))

    @property
    def lexicon(self):
        """The synonym lexicon (``lexicon:`` of the config, else the bundled one), loaded once."""
        if self._lexicon is None:

            path = self.config.resolve(self.config.lexicon) if self.config.lexicon else None
            self._lexicon = Lexicon.load(path)
        return self._lexicon

    def lexicon_info(self) -> dict[str, Any] | None:
        """Provenance of the lexicon if a task used it (name, version, sha256), else None."""
        return self._lexicon.info if self._lexicon is not None else None

    # -- systems ------------------------------------------------------------------------------
    def bm25(self, coll: Collection):
        """The BM25 ranker indexed on ``coll`` (built once)."""
        if coll.name not in self._bm25:

            p = self.config.candidates.bm25
            with self.timed(f"bm25_index:{coll.name}"):
                self._bm25[coll.name] = BM25Ranker(coll.documents, k1=p.k1, b=p.b, stem=p.stem, stopwords=p.stopwords, progress=self.progress)
        return self._bm25[coll.name]

    def runs(self, coll: Collection) -> dict[str, Any]:
        """BM25 run, candidates and neural run for the evaluated queries of ``coll`` (cached).

        Returns:
            {"bm25": run, "candidates": run, "neural": run, "queries": {query_id: text}}.
        """
        if coll.name not in self._runs:
            qids = self.query_ids(coll)
            queries = {q: coll.queries[q].text for q in qids}
            cfg = self.config.candidates
            with self.timed(f"first_stage:{coll.name}"):
                bm25_run = first_stage_bm25(self.bm25(coll), queries, cfg.depth, progress=self.progress)
                if cfg.source == "run" and coll.name == self.in_domain.name:
                    full = read_trec_run(self.config.resolve(cfg.run))
                    candidates = {q: [(s.doc_id, s.score) for s in full.get(q, [])[: cfg.depth]] for q in qids}
                else:
                    candidates = self.first_stage(coll, queries, bm25_run)
            run_only = getattr(getattr(self.ranker, "inner", self.ranker), "run_for", None)
            with self.timed(f"rerank:{coll.name}"):
                if run_only is not None:  # ranker type run: the system under test is a run file
                    neural = run_only(coll.name, qids)
                else:
                    neural = self.rerank(coll.name, queries, candidates, coll.documents, desc=f"rerank {coll.name}")
            self._runs[coll.name] = {"bm25": bm25_run, "candidates": candidates, "neural": neural, "queries": queries}
            for system in ("bm25", "candidates", "neural"):
                self.record_run(coll.name, "original", system, self._runs[coll.name][system])
        return self._runs[coll.name]

    def first_stage(self, coll: Collection, queries: Mapping[str, str], bm25_run) -> dict[str, list[tuple[str, float]]]:
        """Candidates for ``queries`` from the configured first stage: BM25's run, or dense / hybrid."""
        if self.config.candidates.source not in ("dense", "hybrid"):
            return bm25_run
        self.dense_retriever(coll)
        with self.timed(f"dense_retrieve:{coll.name}"):
            return self._first_stage.candidates(coll, queries, bm25_run)

    def dense_retriever(self, coll: Collection):
        """The dense retriever over ``coll`` (``candidates.dense.ranker`` or the ranker under audit; encoded once)."""
        if self._first_stage is None:
            from robustrank.retrieval.stage import FirstStage

            with self.timed("build_first_stage"):
                self._first_stage = FirstStage.from_context(self)
        with self.timed(f"dense_index:{coll.name}"):
            return self._first_stage.retriever(coll)

    def first_stage_info(self) -> dict[str, Any] | None:
        """Dense/hybrid first stage: index, cache use, approximate recall per collection (None for BM25/run)."""
        return self._first_stage.describe() if self._first_stage is not None else None

    def record_run(self, dataset: str, variation: str, system: str, run) -> None:
        """Keep a ranked list for export as a TREC run (``output.runs``)."""
        self.recorded_runs[(dataset, variation, system)] = run

    def rerank(
        self,
        label: str,
        queries: Mapping[str, str],
        candidates,
        documents,
        *,
        ranker: Ranker | None = None,
        ranker_config: Any = None,
        desc: str = "rerank",
    ) -> dict[str, list[tuple[str, float]]]:
        """Re-rank candidates with a ranker, one checkpointed work unit per query.

        Units are keyed ``rerank / <label>/<query_id>``; on resume, finished queries are read
        back from the checkpoint and only the rest are scored.

        Args:
            label: Identifies the run (e.g. collection name, or task/variation/collection).
            queries: query_id -> text.
            candidates: query_id -> [(doc_id, score)].
            documents: doc_id -> Document.
            ranker: Defaults to the ranker under audit.
            ranker_config: RankerConfig of ``ranker`` (default: the audited one), used to rebuild
                it in worker processes when ``executor.type`` is processes or ray.
            desc: Progress bar label.
        """
        out: dict[str, list[tuple[str, float]]] = {}
        todo = {}
        for qid, text in queries.items():
            done = self.checkpoint.get("rerank", f"{label}/{qid}")
            if done is None:
                todo[qid] = text
            else:
                out[qid] = [(d, s) for d, s in done]

        if not todo:
            return {q: out[q] for q in queries}
        ex = self.config.executor
        rc = ranker_config if ranker_config is not None else (self.config.ranker if ranker is None else None)
        with self.reporter.bar("rerank", desc, len(todo)) as bar:
            def store(qid: str, ranked: list[tuple[str, float]]) -> None:
                check_finite(qid, ranked, f"ranker {getattr(ranker or self.ranker, 'name', '?')!r}")
                out[qid] = [(d, s) for d, s in self.checkpoint.put("rerank", f"{label}/{qid}", ranked)]
                bar.update()

            if ex.type != "in-process" and rc is not None and rc.type != "bm25":
                if ranker is not None:
                    self.jobs.add(ranker, rc, self.config.base_dir)
                units = []
                for qid, text in todo.items():
                    ids = [d for d, _ in candidates.get(qid, ()) if d in documents]
                    units.append((qid, (text, ids, [documents[d].full_text for d in ids])))
                with self.timed(f"executor:{ex.type}"):
                    self.pool.map(f"rerank {label}", RerankJob(ranker or self.ranker), units, store)
            else:
                rerank(ranker or self.ranker, todo, candidates, documents, on_query=store)
        return {q: out[q] for q in queries}

    @property
    def pool(self) -> UnitPool:
        """The audit's worker pool (``executor:``), started on first use and kept until :meth:`close`."""
        if self._pool is None:
            self._pool = UnitPool(self.config.executor, self.jobs, device=self.config.ranker.device)
        return self._pool

    def executor_info(self) -> dict[str, Any]:
        """Backend, units run on it, and jobs that fell back to in-process (for results.json)."""
        info: dict[str, Any] = {"type": self.config.executor.type}
        if self._pool is not None:
            info.update(units_run=self._pool.units_run, gpus=self._pool.gpus, fallbacks=list(self._pool.fallbacks))
        return info

    def close(self) -> None:
        """Stop the worker pool, if one was started."""
        if self._pool is not None:
            self._pool.close()

    def map_units(self, task: str, step: str, job: Any, units: Mapping[str, Any]) -> dict[str, Any]:
        """Run checkpointed work units through the executor; returns unit key -> result.

        ``units`` maps each unit key (as in :meth:`unit`) to its picklable payload; ``job`` runs a
        payload (``run`` / ``run_batch``, see :mod:`robustrank.executors.jobs`). Finished units are
        read back from the checkpoint; the rest run on the configured backend and are stored as each
        one finishes, so an interrupted step resumes where it stopped, on any backend. Results are the
        JSON round-tripped form, as with :meth:`unit`. Payloads and job must carry their own
        randomness (e.g. a generator from :meth:`rng` per unit), never depend on execution order.
        """
        out: dict[str, Any] = {}
        todo = []
        for key, payload in units.items():
            done = self.checkpoint.get(task, key)
            if done is None:
                todo.append((key, payload))
            else:
                out[key] = done
        with self.reporter.bar(task, step, len(units)) as bar:
            bar.update(len(out))

            def store(key: str, result: Any) -> None:
                out[key] = self.checkpoint.put(task, key, result)
                bar.update()

            if todo:
                with self.timed(f"executor:{self.config.executor.type}"):
                    self.pool.map(f"{task} {step}", job, todo, store)
        return {k: out[k] for k in units}

    def unit(self, task: str, unit: str, compute: Callable[[], Any]) -> Any:
        """Run one checkpointed work unit: return its stored result, or compute and store it.

        The returned value is the JSON round-tripped form in both cases, so a resumed audit sees
        exactly what an uninterrupted one does. Derive the unit's randomness from
        ``ctx.rng(task, unit)`` so the result does not depend on execution order.
        """
        done = self.checkpoint.get(task, unit)
        if done is not None:
            return done
        return self.checkpoint.put(task, unit, compute())

    def artifact_dir(self, kind: str, key: str) -> Path:
        """A folder for a cached intermediate artefact (e.g. a trained surrogate), by content key.

        Lives under ``<output>/artifacts/<kind>/<key>`` and survives ``--resume``.
        """
        base = self.artifacts or (Path(self.config.output_dir()) / "artifacts")
        path = base / kind / key
        path.mkdir(parents=True, exist_ok=True)
        return path

    def evaluate(self, run, coll: Collection, query_ids: list[str] | None = None) -> dict[str, dict[str, float]]:
        """Per-query values of the configured measures on ``coll``."""
        return evaluate(run, coll.qrels, self.config.measures, query_ids if query_ids is not None else self.query_ids(coll))

    # -- bookkeeping --------------------------------------------------------------------------
    def timed(self, label: str):
        """Context manager adding the elapsed seconds to ``timings[label]``."""
        ctx = self

        class _Timer:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                ctx.timings[label] = ctx.timings.get(label, 0.0) + time.perf_counter() - self.t0
                return False

        return _Timer()

    def resolve(self, path: str) -> Path:
        """Resolve a config path (relative to the config file)."""
        return self.config.resolve(path)
