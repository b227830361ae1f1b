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
    "DefenseEnvironment",
    "Document",
    "DocumentScreen",
    "Edit",
    "Lexicon",
    "PairwiseExample",
    "Qrel",
    "Query",
    "Ranker",
    "RankerDefense",
    "ScoredDoc",
    "StrictModel",
    "SupportsFingerprint",
    "SupportsGradients",
    "SupportsPairs",
    "SupportsTokenizer",
    "Synonym",
    "Task",
    "TaskSkipped",
    "TokenGradients",
    "TrainingConfig",
    "VictimOracle",
    "bm25_tokenize",
    "bootstrap_ci",
    "correct_pvalues",
    "derive_seed",
    "evaluate",
    "paired_comparison",
    "rank",
    "score_pairs",
    "stopwords",
    "summarize",
    "train_pairwise_cross_encoder",
    "words",
]
