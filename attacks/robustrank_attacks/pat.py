"""PAT: pairwise anchor-based trigger attack on a black-box ranker via ranking imitation.

Liu et al., "Order-Disorder: Imitation Adversarial Attacks for Black-box Neural Ranking
Models", CCS 2022; reference code LauJames/PAT (read for constants; this is our own code).

1. **Ranking imitation** (:mod:`.imitation`). The victim's ranked lists for the audit's queries
   (and optionally extra queries: random word n-grams of documents, ranked by the victim over
   their BM25 top-``extra_query_depth``) give pairwise preferences: all ordered pairs in the
   top-25 plus 4 random documents from below rank 25 per top-25 document. A pairwise
   cross-encoder initialised from the all-MiniLM-L6-v2 encoder is trained on them (RankNet on
   the logit difference, label smoothing 0.1 - reference ``bert_ranker/losses/label_smoothing``),
   cached by a content hash under ``artifact_dir("imitation", key)``. Fidelity is measured on
   held-out queries: top-10 overlap and RBO (p = 0.7).
2. **Trigger generation.** Anchor: the victim's top-3 documents concatenated (reference
   ``' '.join(best[1:4])``). Beam search grows the trigger one word at a time; for every beam the
   next word's candidates are the ``candidates`` vocabulary tokens with the largest first-order
   gain of the pairwise objective ``log sigmoid(s(q, trigger + target) - s(q, anchor))``,
   estimated HotFlip-style from its gradient at a ``[MASK]`` placeholder (``E @ grad``). Each
   candidate trigger is then scored exactly by the imitation model:
   ``pairwise log-prob + lm_weight * log P_LM(trigger) - log(repetition_penalty) * repeats``,
   and the best ``num_beams`` are kept. As in the reference, words of the anchor and the
   ``num_sim`` vocabulary words closest to the query are preferred: ``preferred_share`` of each
   beam's candidates come from them (the reference adds 0.68 to their logits at temperature
   0.1). After ``trigger_length`` steps the best full-length
   beam is inserted into the target (at the start by default).
3. **Evaluation.** The victim is used only through the :class:`~robustrank.api.VictimOracle`:
   one final rank check (``victim_check``), recorded in ``info``; the adversarial task measures
   the boosted rank itself.

Constants and their sources (reference code ``adv_ir/pat_attack.py`` arguments unless noted):

* ``trigger_length`` 6 (``--tri_len``), ``num_beams`` 10 (``--num_beams``), ``candidates`` 128
  (``--topk``), ``lm_weight`` 0.1 (``--lambda_1``), ``repetition_penalty`` 5.0 (hard-coded in
  ``attack_methods.pairwise_anchor_trigger``), anchor = top-3 documents;
* imitation: top-25 pairs + 4 negatives per top doc (``top_25_last_4``), label smoothing 0.1.

Deviations (also listed in ``summary()["deviations"]``):

* Candidate proposal: the reference perturbs a BERT LM's next-token logits with gradients of
  the pairwise loss (PPLM-style, 5 Adam steps) and takes the top-128 tokens; we rank the
  vocabulary by the first-order (HotFlip) estimate of the pairwise objective at a mask
  placeholder - gradient-guided, but without a neural LM in the loop.
* Fluency: a word n-gram LM of the collection (nltk Witten-Bell, order 2) instead of a BERT LM
  fine-tuned on WikiText-103; the repetition penalty is applied in log space (``log 5.0`` per
  earlier occurrence) rather than by dividing logits (CTRL-style).
* Preferred words: the reference picks the 300 words the imitation model scores highest as
  one-word documents for the query and boosts them (and the anchor's words) by +0.68 logits;
  we pick the 300 words whose input embeddings are closest (cosine, max over query tokens) to
  the query's, and reserve ``preferred_share`` = 0.75 of the candidate slots for preferred
  words (scoring the whole vocabulary with a cross-encoder per query is too slow on a CPU).
* Vocabulary: whole-word alphabetic non-stopword tokens only (the reference allows word pieces
  after the first token), so triggers are words the LM and the edit records can represent.
* The result is the best full-length beam (the reference keeps the best prefix of any length
  by imitation score).
* Imitation data: ``max_pairs`` seeded uniform sample of the pairs and a short CPU schedule
  (the paper trains on all pairs of many more queries); held-out queries for fidelity are a
  seeded sample of the audit's queries.
* The demo uses fewer beams and candidates than the paper (see docs/pat.md).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.api import (
    AttackEnvironment,
    AttackOutcome,
    AttackTarget,
    Budget,
    DistillationConfig,
    TrainingConfig,
    VictimOracle,
    measure_fidelity,
    train_distilled_ranker,
    train_pairwise_cross_encoder,
    words,
)
from robustrank_attacks.imitation import build_imitation_pairs
from robustrank_attacks.pat_options import DEVIATIONS_COMMON, DEVIATIONS_REFERENCE, DEVIATIONS_ROBUSTRANK, PATOptions
from robustrank_attacks.surrogates import SurrogateModel
from robustrank_attacks.triggers import (
    TriggerAttackBase,
    insert_trigger,
    whole_word_vocabulary,
)
from robustrank_attacks.victim_data import (
    scored_lists,
    split_queries,
    synthesize_queries,
)

__all__ = ["PATAttack", "PATOptions"]

log = logging.getLogger(__name__)

class PATAttack(TriggerAttackBase):
    """Order-Disorder / PAT (Liu et al., CCS 2022) against a black-box ranker.

    Args:
        options: :class:`PATOptions` (or a mapping validated into it).
    """

    name = "pat_liu_2022"
    Options = PATOptions

    def __init__(self, options: PATOptions | Mapping[str, Any] | None = None):
        super().__init__(options)
        self.imitation = None
        self._train_queries: frozenset[str] = frozenset()
        self._summary: dict[str, Any] = {}

    # -- prepare -------------------------------------------------------------------------------
    def prepare(self, env: AttackEnvironment) -> None:
        """Imitate the victim (held-out queries kept apart), measure fidelity, set up trigger search."""
        import torch

        t0 = time.perf_counter()
        super().prepare(env)
        opt = self.options
        rng = np.random.default_rng(env.seed)
        split = split_queries(env, opt.heldout_queries, rng)
        docs = dict(env.documents)
        arch, arch_source = opt.imitation_architecture, "option"
        if arch == "auto":
            if env.victim_architecture in ("bi-encoder", "cross-encoder"):
                arch, arch_source = env.victim_architecture, "matched to the victim's architecture family"
            else:
                arch, arch_source = "cross-encoder", f"default (victim architecture {env.victim_architecture or 'unknown'})"
        info: dict[str, Any] = {**split.info(), "architecture": arch, "architecture_source": arch_source}
        if opt.imitation_model == "victim":
            path = getattr(env.white_box_ranker, "model_path", None)
            if path is None:
                raise PermissionError("pat_liu_2022: imitation_model: victim needs white-box access to a Hugging Face victim")
            info["source"] = "victim (perfect imitation: regression check only)"
            arch = info["architecture"] = "auto"
        elif opt.imitation_model:
            path = Path(opt.imitation_model)
            info["source"] = "given"
            arch = "auto"
        else:
            scored = env.expose_scores and all(s is not None for q in split.train for _, s in env.victim_rankings[q])
            method = opt.training if opt.training != "auto" else ("distillation" if scored else "pairwise")
            if method == "distillation" and not scored:
                raise PermissionError("pat_liu_2022: training: distillation needs the victim's scores (expose_scores: true)")
            extra, syn_info = synthesize_queries(env, opt.extra_queries, n_words=opt.extra_query_words, depth=opt.extra_query_depth, rng=rng)
            info["extra_queries"] = len(extra)
            info["synthetic_queries"] = syn_info
            info["victim_queries_in_prepare"] = syn_info.get("victim_texts_scored", 0)
            t1 = time.perf_counter()
            if method == "distillation":
                lists = scored_lists(env.victim_rankings, split.train, docs) + scored_lists(extra, {t: t for t in extra}, docs)
                cfg = DistillationConfig(
                    init_model=opt.init_model, architecture=arch, loss=opt.distill_loss, lists_per_step=opt.distill_lists_per_step,
                    docs_per_list=opt.distill_docs_per_list, max_steps=opt.distill_steps, learning_rate=opt.distill_learning_rate,
                    max_length=opt.train_max_length, init_scale=opt.score_scale, seed=env.seed,
                )
                path = train_distilled_ranker(lists, cfg, env.artifact_dir("imitation", "pat"), device=env.device, progress=env.progress)
                info["lists"] = len(lists)
            else:
                if arch != "cross-encoder":
                    arch = info["architecture"] = "cross-encoder"
                    info["architecture_source"] = "pairwise training trains cross-encoders only"
                train_q = {**split.train, **{f"extra:{i}": t for i, t in enumerate(extra)}}
                train_rank = {**{q: list(env.victim_rankings[q]) for q in split.train}, **{f"extra:{i}": lst for i, lst in enumerate(extra.values())}}
                pairs = build_imitation_pairs(train_rank, train_q, docs, rng, top=opt.pair_top, negatives_per_doc=opt.negatives_per_doc)
                info["pairs_available"] = len(pairs)
                if opt.max_pairs is not None and len(pairs) > opt.max_pairs:
                    keep = np.sort(rng.choice(len(pairs), size=opt.max_pairs, replace=False))
                    pairs = [pairs[int(i)] for i in keep]
                info["pairs_used"] = len(pairs)
                cfg = TrainingConfig(
                    init_model=opt.init_model, epochs=opt.epochs, batch_size=opt.batch_size, learning_rate=opt.learning_rate,
                    max_length=opt.train_max_length, label_smoothing=self._label_smoothing(), max_steps=opt.max_steps, seed=env.seed,
                )
                # train_pairwise_cross_encoder caches by a content key of the pairs, config and weights
                path = train_pairwise_cross_encoder(pairs, cfg, env.artifact_dir("imitation", "pat"), device=env.device, progress=env.progress)
            info["train_seconds"] = round(time.perf_counter() - t1, 2)
            info["source"] = "trained"
            info["method"] = method
            info["key"] = Path(path).name
            tj = Path(path) / "training.json"
            if tj.is_file():
                info["training"] = json.loads(tj.read_text())
        info["model"] = str(path)
        self.imitation = SurrogateModel(str(path), architecture=arch, device=env.device, max_length=opt.max_length, default_scale=opt.score_scale)
        info["imitation_model"] = self.imitation.describe()
        self._train_queries = frozenset(split.train)
        t2 = time.perf_counter()
        fid = measure_fidelity(self.imitation.score, env.victim_rankings, split.heldout, docs, depth=opt.fidelity_depth, seed=env.seed)
        fid["target"] = {"top10_overlap": 0.5}
        info["fidelity_seconds"] = round(time.perf_counter() - t2, 2)
        torch.manual_seed(env.seed)
        vocab = whole_word_vocabulary(self.imitation.tokenizer)
        self._vocab_ids = torch.tensor([i for i, _ in vocab], dtype=torch.long)
        self._vocab_str = [t for _, t in vocab]
        self._vocab_index = {t: i for i, t in enumerate(self._vocab_str)}
        emb = self.imitation.embedding_matrix()[self._vocab_ids]
        self._vocab_unit = torch.nn.functional.normalize(emb.float(), dim=-1)
        self._summary = {
            "imitation": info,
            "fidelity": fid,
            "mode": opt.mode,
            "trigger_vocabulary": len(vocab),
            "prepare_seconds": round(time.perf_counter() - t0, 2),
            "constants": {
                "trigger_length": opt.trigger_length,
                "num_beams": opt.num_beams,
                "candidates": opt.candidates,
                "lm_weight": opt.lm_weight,
                "repetition_penalty": opt.repetition_penalty,
                "anchor_docs": opt.anchor_docs,
                "num_sim": opt.num_sim,
                "preferred_share": opt.preferred_share,
                "pair_top": opt.pair_top,
                "negatives_per_doc": opt.negatives_per_doc,
                "label_smoothing": self._label_smoothing(),
                "ranknet_target": 1 - self._label_smoothing(),
                "rbo_p": 0.7,
                "reference": "Liu et al., CCS 2022; LauJames/PAT adv_ir/pat_attack.py defaults",
            },
            "deviations": DEVIATIONS_COMMON + (DEVIATIONS_REFERENCE if opt.mode == "reference" else DEVIATIONS_ROBUSTRANK),
        }

    def _label_smoothing(self) -> float:
        ls = self.options.label_smoothing
        return ls if ls is not None else (0.05 if self.options.mode == "reference" else 0.1)

    def summary(self) -> dict[str, Any]:
        """Imitation model, fidelity, constants and deviations (stored under results ``prepare``)."""
        return {**super().summary(), **self._summary}

    # -- attack --------------------------------------------------------------------------------
    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Generate a PAT trigger on the imitation model and insert it into the target.

        Raises:
            RuntimeError: ``prepare`` was not run.
        """
        if self.imitation is None:
            raise RuntimeError("PAT needs prepare(env) first (imitation model)")
        import torch

        t0 = time.perf_counter()
        torch.manual_seed(int(rng.integers(2**31)))
        opt = self.options
        n = self.trigger_budget(target, budget)
        anchor_ids = [d for d, _ in target.ranked_list if d != target.doc_id][: opt.anchor_docs]
        anchor = " ".join(self.documents[d] for d in anchor_ids)
        model = self.imitation
        q = target.query
        f0 = model.forward_pairs
        s_anchor = float(model.score(q, [anchor])[0])
        s_orig = float(model.score(q, [target.text])[0])
        preferred = self._preferred(q, anchor)
        ref = opt.mode == "reference"
        context = "" if ref else target.text  # reference: candidates scored as (query, trigger alone)
        beams: list[tuple[list[str], float]] = [([], 0.0)]
        best_pair = None
        best_prefix: tuple[float, list[str]] | None = None
        for _ in range(n):
            beams, best_pair = self._step(q, context, beams, s_anchor, preferred)
            top = self._top_by_score  # reference: the beam the imitation model scores highest, at any length
            if ref and top is not None and (best_prefix is None or top[0] > best_prefix[0]):
                best_prefix = top
        trigger = (best_prefix[1] if best_prefix else []) if ref else (beams[0][0] if beams else [])
        if ref and trigger:
            best_pair = float(model.score(q, [insert_trigger(target.text, trigger, opt.position)[0]])[0])
        info: dict[str, Any] = {
            "method": "PAT beam search on the imitation model",
            "mode": opt.mode,
            "query_in_imitation_training": target.query_id in self._train_queries,
            "anchor_doc_ids": anchor_ids,
            "preferred_words": int(preferred.sum()),
            "imitation_anchor_score": s_anchor,
            "imitation_score_original": s_orig,
            "imitation_score_adversarial": best_pair,
            "objective": beams[0][1] if beams else None,
            "imitation_forwards": model.forward_pairs - f0,
        }
        out = self.outcome(target, victim, trigger, info)
        out.info["search_seconds"] = round(time.perf_counter() - t0, 3)
        return out

    def _preferred(self, query: str, anchor: str):
        """Boolean mask over the trigger vocabulary: anchor words and the query's nearest words."""
        import torch

        pref = torch.zeros(len(self._vocab_str), dtype=torch.bool)
        for w in set(words(anchor)):
            i = self._vocab_index.get(w)
            if i is not None:
                pref[i] = True
        ids = self.imitation.tokenizer(query, add_special_tokens=False)["input_ids"]
        if ids and self.options.num_sim:
            q = torch.nn.functional.normalize(self.imitation.embedding_matrix()[ids].float(), dim=-1)
            sim = (self._vocab_unit @ q.T).max(dim=1).values
            pref[sim.topk(min(self.options.num_sim, len(sim))).indices] = True
        return pref

    def _step(self, query: str, text: str, beams: list[tuple[list[str], float]], s_anchor: float, preferred):
        """One beam-search step: propose candidates by gradient, score exactly, keep the best."""
        opt = self.options
        model = self.imitation
        emb = model.embedding_matrix()[self._vocab_ids]
        mask = model.tokenizer.mask_token
        proposals: list[list[str]] = []
        seen: set[tuple[str, ...]] = set()
        k = min(opt.candidates, len(self._vocab_str))
        k_pref = min(int(round(k * opt.preferred_share)), int(preferred.sum()))
        for words_so_far, _ in beams:
            doc = " ".join([*words_so_far, mask]) if not text else insert_trigger(text, [*words_so_far, mask], opt.position)[0]
            grad, _ = model.token_gradient(query, doc, s_anchor)
            gain = (emb @ grad).float()
            chosen = gain.masked_fill(~preferred, float("-inf")).topk(k_pref).indices.tolist() if k_pref else []
            rest = gain.clone()
            rest[chosen] = float("-inf")
            chosen += rest.topk(k - len(chosen)).indices.tolist()
            for i in chosen:
                cand = [*words_so_far, self._vocab_str[i]]
                if tuple(cand) not in seen:
                    seen.add(tuple(cand))
                    proposals.append(cand)
        texts = [" ".join(c) if not text else insert_trigger(text, c, opt.position)[0] for c in proposals]
        scores = model.score_pairs([(query, t) for t in texts])
        log_pen = math.log(opt.repetition_penalty)
        scored = []
        for cand, s in zip(proposals, scores):
            pairwise = -math.log1p(math.exp(-(s - s_anchor))) if s - s_anchor > -30 else s - s_anchor
            lm = self.lm.sequence_logprob(cand) if (self.lm is not None and opt.lm_weight) else 0.0
            repeats = len(cand) - len(set(cand))
            scored.append((pairwise + opt.lm_weight * lm - log_pen * repeats, float(s), cand))
        scored.sort(key=lambda x: (-x[0], x[2]))
        kept = scored[: opt.num_beams]
        self._top_by_score = max(((sc, c) for _, sc, c in kept), key=lambda x: x[0], default=None)
        return [(c, obj) for obj, _, c in kept], (kept[0][1] if kept else None)
