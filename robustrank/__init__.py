"""robustrank: robustness and adversarial audits for neural ranking models.

Public API (imported lazily; nothing heavy happens at import time):

* :func:`robustrank.config.load_config` / :class:`robustrank.config.AuditConfig`
* :func:`robustrank.audit.run_audit`
* :mod:`robustrank.rankers` (the ``Ranker`` protocol, capabilities, ``CachedRanker``)
* :mod:`robustrank.records` (``Document``, ``Query``, ``Qrel``, ``ScoredDoc``)
* :mod:`robustrank.plugins` (entry-point registry)
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
