"""CertDR certification of top-K robustness to word substitution (Wu et al., CIKM 2022).

Modules, one job each: :mod:`~robustrank.certify.synonyms` (perturbation sets S(w) and per-word
TV terms), :mod:`~robustrank.certify.smoothing` (the smoothing distribution),
:mod:`~robustrank.certify.scoremap` (scores to [0, 1]), :mod:`~robustrank.certify.bounds`
(Hoeffding / empirical-Bernstein intervals, time-uniform checkpoint grid),
:mod:`~robustrank.certify.decision` (the certification condition) and
:mod:`~robustrank.certify.procedure` (fixed-n and adaptive certification of one query).
See ``docs/certify.md``.
"""

from robustrank.certify.bounds import (
    CheckpointGrid,
    Interval,
    empirical_bernstein_radius,
    hoeffding_radius,
    interval,
)
from robustrank.certify.decision import KDecision, decide, feasible
from robustrank.certify.procedure import (
    CertifySettings,
    QueryCertificate,
    certify_query,
)
from robustrank.certify.scoremap import (
    apply_score_map,
    mapped_scorer,
    resolve_score_map,
)
from robustrank.certify.smoothing import PreparedText, Smoother
from robustrank.certify.synonyms import SynonymSets

__all__ = [
    "CertifySettings",
    "CheckpointGrid",
    "Interval",
    "KDecision",
    "PreparedText",
    "QueryCertificate",
    "Smoother",
    "SynonymSets",
    "apply_score_map",
    "certify_query",
    "decide",
    "empirical_bernstein_radius",
    "feasible",
    "hoeffding_radius",
    "interval",
    "mapped_scorer",
    "resolve_score_map",
]
