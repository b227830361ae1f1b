"""CertDR certification of top-K robustness to word substitution (Wu et al., CIKM 2022).

Modules, one job each: :mod:`~robustrank.certify.synonyms` (perturbation sets S(w) and per-word
TV terms), :mod:`~robustrank.certify.smoothing` (the smoothing distribution),
:mod:`~robustrank.certify.scoremap` (scores to [0, 1], incl. the calibrated map),
:mod:`~robustrank.certify.betting` (anytime-valid betting confidence sequences),
:mod:`~robustrank.certify.bounds` (Hoeffding / empirical-Bernstein intervals, checkpoint grid),
:mod:`~robustrank.certify.allocation` (alpha split over documents),
:mod:`~robustrank.certify.decision` (the certification condition),
:mod:`~robustrank.certify.procedure` (fixed-n and adaptive certification of one query) and
:mod:`~robustrank.certify.verdict` (certified / broken / inconclusive from T4's attacks).
See ``docs/certify.md``.
"""

from robustrank.certify.allocation import allocate_alpha, rank_weights
from robustrank.certify.betting import betting_interval
from robustrank.certify.bounds import CheckpointGrid, Interval, empirical_bernstein_radius, hoeffding_radius, interval
from robustrank.certify.decision import KDecision, decide, feasible
from robustrank.certify.procedure import CertifySettings, QueryCertificate, certify_query, certify_scores
from robustrank.certify.scoremap import ScoreMap, apply_score_map, fit_calibrated_map, mapped_scorer, resolve_score_map
from robustrank.certify.smoothing import PreparedText, Smoother
from robustrank.certify.synonyms import SynonymSets

__all__ = [
    "CertifySettings",
    "CheckpointGrid",
    "Interval",
    "KDecision",
    "PreparedText",
    "QueryCertificate",
    "ScoreMap",
    "Smoother",
    "SynonymSets",
    "allocate_alpha",
    "apply_score_map",
    "betting_interval",
    "certify_query",
    "certify_scores",
    "decide",
    "empirical_bernstein_radius",
    "feasible",
    "fit_calibrated_map",
    "hoeffding_radius",
    "interval",
    "mapped_scorer",
    "rank_weights",
    "resolve_score_map",
]
