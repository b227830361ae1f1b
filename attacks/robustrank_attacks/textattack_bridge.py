"""TextAttack bridge: any TextAttack transformation + constraints + search method as a ranking attack.

TextAttack (Morris et al., EMNLP 2020 demos) has no ranking goal (QData/TextAttack issue #793).
This module supplies one: the victim is wrapped as a TextAttack model whose output for a text is
the rank the target document would get with that text (one victim query per text, through the
audit's :class:`~robustrank.api.VictimOracle`), and :class:`RankingGoalFunction` scores a text by
``original rank - new rank`` and is complete when the rank reaches ``goal_rank``. The attack's
word budget becomes TextAttack's ``MaxWordsPerturbed`` constraint and its victim-query budget the
goal function's ``query_budget``.

Config example (``tasks.t4.attacks``)::

    - name: textattack
      options: {transformation: WordSwapWordNet, search: GreedyWordSwapWIR, search_options: {wir_method: delete}}

``transformation: robustrank_lexicon`` (the default) swaps words for robustrank's lexicon
synonyms with PRADA's candidate settings (top 50, similarity >= 0.7), so the bridge and PRADA
search the same substitution space (``bench/attack_cost.py``).

Install with ``pip install 'robustrank[textattack]'``. TextAttack's first import runs
``nltk.download`` unless a ``post_install_check_3`` marker exists in ``TA_CACHE_DIR``, and its
stopword constraint needs NLTK's stopword corpus on disk; :func:`offline_textattack` creates the
marker and an NLTK data folder holding robustrank's bundled stopword list (under the attack's
artefact folder) and points ``TA_CACHE_DIR`` / ``NLTK_DATA`` there unless they are already set,
so nothing is downloaded. Core robustrank never imports textattack.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    StrictModel,
    VictimOracle,
    diff_edits,
    document_words,
    stopwords,
)
from robustrank_attacks._common import substitutable_words, word_limit

__all__ = ["TextAttackBridge", "offline_textattack"]

log = logging.getLogger(__name__)


def offline_textattack(folder: Path) -> Any:
    """Import textattack without network access (see module docstring) and return the module."""
    folder = Path(folder)
    ta_cache = Path(os.environ.get("TA_CACHE_DIR") or folder / "textattack")
    ta_cache.mkdir(parents=True, exist_ok=True)
    (ta_cache / "post_install_check_3").touch()
    os.environ.setdefault("TA_CACHE_DIR", str(ta_cache))
    nltk_dir = folder / "nltk_data"
    sw_file = nltk_dir / "corpora" / "stopwords" / "english"
    if not sw_file.is_file():
        sw_file.parent.mkdir(parents=True, exist_ok=True)
        sw_file.write_text("\n".join(sorted(stopwords())) + "\n", encoding="utf-8")
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if str(nltk_dir) not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join([*paths, str(nltk_dir)])
    import nltk

    if str(nltk_dir) not in nltk.data.path:
        nltk.data.path.append(str(nltk_dir))
    import textattack

    return textattack


def _build_classes(ta: Any) -> dict[str, Any]:
    """TextAttack subclasses, created after the lazy import."""
    from textattack.goal_function_results import GoalFunctionResult
    from textattack.goal_functions import GoalFunction
    from textattack.models.wrappers import ModelWrapper
    from textattack.transformations import WordSwap

    class RankingGoalFunctionResult(GoalFunctionResult):
        """Result of a ranking goal: raw output = the target's rank with the text."""

        def get_text_color_input(self):
            return "red"

        def get_text_color_perturbed(self):
            return "blue"

        def get_colored_output(self, color_method=None):
            return f"rank {int(self.raw_output)}"

    class RankingGoalFunction(GoalFunction):
        """Promote the target: score = original rank - rank; complete at rank <= goal_rank."""

        def __init__(self, model_wrapper, goal_rank: int = 1, **kwargs):
            self.goal_rank = goal_rank
            super().__init__(model_wrapper, **kwargs)

        def _process_model_outputs(self, inputs, outputs):
            return np.asarray(outputs, dtype=np.float64).reshape(len(inputs))

        def _is_goal_complete(self, model_output, attacked_text):
            return float(model_output) <= self.goal_rank

        def _get_score(self, model_output, attacked_text):
            return float(self.ground_truth_output) - float(model_output)

        def _goal_function_result_type(self):
            return RankingGoalFunctionResult

    class OracleModelWrapper(ModelWrapper):
        """The victim as a TextAttack model: texts -> ranks of the target (one victim query each)."""

        def __init__(self):
            self.model = self
            self.oracle: VictimOracle | None = None

        def __call__(self, text_input_list, **kwargs):
            return np.asarray(self.oracle.ranks(list(text_input_list)), dtype=np.float64)

    class WordSwapLexicon(WordSwap):
        """Swap a word for a robustrank lexicon synonym (PRADA's candidate set)."""

        def __init__(self, lexicon, k: int = 50, min_similarity: float = 0.7):
            super().__init__()
            self._lexicon, self._k, self._min = lexicon, k, min_similarity

        def _get_replacement_words(self, word):
            subs = substitutable_words(word, self._lexicon, k=self._k, min_similarity=self._min, skip_stopwords=False)
            return subs.get(word.lower(), [])

    return {"goal": RankingGoalFunction, "wrapper": OracleModelWrapper, "lexicon_swap": WordSwapLexicon}


def _lookup(ta: Any, package: str, name: str) -> Any:
    import importlib

    mod = importlib.import_module(f"textattack.{package}")
    if hasattr(mod, name):
        return getattr(mod, name)
    for sub in ("pre_transformation", "overlap", "semantics", "grammaticality", "semantics.sentence_encoders"):
        try:
            m = importlib.import_module(f"textattack.{package}.{sub}")
        except ImportError:
            continue
        if hasattr(m, name):
            return getattr(m, name)
    raise ValueError(f"textattack.{package} has no {name!r}")


class TextAttackBridge:
    """Run a TextAttack transformation + constraints + search method as a ranking attack."""

    name = "textattack"

    class Options(StrictModel):
        """Options of ``textattack``."""

        transformation: str = Field("robustrank_lexicon", description="robustrank_lexicon, or a textattack.transformations class name.")
        transformation_options: dict[str, Any] = Field(default_factory=dict)
        constraints: list[str] = Field(
            default_factory=lambda: ["RepeatModification", "StopwordModification"],
            description="textattack.constraints class names (no options); the word budget is added as MaxWordsPerturbed.",
        )
        search: str = Field("GreedyWordSwapWIR", description="textattack.search_methods class name.")
        search_options: dict[str, Any] = Field(default_factory=lambda: {"wir_method": "delete"})
        goal_rank: int = Field(1, gt=0, description="The search stops once the target reaches this rank.")
        max_words: int | None = Field(10, ge=0, description="Words changed at most (PRADA's m = 10); the task budget also applies.")
        synonyms_k: int = Field(50, gt=0, description="robustrank_lexicon: neighbours considered (PRADA reference 50).")
        min_similarity: float = Field(0.7, ge=-1, le=1, description="robustrank_lexicon: similarity threshold (PRADA reference 0.7).")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()
        self._ta: Any = None
        self._cls: dict[str, Any] = {}
        self._lexicon: Any = None

    def prepare(self, env: Any) -> None:
        """Import textattack offline and build the transformation, constraints and search method."""
        self._ta = offline_textattack(env.artifact_dir("textattack", "offline"))
        self._cls = _build_classes(self._ta)
        self._lexicon = env.lexicon
        o = self.options
        if o.transformation == "robustrank_lexicon":
            self._transformation = self._cls["lexicon_swap"](env.lexicon, o.synonyms_k, o.min_similarity)
        else:
            self._transformation = _lookup(self._ta, "transformations", o.transformation)(**o.transformation_options)
        self._constraints = [_lookup(self._ta, "constraints", c)() for c in o.constraints]
        self._search = _lookup(self._ta, "search_methods", o.search)(**o.search_options)
        self._wrapper = self._cls["wrapper"]()

    def summary(self) -> dict[str, Any]:
        """What was bridged, for results.json."""
        return {
            "textattack_version": getattr(self._ta, "__version__", None) or _dist_version("textattack"),
            "transformation": type(self._transformation).__name__ if self._ta else None,
            "constraints": self.options.constraints + ["MaxWordsPerturbed (word budget)"],
            "search": type(self._search).__name__ if self._ta else None,
            "goal": f"RankingGoalFunction(goal_rank={self.options.goal_rank}): score = original rank - rank",
        }

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Run the TextAttack search on one target through the victim oracle."""
        if self._ta is None:
            raise RuntimeError("textattack: prepare(env) was not called")
        from textattack.constraints.overlap import MaxWordsPerturbed
        from textattack.shared import AttackedText

        o = self.options
        limit = word_limit(budget, len(document_words(target.text)), o.max_words)
        if limit == 0:
            return AttackOutcome(target.text, (), victim.queries_used)
        self._wrapper.oracle = victim
        remaining = victim.remaining()
        goal = self._cls["goal"](self._wrapper, goal_rank=o.goal_rank, query_budget=float("inf") if remaining is None else remaining)
        attack = self._ta.Attack(goal, [*self._constraints, MaxWordsPerturbed(max_num_words=limit)], self._transformation, self._search)
        result = attack.attack(AttackedText(target.text), target.rank)
        text = result.perturbed_result.attacked_text.text
        info = {"textattack_result": type(result).__name__, "textattack_queries": int(result.perturbed_result.num_queries)}
        return AttackOutcome(text, tuple(diff_edits(target.text, text)), victim.queries_used, info)


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
