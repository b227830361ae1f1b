"""robustrank's public plugin API: everything a ranker, task, attack or defence plugin may use.

Plugins (the built-in ones in ``attacks/`` and ``defenses/`` included) import from this module
only; anything else in robustrank is internal and may change. Register a plugin in your
package's ``pyproject.toml``::

    [project.entry-points."robustrank.attacks"]
    my_attack = "my_package.attack:MyAttack"

Groups: ``robustrank.rankers``, ``robustrank.tasks``, ``robustrank.attacks``,
``robustrank.defenses``. A plugin is imported only when a config names it.
"""

from robustrank.adversarial import (
    Attack,
    AttackEnvironment,
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    Edit,
    VictimOracle,
)
from robustrank.attack_text import apply_edits, changed_words, diff_edits, document_words, match_case, query_terms, stuffing_edits, word_spans
from robustrank.certify import (
    CertifySettings,
    QueryCertificate,
    Smoother,
    SynonymSets,
    apply_score_map,
    certify_query,
    resolve_score_map,
)
from robustrank.context import AuditContext, derive_seed
from robustrank.defense import DefenseEnvironment, DocumentScreen, RankerDefense
from robustrank.lexicon import Lexicon, Synonym
from robustrank.metrics import evaluate
from robustrank.rankers.base import (
    Ranker,
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
from robustrank.schema_base import StrictModel
from robustrank.stats import bootstrap_ci, correct_pvalues, paired_comparison, summarize
from robustrank.tasks.base import Task, TaskSkipped
from robustrank.text import bm25_tokenize, stopwords, words
from robustrank.training import PairwiseExample, TrainingConfig, train_pairwise_cross_encoder

__all__ = [
    "Attack",
    "AttackEnvironment",
    "AttackOutcome",
    "AttackTarget",
    "AuditContext",
    "Budget",
    "BudgetExceeded",
    "CachedRanker",
    "CertifySettings",
    "DefenseEnvironment",
    "Document",
    "DocumentScreen",
    "Edit",
    "Lexicon",
    "PairwiseExample",
    "Qrel",
    "Query",
    "QueryCertificate",
    "Ranker",
    "RankerDefense",
    "ScoredDoc",
    "Smoother",
    "StrictModel",
    "SupportsFingerprint",
    "SupportsGradients",
    "SupportsPairs",
    "SupportsTokenizer",
    "Synonym",
    "SynonymSets",
    "Task",
    "TaskSkipped",
    "TokenGradients",
    "TrainingConfig",
    "VictimOracle",
    "apply_edits",
    "apply_score_map",
    "bm25_tokenize",
    "changed_words",
    "diff_edits",
    "document_words",
    "match_case",
    "query_terms",
    "stuffing_edits",
    "word_spans",
    "bootstrap_ci",
    "certify_query",
    "correct_pvalues",
    "derive_seed",
    "evaluate",
    "paired_comparison",
    "rank",
    "resolve_score_map",
    "resolve_model",
    "score_pairs",
    "stopwords",
    "summarize",
    "train_pairwise_cross_encoder",
    "words",
]
