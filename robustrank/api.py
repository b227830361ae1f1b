"""robustrank's public plugin API: everything a ranker, task, attack or defence plugin may use.

Plugins (the built-in ones in ``attacks/`` and ``defenses/`` included) import from this module
only; anything else in robustrank is internal and may change. Nothing here is mutable audit
state: a task receives its context through :class:`TaskContext`. Register a plugin in your
package's ``pyproject.toml``::

    [project.entry-points."robustrank.attacks"]
    my_attack = "my_package.attack:MyAttack"

Groups: ``robustrank.rankers``, ``robustrank.tasks``, ``robustrank.attacks``,
``robustrank.defenses``. A plugin is imported only when a config names it.

What is here, by purpose:

* records: :class:`Document`, :class:`Query`, :class:`Qrel`, :class:`ScoredDoc`;
* rankers: the :class:`Ranker` protocol and its capabilities (:class:`SupportsGradients`,
  :class:`SupportsEmbeddingTable` for white-box attacks, ...), :func:`score_pairs`,
  :func:`rank`, :class:`CachedRanker`, :func:`resolve_model`;
* tasks: :class:`Task`, :class:`TaskContext`, :class:`TaskSkipped`, :class:`StrictModel`
  (base of every ``Options`` model), :func:`derive_seed`, :func:`evaluate`;
* results: :class:`MetricKey` (metric keys), :class:`PerQueryRecord` and
  :func:`per_query_records` (the long per-query layout), :class:`TaskView` (report view);
* attacks: :class:`Attack`, :class:`AttackEnvironment`, :class:`AttackTarget`,
  :class:`AttackOutcome`, :class:`Budget`, :class:`BudgetExceeded`, :class:`Edit`,
  :class:`VictimOracle` and the text-edit helpers;
* defences: :class:`RankerDefense`, :class:`DocumentScreen`, :class:`DefenseEnvironment` and the
  randomized-smoothing primitives (:class:`SynonymSets`, :class:`Smoother`, score maps);
* language: :class:`Lexicon`, :class:`Synonym`, :class:`NgramLM`, :func:`train_ngram_lm`,
  :func:`words`, :func:`stopwords`, :func:`bm25_tokenize`;
* statistics: :func:`summarize`, :func:`bootstrap_ci`, :func:`paired_comparison`,
  :func:`metric_drop`, :func:`correct_pvalues`;
* training: :class:`PairwiseExample`, :class:`TrainingConfig`, :func:`train_pairwise_cross_encoder`,
  score distillation (:class:`ScoredList`, :class:`DistillationConfig`, :func:`train_distilled_ranker`)
  and held-out fidelity (:func:`measure_fidelity`, :func:`top_k_overlap`, :func:`rank_biased_overlap`).
"""

from robustrank.adversarial.defenses import DefenseEnvironment, DocumentScreen, RankerDefense, defended_score_fn
from robustrank.adversarial.distillation import DistillationConfig, ScoredList, train_distilled_ranker
from robustrank.adversarial.edits import (
    apply_edits,
    changed_words,
    diff_edits,
    document_words,
    match_case,
    query_terms,
    stuffing_edits,
    word_spans,
)
from robustrank.adversarial.fidelity import measure_fidelity, rank_biased_overlap, top_k_overlap
from robustrank.adversarial.lm import NgramLM, train_ngram_lm
from robustrank.adversarial.training import PairwiseExample, TrainingConfig, train_pairwise_cross_encoder
from robustrank.adversarial.types import (
    Attack,
    AttackEnvironment,
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    Edit,
    VictimOracle,
)
from robustrank.certify.scoremap import apply_score_map, resolve_score_map
from robustrank.certify.smoothing import Smoother
from robustrank.certify.synonyms import SynonymSets
from robustrank.errors import TaskSkipped
from robustrank.lexicon import Lexicon, Synonym
from robustrank.metrics import evaluate
from robustrank.rankers.base import (
    Ranker,
    SupportsEmbeddingTable,
    SupportsFingerprint,
    SupportsGradients,
    SupportsPairs,
    SupportsTokenizer,
    TokenGradients,
    rank,
    score_pairs,
)
from robustrank.rankers.cache import CachedRanker
from robustrank.rankers.resolve import resolve_model
from robustrank.records import Document, Qrel, Query, ScoredDoc
from robustrank.results import MetricKey, PerQueryRecord, per_query_records
from robustrank.schema_base import StrictModel
from robustrank.seeds import derive_seed
from robustrank.stats import bootstrap_ci, correct_pvalues, metric_drop, paired_comparison, summarize
from robustrank.tasks.base import Task, TaskContext, TaskView
from robustrank.text import bm25_tokenize, stopwords, words

__all__ = [
    "Attack",
    "AttackEnvironment",
    "AttackOutcome",
    "AttackTarget",
    "Budget",
    "BudgetExceeded",
    "CachedRanker",
    "DefenseEnvironment",
    "DistillationConfig",
    "Document",
    "DocumentScreen",
    "Edit",
    "Lexicon",
    "MetricKey",
    "NgramLM",
    "PairwiseExample",
    "PerQueryRecord",
    "Qrel",
    "Query",
    "Ranker",
    "RankerDefense",
    "ScoredDoc",
    "ScoredList",
    "Smoother",
    "StrictModel",
    "SupportsEmbeddingTable",
    "SupportsFingerprint",
    "SupportsGradients",
    "SupportsPairs",
    "SupportsTokenizer",
    "Synonym",
    "SynonymSets",
    "Task",
    "TaskContext",
    "TaskSkipped",
    "TaskView",
    "TokenGradients",
    "TrainingConfig",
    "VictimOracle",
    "apply_edits",
    "apply_score_map",
    "bm25_tokenize",
    "bootstrap_ci",
    "changed_words",
    "correct_pvalues",
    "defended_score_fn",
    "derive_seed",
    "diff_edits",
    "document_words",
    "evaluate",
    "match_case",
    "measure_fidelity",
    "metric_drop",
    "paired_comparison",
    "per_query_records",
    "query_terms",
    "rank",
    "rank_biased_overlap",
    "resolve_model",
    "resolve_score_map",
    "score_pairs",
    "stopwords",
    "stuffing_edits",
    "summarize",
    "top_k_overlap",
    "train_distilled_ranker",
    "train_ngram_lm",
    "train_pairwise_cross_encoder",
    "word_spans",
    "words",
]
