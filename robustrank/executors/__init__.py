"""Where work units run: in-process, local worker processes, or a Ray cluster.

Every expensive loop of an audit is a list of checkpointed work units: re-ranking a query's
candidates (T1-T3, checkpoint variance), attacking one target (T4), certifying one query
(certify). The audit context hands each list to one :class:`UnitPool` that lives for the whole
audit (:mod:`.pool`), with a *job* that runs the units (:mod:`.jobs`: shipped once, kept warm in
every worker, rankers rebuilt from their config rather than pickled). :mod:`.progress` reports
units done / total, rate and ETA for every backend.
"""

from robustrank.config.executor import ExecutorConfig
from robustrank.executors.jobs import JobRegistry
from robustrank.executors.pool import UnitPool, visible_gpus
from robustrank.executors.progress import Progress, ProgressBar
from robustrank.executors.rerank import RerankJob, RerankUnit

__all__ = ["ExecutorConfig", "JobRegistry", "Progress", "ProgressBar", "RerankJob", "RerankUnit", "UnitPool", "visible_gpus"]
