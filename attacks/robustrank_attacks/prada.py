"""PRADA: black-box word-substitution ranking attack (Wu et al., "PRADA: Practical Black-box
Adversarial Attacks against Neural Ranking Models", TOIS 2023; reference code wuchen95/PRADA).

Algorithm and constants (source in brackets; "ref" = the reference code's defaults):

1. Black box: the attacker sees the victim's ranked lists (and scores when exposed); every
   candidate text it scores through the oracle is one victim query.
2. Surrogate: a cross-encoder initialised from all-MiniLM-L6-v2's encoder (the reference starts
   from BERT-base) and trained with robustrank's pairwise RankNet trainer on pseudo-relevance
   triples from the victim's rankings. The reference repository lacks its triple builder, so we
   define ours: for each of ``surrogate_queries`` queries, ``pairs_per_query`` pairs
   (positive drawn uniformly from ranks 1..``positive_depth``, negative drawn uniformly from ranks
   ``negative_from``..end of the list). The trained model is cached by a hash of its inputs.
   Training is demo-sized (reference: lr 3e-6, 10k warm-up steps on MS MARCO); see ``Options``.
3. Important words: gradient of the pairwise margin loss ``sum_j max(0, 1 - (s(q,d) - s(q,d_j)))``
   (``MarginRankingLoss(margin=1.0, reduction='sum')`` [ref]) of the target d against the other
   listed documents d_j w.r.t. the surrogate's word-embedding rows; words ranked by the L2 norm
   of the gradient (mean over a word's word pieces); the top ``m`` = 10 are kept [ref
   ``max_attack_word_number``]. Deviation: the reference ranks all document tokens and drops
   those without synonyms afterwards; we rank only words that have synonyms, so the ``m`` slots
   are not wasted, and the loss uses ``loss_docs`` documents spread evenly over the list instead of
   all 99 (CPU cost). The surrogate runs in eval mode (the reference leaves dropout on).
4. PGD in embedding space on the document's word-piece rows: ``max_iter`` = 3 iterations,
   ``eps`` = 45 [ref], step ``alpha = eps / max(1, max_iter // 2)`` [ref] along the negative loss
   gradient normalised by its Frobenius norm [ref PGD.attack]; no projection (the reference
   never calls ``project``). Then, for each important word, the synonym whose (mean word-piece)
   embedding has the highest cosine with the word's moved embedding, among the lexicon's top
   ``synonyms_k`` = 50 neighbours with similarity >= 0.7 [ref ``simi_candi_topk``,
   ``simi_threshod``]. The lexicon is robustrank's WordNet+GloVe table (the reference uses
   counter-fitted vectors; see docs/lexicon.md).
5. Greedy: word by word in gradient order, occurrence by occurrence, substitute, query the
   victim, keep the substitution only if the target's rank improves [ref
   ``recover_document_greedy_rank_pos``]; stop at the word budget (min of ``m`` and the task's
   budget) or the victim-query budget. With ``candidates_per_word`` > 1 the top-c synonyms by
   cosine are scored in one batch per position and the best is kept (the reference: c = 1).
Issue 13: when the victim exposes scores the surrogate is trained by score distillation
(``training: auto``), architecture-matched to the victim (``surrogate_architecture: auto``),
with the attacked queries excluded and held-out fidelity (Spearman, top-10 overlap, RBO with
bootstrap intervals) in ``summary()``; ``mode: reference`` follows the reference code's PGD
schedule (whole list in 5 batches, 3 cumulative steps each), dropout and greedy step (earlier
replacements of a word kept, accepted steps counted). Remaining deviations are listed in
``summary()["deviations"]`` and docs/attacks.md.

White-box mode (``white_box: auto`` and the audit allows it and the victim exposes
``embedding_gradients``): the victim's own gradient of its score w.r.t. the document's input
embeddings ranks the important words; PGD and synonym choice still run on the surrogate.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    DistillationConfig,
    Edit,
    StrictModel,
    SupportsGradients,
    TrainingConfig,
    VictimOracle,
    apply_edits,
    document_words,
    measure_fidelity,
    train_distilled_ranker,
    train_pairwise_cross_encoder,
)
from robustrank_attacks._common import positions_of, substitutable_words, word_limit
from robustrank_attacks.prada_protocol import DEVIATIONS_COMMON, DEVIATIONS_REFERENCE, DEVIATIONS_ROBUSTRANK, build_triples
from robustrank_attacks.surrogates import SurrogateModel
from robustrank_attacks.victim_data import (
    scored_lists,
    split_queries,
    synthesize_queries,
)

__all__ = ["PradaAttack", "build_triples"]

log = logging.getLogger(__name__)


class PradaAttack:
    """PRADA word-substitution attack with a surrogate ranker (see module docstring)."""

    name = "prada_wu_2023"

    class Options(StrictModel):
        """Options of ``prada_wu_2023`` (reference defaults where the paper/code gives one)."""

        mode: Literal["robustrank", "reference"] = Field(
            "robustrank", description="reference: the reference code's PGD schedule, greedy step and dropout; robustrank: ours (see deviations)."
        )
        surrogate_init: str = Field("sentence-transformers/all-MiniLM-L6-v2", description="Encoder the surrogate starts from.")
        surrogate_path: str | None = Field(None, description="An already trained surrogate folder (skips training).")
        surrogate_architecture: Literal["auto", "bi-encoder", "cross-encoder"] = Field(
            "auto", description="auto: the victim's family when the audit names it (bi-encoder / cross-encoder), else cross-encoder."
        )
        training: Literal["auto", "distillation", "pairwise"] = Field(
            "auto", description="auto: score distillation when the victim exposes scores, else pairwise triples from its ranks."
        )
        surrogate_queries: int | None = Field(200, gt=0, description="Training queries (victim lists) at most; null = all.")
        heldout_queries: int = Field(10, ge=0, description="Queries held out of training to measure fidelity (attacked queries are excluded from both).")
        synthetic_queries: int = Field(0, ge=0, description="Extra training queries: document word n-grams ranked by the victim (victim queries spent in prepare).")
        synthetic_query_words: int = Field(8, ge=1, description="Words per synthetic query.")
        synthetic_depth: int = Field(100, ge=2, description="BM25 candidates the victim scores per synthetic query.")
        distill_steps: int = Field(200, gt=0, description="Distillation steps.")
        distill_lists_per_step: int = Field(2, gt=0, description="Victim lists per distillation step.")
        distill_docs_per_list: int = Field(16, ge=2, description="Documents per list and step.")
        distill_learning_rate: float = Field(5e-5, gt=0, description="AdamW lr of distillation.")
        distill_loss: Literal["listwise", "mse", "listwise+mse"] = Field("listwise+mse", description="Distillation loss.")
        positive_depth: int = Field(5, gt=0, description="Pairwise: pseudo-positives from victim ranks 1..positive_depth.")
        negative_from: int = Field(21, gt=1, description="Pairwise: pseudo-negatives from victim ranks negative_from..end.")
        pairs_per_query: int = Field(8, gt=0, description="Pairwise: training pairs per query.")
        epochs: int = Field(1, gt=0)
        batch_size: int = Field(16, gt=0)
        learning_rate: float = Field(3e-5, gt=0, description="Pairwise: AdamW lr (reference 3e-6 with 10k warm-up steps on MS MARCO).")
        max_steps: int | None = Field(None, gt=0, description="Pairwise: cap on training steps.")
        max_length: int = Field(128, gt=0, description="Tokens per input for training and attacking.")
        m: int = Field(10, gt=0, description="Important words kept and substitutions at most (reference max_attack_word_number = 10).")
        pgd_iterations: int = Field(3, gt=0, description="PGD iterations per batch (reference max_iter = 3).")
        pgd_batches: int = Field(5, gt=0, description="reference mode: the list is split into this many loss batches (reference 100 / 20 = 5).")
        eps: float = Field(45.0, gt=0, description="PGD eps (reference 45); step alpha = eps / max(1, iters // 2).")
        margin: float = Field(1.0, gt=0, description="Margin of the pairwise loss (reference 1.0).")
        synonyms_k: int = Field(50, gt=0, description="Lexicon neighbours considered (reference simi_candi_topk = 50).")
        min_similarity: float = Field(0.7, ge=-1, le=1, description="Lexicon similarity threshold (reference simi_threshod = 0.7).")
        candidates_per_word: int = Field(1, gt=0, description="robustrank mode: synonyms scored per position in one victim batch (reference 1).")
        loss_docs: int = Field(16, gt=0, description="robustrank mode: other listed documents in the margin loss (reference: the whole list).")
        white_box: Literal["auto", "never"] = Field("auto", description="Use the victim's gradients when the audit grants them.")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()
        self._docs: Any = None
        self._lexicon: Any = None
        self._sur: SurrogateModel | None = None
        self._white: Any = None
        self._train_queries: frozenset[str] = frozenset()
        self._summary: dict[str, Any] = {}

    # -- preparation ---------------------------------------------------------------------------
    def _architecture(self, env: Any) -> tuple[str, str]:
        o = self.options
        if o.surrogate_architecture != "auto":
            return o.surrogate_architecture, "option"
        if env.victim_architecture in ("bi-encoder", "cross-encoder"):
            return env.victim_architecture, "matched to the victim's architecture family"
        return "cross-encoder", f"default (victim architecture {env.victim_architecture or 'unknown'})"

    def prepare(self, env: Any) -> None:
        """Train (or load from cache) the surrogate on the victim's lists; measure held-out fidelity."""
        o = self.options
        t0 = time.perf_counter()
        self._docs = env.documents
        self._lexicon = env.lexicon
        if o.white_box == "auto" and isinstance(env.white_box_ranker, SupportsGradients):
            self._white = env.white_box_ranker
        rng = np.random.default_rng(env.seed)
        split = split_queries(env, o.heldout_queries, rng, n_train=o.surrogate_queries)
        arch, arch_source = self._architecture(env)
        info: dict[str, Any] = {"architecture": arch, "architecture_source": arch_source, "split": split.info()}
        if o.surrogate_path:
            path = Path(o.surrogate_path)
            info.update({"path": str(path), "trained": False})
        else:
            scored = env.expose_scores and all(s is not None for q in split.train for _, s in env.victim_rankings[q])
            method = o.training if o.training != "auto" else ("distillation" if scored else "pairwise")
            if method == "distillation" and not scored:
                raise PermissionError("prada_wu_2023: training: distillation needs the victim's scores (expose_scores: true)")
            extra, syn_info = synthesize_queries(
                env, o.synthetic_queries, n_words=o.synthetic_query_words, depth=o.synthetic_depth, rng=rng,
            )
            info["synthetic_queries"] = syn_info
            t1 = time.perf_counter()
            if method == "distillation":
                lists = scored_lists(env.victim_rankings, split.train, env.documents)
                lists += scored_lists(extra, {t: t for t in extra}, env.documents)
                cfg = DistillationConfig(
                    init_model=o.surrogate_init, architecture=arch, loss=o.distill_loss, lists_per_step=o.distill_lists_per_step,
                    docs_per_list=o.distill_docs_per_list, max_steps=o.distill_steps, learning_rate=o.distill_learning_rate,
                    max_length=o.max_length, seed=env.seed,
                )
                path = train_distilled_ranker(lists, cfg, env.artifact_dir("surrogate", "prada"), device=env.device, progress=env.progress)
                info["lists"] = len(lists)
            else:
                if arch != "cross-encoder":
                    log.info("prada: ranks only - pairwise training builds a cross-encoder surrogate")
                    arch = info["architecture"] = "cross-encoder"
                    info["architecture_source"] = "pairwise training trains cross-encoders only"
                rankings = {**{q: list(env.victim_rankings[q]) for q in split.train}, **{t: lst for t, lst in extra.items()}}
                queries = {**split.train, **{t: t for t in extra}}
                triples = build_triples(
                    rankings, queries, dict(env.documents), n_queries=None, positive_depth=o.positive_depth,
                    negative_from=o.negative_from, pairs_per_query=o.pairs_per_query, rng=rng,
                )
                cfg = TrainingConfig(
                    init_model=o.surrogate_init, epochs=o.epochs, batch_size=o.batch_size, learning_rate=o.learning_rate,
                    max_length=o.max_length, max_steps=o.max_steps, seed=env.seed,
                )
                path = train_pairwise_cross_encoder(triples, cfg, env.artifact_dir("surrogate", "prada"), device=env.device, progress=env.progress)
                info["triples"] = {
                    "builder": "robustrank PRF: positive ~ U(victim ranks 1..positive_depth), negative ~ U(ranks negative_from..end)",
                    "queries": len({t.query for t in triples}),
                    "pairs": len(triples),
                    "positive_depth": o.positive_depth,
                    "negative_from": o.negative_from,
                }
            info.update({"path": str(path), "key": path.name, "trained": True, "method": method, "train_seconds": round(time.perf_counter() - t1, 2)})
            info.update(json.loads((path / "training.json").read_text()))
        # texts the victim scored for this attack's training (counted even when its answers came from the cache)
        info["victim_queries_in_prepare"] = info.get("synthetic_queries", {}).get("victim_texts_scored", 0)
        self._sur = SurrogateModel(str(path), architecture=arch if not o.surrogate_path else "auto", device=env.device, max_length=o.max_length)
        info["model"] = self._sur.describe()
        t2 = time.perf_counter()
        info["fidelity"] = measure_fidelity(self._sur.score, env.victim_rankings, split.heldout, env.documents, seed=env.seed)
        info["fidelity"]["target"] = {"spearman": 0.6}
        info["fidelity_seconds"] = round(time.perf_counter() - t2, 2)
        info["white_box"] = self._white is not None
        self._train_queries = frozenset(split.train)
        self._summary = {
            "surrogate": info,
            "mode": o.mode, "threat_model": "white-box" if self._white is not None else "black-box",
            "prepare_seconds": round(time.perf_counter() - t0, 2),
            "deviations": DEVIATIONS_COMMON + (DEVIATIONS_REFERENCE if o.mode == "reference" else DEVIATIONS_ROBUSTRANK),
        }

    def summary(self) -> dict[str, Any]:
        """Surrogate provenance, held-out fidelity, mode and deviations, for results.json."""
        return self._summary

    # -- the attack ------------------------------------------------------------------------------
    def _pieces(self, word: str) -> list[int]:
        return self._sur.tokenizer(word, add_special_tokens=False)["input_ids"]

    def _gradient_and_pgd(self, query: str, text: str, batches: list[list[str]], words_: list[str]):
        """Importance of ``words_`` (surrogate margin-loss gradient norm) and their PGD-moved embeddings.

        ``batches`` are the loss batches of other documents: robustrank mode one batch and
        ``pgd_iterations`` steps; reference mode the whole list in ``pgd_batches`` batches, the
        gradient summed over batches for importance and ``pgd_iterations`` cumulative steps per batch.
        """
        import torch

        o = self.options
        sur = self._sur
        loss_fn = torch.nn.MarginRankingLoss(margin=o.margin, reduction="sum")
        delta: dict[int, torch.Tensor] = {}  # token id -> cumulative PGD displacement of its row
        alpha = o.eps / max(1, o.pgd_iterations // 2)
        grad_sum: dict[int, torch.Tensor] = {}
        sur.train_mode(o.mode == "reference")
        try:
            tables = [sur.table(query, [text, *others]) for others in batches]

            def grad(tab) -> torch.Tensor:
                sub = tab.rows.clone()
                for i, t in enumerate(tab.ids.tolist()):
                    if t in delta:
                        sub[i] += delta[t]
                sub.requires_grad_(True)
                with torch.enable_grad():
                    scores = tab.scores(sub)
                    pos = scores[:1].expand(len(scores) - 1)
                    loss = loss_fn(pos, scores[1:], torch.ones_like(pos))
                    loss.backward()
                return sub.grad.detach().clone()

            for tab in tables:
                g = grad(tab)
                for i, t in enumerate(tab.ids.tolist()):
                    grad_sum[t] = grad_sum.get(t, 0) + g[i]
            attack_ids = tables[0].doc_ids
            for tab in tables:
                ids = tab.ids.tolist()
                rows = [i for i, t in enumerate(ids) if t in attack_ids]
                for _ in range(o.pgd_iterations):
                    g = grad(tab)
                    norm = g.norm()
                    if norm == 0 or torch.isnan(norm):
                        break
                    for i in rows:
                        delta[ids[i]] = delta.get(ids[i], 0) - alpha * g[i] / norm
        finally:
            sur.train_mode(False)
        table = sur.embedding_matrix()
        importance, moved = {}, {}
        for w in words_:
            ps = [p for p in self._pieces(w) if p in grad_sum]
            importance[w] = float(torch.stack([grad_sum[p] for p in ps]).mean(0).norm()) if ps else 0.0
            pieces = self._pieces(w)
            moved[w] = torch.stack([table[p] + delta.get(p, 0) for p in pieces]).mean(0) if pieces else None
        return importance, moved

    def _white_box_importance(self, query: str, text: str, words_: list[str]) -> dict[str, float]:
        tg = self._white.embedding_gradients(query, text)
        by_id: dict[int, np.ndarray] = {}
        for tid, row in zip(tg.token_ids, tg.gradients):
            by_id[tid] = by_id.get(tid, 0) + row
        tok = getattr(self._white, "tokenizer", self._sur.tokenizer)
        out = {}
        for w in words_:
            rows = [by_id[p] for p in tok(w, add_special_tokens=False)["input_ids"] if p in by_id]
            out[w] = float(np.linalg.norm(np.mean(rows, axis=0))) if rows else 0.0
        return out

    def _rank_candidates(self, moved: Any, synonyms: list[str]) -> list[str]:
        """Synonyms ordered by cosine of their (mean word-piece) embedding with the moved embedding."""
        import torch

        table = self._sur.embedding_matrix()
        cands = torch.stack([table[self._pieces(s)].mean(0) for s in synonyms]).detach()
        sims = torch.nn.functional.cosine_similarity(cands, moved.unsqueeze(0), dim=-1)
        order = torch.argsort(sims, descending=True).tolist()
        return [synonyms[i] for i in order]

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Run PRADA on one target (see module docstring)."""
        import torch

        if self._sur is None:
            raise RuntimeError("prada_wu_2023: prepare(env) was not called")
        o = self.options
        ref = o.mode == "reference"
        toks = document_words(target.text)
        limit = word_limit(budget, len(toks), None if ref else o.m)
        subs = substitutable_words(target.text, self._lexicon, k=o.synonyms_k, min_similarity=o.min_similarity)
        info: dict[str, Any] = {"mode": o.mode, "query_in_surrogate_training": target.query_id in self._train_queries}
        if not subs or limit == 0:
            return AttackOutcome(target.text, (), victim.queries_used, {**info, "important_words": []})
        listed = [d for d, _ in target.ranked_list if d != target.doc_id and d in self._docs]
        if ref:
            n_b = max(1, min(o.pgd_batches, len(listed)))
            batches = [[self._docs[d] for d in part] for part in np.array_split(np.array(listed, dtype=object), n_b) if len(part)]
            candidates_words = list(dict.fromkeys(w.lower() for w in toks))
            torch.manual_seed(int(rng.integers(2**31)))  # dropout is on in reference mode
        else:
            pick = np.unique(np.linspace(0, len(listed) - 1, num=min(o.loss_docs, len(listed))).round().astype(int)) if listed else []
            batches = [[self._docs[listed[i]] for i in pick]]
            candidates_words = list(subs)
        importance, moved = self._gradient_and_pgd(target.query, target.text, batches, candidates_words)
        if self._white is not None:
            importance = self._white_box_importance(target.query, target.text, candidates_words)
        ranked_words = sorted(candidates_words, key=lambda w: -importance[w])
        important = [w for w in ranked_words[: o.m] if w in subs] if ref else ranked_words[: o.m]
        c = 1 if ref else o.candidates_per_word
        plan = {w: self._rank_candidates(moved[w], subs[w])[:c] for w in important}
        positions = positions_of(target.text)
        edits, rank, accepted = (self._greedy_reference if ref else self._greedy)(target, victim, toks, important, plan, positions, limit)
        info.update({"important_words": important, "substitutions": plan, "oracle_rank": rank, "accepted_steps": accepted})
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used, info)

    def _greedy(self, target, victim, toks, important, plan, positions, limit):
        """Ours: each occurrence tried on the accepted text; the budget counts words."""
        edits: list[Edit] = []
        rank = target.rank
        for w in important:
            for pos in positions[w]:
                remaining = victim.remaining()
                cands = plan[w] if remaining is None else plan[w][:remaining]
                if len(edits) >= limit or not cands:
                    return edits, rank, len(edits)
                trial = [Edit("substitute", pos, toks[pos], cand) for cand in cands]
                ranks = victim.ranks([apply_edits(target.text, [*edits, e]) for e in trial])
                best = int(np.argmin(ranks))
                if ranks[best] < rank:
                    rank = ranks[best]
                    edits.append(trial[best])
        return edits, rank, len(edits)

    def _greedy_reference(self, target, victim, toks, important, plan, positions, limit):
        """Reference: within a word, earlier (even rejected) replacements stay in the trial text; at most m accepted steps.

        The audit's word budget stays a hard limit: a trial that would change more words than it
        allows is not tried.
        """
        o = self.options
        accepted_edits: list[Edit] = []
        rank, accepted = target.rank, 0
        for w in important:
            pending = list(accepted_edits)
            for pos in positions[w]:
                if victim.remaining() == 0:
                    return accepted_edits, rank, accepted
                e = Edit("substitute", pos, toks[pos], plan[w][0])
                trial = [*pending, e]
                if len(trial) > limit:
                    break
                pending = trial
                r = victim.ranks([apply_edits(target.text, trial)])[0]
                if r < rank:
                    rank, accepted_edits = r, list(trial)
                    accepted += 1
                if accepted == o.m:
                    return accepted_edits, rank, accepted
        return accepted_edits, rank, accepted
