"""The unit pool: one set of workers for the whole audit, running any job's units.

:class:`UnitPool` runs the units of a job (see :mod:`.jobs`) on the configured backend and hands
each result to a callback as soon as it is done, so results stream into the checkpoint:

* ``in-process``: the driver runs the job itself, chunk by chunk.
* ``processes``: one ``ProcessPoolExecutor`` (``spawn``) started on first use and kept until the
  audit ends, so workers keep rankers and jobs loaded between steps and tasks. At most
  ``max_in_flight`` chunks are outstanding; if a worker dies the pool is rebuilt and the chunks
  that were in flight are resubmitted (each at most ``max_retries`` times). A job travels as a
  file in a private temporary folder, read once per worker.
* ``ray``: Ray tasks (``max_retries``: Ray re-runs a task whose worker died); a job is put in the
  object store once and fetched once per worker process. Without ``address`` a local cluster
  is started on 127.0.0.1 with ``workers`` CPUs and an object store capped at ``object_store_mb``.

Each worker runs ``threads_per_worker`` torch threads; with visible GPUs and ``device`` auto or
cuda, each worker takes one GPU (processes: ``CUDA_VISIBLE_DEVICES`` round-robin; Ray:
``num_gpus=1`` per task). Workers use the driver's shared artefact cache folder (``cache_dir:`` of
model.yaml, :func:`robustrank.sharedcache.worker_setting`). A job that cannot be pickled runs in-process with a warning, recorded
in :attr:`UnitPool.fallbacks`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from robustrank.config.executor import ExecutorConfig
from robustrank.executors.jobs import WORKER_DEVICE_ENV, JobRegistry, cached_job, dumps_job, iter_job, load_job, run_job
from robustrank.gpus import detect_gpus, uses_gpu, worker_device, worker_visible_devices
from robustrank.sharedcache import enter_worker, worker_setting

__all__ = ["UnitPool"]

log = logging.getLogger(__name__)

Unit = tuple[str, Any]
"""(unit key, payload)."""


def visible_gpus() -> list[str]:
    """GPUs this process may hand to workers ([] without torch or CUDA)."""
    try:
        return detect_gpus()
    except Exception:  # noqa: BLE001 - no usable CUDA is no GPU
        return []


def _init_worker(threads: int, device: str, gpus: list[str], counter: Any, cache: str = "off") -> None:
    """Process-pool initializer: the driver's shared cache folder, torch threads and, with GPUs,
    one device per worker (round-robin)."""
    enter_worker(cache)
    if uses_gpu(device, gpus):
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        os.environ["CUDA_VISIBLE_DEVICES"] = worker_visible_devices(index, device, gpus) or ""
        os.environ[WORKER_DEVICE_ENV] = worker_device(device, gpus)
    import torch

    torch.set_num_threads(threads)


def _process_chunk(digest: str, path: str, payloads: list[Any]) -> list[Any]:
    return run_job(load_job(digest, path), payloads)


def _ray_chunk(threads: int, gpu: bool, digest: str, ref: list[Any], payloads: list[Any], cache: str = "off") -> list[Any]:
    import ray
    import torch

    enter_worker(cache)

    if gpu:  # Ray set CUDA_VISIBLE_DEVICES to this task's GPU
        os.environ[WORKER_DEVICE_ENV] = "cuda:0"

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    job = cached_job(digest)
    return run_job(job if job is not None else load_job(digest, ray.get(ref[0])), payloads)


class UnitPool:
    """Workers for one audit (see module docstring).

    Args:
        cfg: The ``executor:`` section.
        registry: Rankers replaced by references when jobs are pickled.
        device: ``ranker.device`` (GPUs are assigned only for auto / cuda*).
    """

    def __init__(self, cfg: ExecutorConfig, registry: JobRegistry | None = None, *, device: str = "auto"):
        self.cfg = cfg
        self.registry = registry or JobRegistry()
        self.device = device
        self.gpu_ids = visible_gpus() if cfg.type != "in-process" else []  # in-process: the audit's own ranker places itself
        self.gpus = len(self.gpu_ids) if uses_gpu(device, self.gpu_ids) else 0
        self.fallbacks: list[str] = []
        self.units_run = 0
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._pool: Any = None
        self._ray_started = False
        self._ray_task: Any = None
        self._ray_gpu = False
        self._ray_refs: dict[str, Any] = {}

    def map(self, label: str, job: Any, units: Sequence[Unit], on_result: Callable[[str, Any], Any]) -> None:
        """Run ``job`` on every unit; ``on_result(unit key, result)`` as each finishes (any order).

        An exception raised by the job propagates (after the pool has stopped submitting).
        """
        if not units:
            return
        chunks = [list(units[i : i + self.cfg.units_per_task]) for i in range(0, len(units), self.cfg.units_per_task)]
        if self.cfg.type != "in-process":
            try:
                digest, data = dumps_job(job, self.registry)
            except Exception as exc:  # noqa: BLE001 - an unpicklable job still runs, in the driver
                reason = f"{label}: job cannot be pickled ({type(exc).__name__}: {str(exc)[:200]}); ran in-process"
                log.warning("executor %s: %s", self.cfg.type, reason)
                self.fallbacks.append(reason)
            else:
                try:
                    (self._map_processes if self.cfg.type == "processes" else self._map_ray)(digest, data, chunks, on_result)
                finally:  # the step is over: drop its job file / object (workers keep what they loaded)
                    self._drop_job(digest)
                return
        for chunk in chunks:
            # lazily: a job without run_batch is stored unit by unit, so progress and checkpoint follow each unit
            for (key, _), result in zip(chunk, iter_job(job, [p for _, p in chunk])):
                self.units_run += 1
                on_result(key, result)

    # -- processes ----------------------------------------------------------------------------
    def _job_file(self, digest: str, data: bytes) -> str:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="robustrank-jobs-")  # mode 0700
        path = Path(self._tmp.name) / f"{digest}.pkl"
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return str(path)

    def _process_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context("spawn")
            counter = ctx.Value("i", 0)
            self._pool = ProcessPoolExecutor(
                max_workers=self.cfg.workers, mp_context=ctx, initializer=_init_worker,
                initargs=(self.cfg.threads_per_worker, self.device, self.gpu_ids, counter, worker_setting()),
            )
        return self._pool

    def _map_processes(self, digest: str, data: bytes, chunks: list[list[Unit]], on_result: Callable) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        path = self._job_file(digest, data)
        pending = list(range(len(chunks)))
        attempts = [0] * len(chunks)
        while pending:
            pool = self._process_pool()
            in_flight: dict[Any, int] = {}
            broken = False
            try:
                while (pending or in_flight) and not broken:
                    while pending and len(in_flight) < self.cfg.max_in_flight:
                        i = pending.pop(0)
                        attempts[i] += 1
                        try:
                            in_flight[pool.submit(_process_chunk, digest, path, [p for _, p in chunks[i]])] = i
                        except BrokenProcessPool:  # a worker died between two submissions
                            broken = True
                            pending.insert(0, i)
                            break
                    if broken:
                        break
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = in_flight.pop(fut)
                        try:
                            results = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            pending.insert(0, i)
                            continue
                        for (key, _), result in zip(chunks[i], results):
                            self.units_run += 1
                            on_result(key, result)
            except Exception:
                for fut in in_flight:  # an error in a unit: submit nothing more; the pool stays warm
                    fut.cancel()
                raise
            except BaseException:  # interrupted: stop the workers
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                raise
            if broken:
                # chunks still in flight on the broken pool are resubmitted on a fresh one
                pending = sorted(set(pending) | set(in_flight.values()))
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                over = [i for i in pending if attempts[i] > self.cfg.max_retries]
                if over:
                    raise RuntimeError(f"a worker died {attempts[over[0]]} times on the same units; giving up")
                log.warning("a worker process died; resubmitting %d chunk(s) on a fresh pool", len(pending))

    # -- ray ----------------------------------------------------------------------------------
    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise RuntimeError("executor type 'ray' needs Ray: pip install 'robustrank[ray]'") from None
        if not ray.is_initialized():
            if self.cfg.address:
                ray.init(address=self.cfg.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.cfg.workers, num_gpus=len(self.gpu_ids),
                    object_store_memory=self.cfg.object_store_mb * 1024 * 1024,
                    include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False,
                )
            self._ray_started = True
        if self._ray_task is None:
            # the cluster's GPUs decide (the driver's own say nothing about a remote cluster)
            cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
            self._ray_gpu = bool(cluster_gpus) and (self.device == "auto" or self.device.startswith("cuda"))
            self._ray_task = ray.remote(max_retries=self.cfg.max_retries, num_cpus=1, num_gpus=1 if self._ray_gpu else 0)(_ray_chunk)
        return ray

    def _map_ray(self, digest: str, data: bytes, chunks: list[list[Unit]], on_result: Callable) -> None:
        ray = self._ray()
        if digest not in self._ray_refs:
            self._ray_refs[digest] = ray.put(data)
        ref = [self._ray_refs[digest]]  # nested: workers fetch it only on a cache miss
        cache = worker_setting()
        queue = list(range(len(chunks)))
        in_flight: dict[Any, int] = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < self.cfg.max_in_flight:
                    i = queue.pop(0)
                    in_flight[self._ray_task.remote(self.cfg.threads_per_worker, self._ray_gpu, digest, ref, [p for _, p in chunks[i]], cache)] = i
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for obj in done:
                    i = in_flight.pop(obj)
                    for (key, _), result in zip(chunks[i], ray.get(obj)):
                        self.units_run += 1
                        on_result(key, result)
        except BaseException:
            for obj in in_flight:
                ray.cancel(obj, force=True)
            raise

    def _drop_job(self, digest: str) -> None:
        self._ray_refs.pop(digest, None)
        if self._tmp is not None:
            (Path(self._tmp.name) / f"{digest}.pkl").unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the workers (and a Ray cluster this pool started); remove job files."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._ray_started:
            import ray

            self._ray_refs.clear()
            ray.shutdown()
            self._ray_started = False
            self._ray_task = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
