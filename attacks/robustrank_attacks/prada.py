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
   Training hyper-parameters are demo-sized (the reference: lr 3e-6, 10k warm-up steps on
   MS MARCO, impossible on 2 CPU cores); see ``Options``.
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

White-box mode (``white_box: auto`` and the audit allows it and the victim exposes
``embedding_gradients``): the victim's own gradient of its score w.r.t. the document's input
embeddings ranks the important words; PGD and synonym choice still run on the surrogate.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    Edit,
    PairwiseExample,
    StrictModel,
    SupportsGradients,
    TrainingConfig,
    VictimOracle,
    apply_edits,
    document_words,
    train_pairwise_cross_encoder,
)
from robustrank_attacks._common import positions_of, substitutable_words, word_limit

__all__ = ["PradaAttack", "build_triples"]

log = logging.getLogger(__name__)


def build_triples(
    rankings: dict[str, list[tuple[str, Any]]],
    queries: dict[str, str],
    documents: dict[str, str],
    *,
    n_queries: int | None,
    positive_depth: int,
    negative_from: int,
    pairs_per_query: int,
    rng: np.random.Generator,
) -> list[PairwiseExample]:
    """Pseudo-relevance-feedback triples from a victim's ranked lists (our builder; see module doc)."""
    qids = sorted(q for q in rankings if q in queries and len(rankings[q]) >= negative_from)
    if n_queries is not None and n_queries < len(qids):
        qids = sorted(rng.choice(qids, size=n_queries, replace=False).tolist())
    out = []
    for qid in qids:
        ranked = [d for d, _ in rankings[qid] if d in documents]
        pos, neg = ranked[:positive_depth], ranked[negative_from - 1 :]
        if not pos or not neg:
            continue
        for _ in range(pairs_per_query):
            p, n = pos[int(rng.integers(len(pos)))], neg[int(rng.integers(len(neg)))]
            out.append(PairwiseExample(queries[qid], documents[p], documents[n]))
    return out


class PradaAttack:
    """PRADA word-substitution attack with a surrogate cross-encoder (see module docstring)."""

    name = "prada_wu_2023"

    class Options(StrictModel):
        """Options of ``prada_wu_2023`` (reference defaults where the paper/code gives one)."""

        surrogate_init: str = Field("sentence-transformers/all-MiniLM-L6-v2", description="Encoder the surrogate starts from.")
        surrogate_path: str | None = Field(None, description="An already trained surrogate folder (skips training).")
        surrogate_queries: int | None = Field(200, gt=0, description="Queries whose victim lists build triples; null = all.")
        positive_depth: int = Field(5, gt=0, description="Pseudo-positives: victim ranks 1..positive_depth.")
        negative_from: int = Field(21, gt=1, description="Pseudo-negatives: victim ranks negative_from..end.")
        pairs_per_query: int = Field(8, gt=0, description="Training pairs per query.")
        epochs: int = Field(1, gt=0)
        batch_size: int = Field(16, gt=0)
        learning_rate: float = Field(3e-5, gt=0, description="AdamW lr (reference 3e-6 with 10k warm-up steps on MS MARCO).")
        max_steps: int | None = Field(None, gt=0, description="Cap on training steps (demo: small).")
        max_length: int = Field(128, gt=0, description="Tokens per (query, document) input for training and attacking.")
        m: int = Field(10, gt=0, description="Important words kept and substitutions at most (reference max_attack_word_number = 10).")
        pgd_iterations: int = Field(3, gt=0, description="PGD iterations (reference max_iter = 3).")
        eps: float = Field(45.0, gt=0, description="PGD eps (reference 45); step alpha = eps / max(1, iters // 2).")
        margin: float = Field(1.0, gt=0, description="Margin of the pairwise loss (reference 1.0).")
        synonyms_k: int = Field(50, gt=0, description="Lexicon neighbours considered (reference simi_candi_topk = 50).")
        min_similarity: float = Field(0.7, ge=-1, le=1, description="Lexicon similarity threshold (reference simi_threshod = 0.7).")
        candidates_per_word: int = Field(1, gt=0, description="Synonyms scored per position in one victim batch (reference 1).")
        loss_docs: int = Field(16, gt=0, description="Other listed documents in the margin loss (reference: the whole list).")
        white_box: Literal["auto", "never"] = Field("auto", description="Use the victim's gradients when the audit grants them.")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()
        self._docs: Any = None
        self._lexicon: Any = None
        self._model: Any = None
        self._tok: Any = None
        self._white: Any = None
        self._summary: dict[str, Any] = {}

    # -- preparation ---------------------------------------------------------------------------
    def prepare(self, env: Any) -> None:
        """Train (or load from cache) the surrogate on triples from the victim's rankings."""
        import transformers

        o = self.options
        self._docs = env.documents
        self._lexicon = env.lexicon
        if o.white_box == "auto" and isinstance(env.white_box_ranker, SupportsGradients):
            self._white = env.white_box_ranker
        rng = np.random.default_rng(env.seed)
        if o.surrogate_path:
            path = Path(o.surrogate_path)
            info: dict[str, Any] = {"path": str(path), "trained": False}
        else:
            triples = build_triples(
                dict(env.victim_rankings), dict(env.queries), dict(env.documents),
                n_queries=o.surrogate_queries, positive_depth=o.positive_depth,
                negative_from=o.negative_from, pairs_per_query=o.pairs_per_query, rng=rng,
            )
            cfg = TrainingConfig(
                init_model=o.surrogate_init, epochs=o.epochs, batch_size=o.batch_size, learning_rate=o.learning_rate,
                max_length=o.max_length, max_steps=o.max_steps, seed=env.seed,
            )
            path = train_pairwise_cross_encoder(triples, cfg, env.artifact_dir("surrogate", "prada"), device=env.device, progress=env.progress)
            info = {"path": str(path), "key": path.name, "trained": True, **json.loads((path / "training.json").read_text())}
            info["triples"] = {
                "builder": "robustrank PRF: positive ~ U(victim ranks 1..positive_depth), negative ~ U(ranks negative_from..end)",
                "queries": len({t.query for t in triples}),
                "pairs": len(triples),
                "positive_depth": o.positive_depth,
                "negative_from": o.negative_from,
            }
        self._tok = transformers.AutoTokenizer.from_pretrained(str(path))
        self._model = transformers.AutoModelForSequenceClassification.from_pretrained(str(path)).eval()
        for p in self._model.parameters():
            p.requires_grad_(False)
        info["fidelity"] = self._fidelity(env)
        info["white_box"] = self._white is not None
        self._summary = {"surrogate": info}

    def _fidelity(self, env: Any, n: int = 4) -> dict[str, Any]:
        """Spearman correlation of surrogate and victim scores over the lists of a few queries."""
        from scipy.stats import spearmanr

        rhos = []
        for qid in sorted(env.victim_rankings)[:n]:
            ranked = [d for d, _ in env.victim_rankings[qid] if d in env.documents]
            if len(ranked) < 3 or qid not in env.queries:
                continue
            s = self._surrogate_scores(env.queries[qid], [env.documents[d] for d in ranked])
            rho = spearmanr(s, -np.arange(len(ranked))).statistic
            if np.isfinite(rho):
                rhos.append(float(rho))
        return {"spearman_vs_victim_rank_mean": float(np.mean(rhos)) if rhos else None, "queries": len(rhos)}

    def _surrogate_scores(self, query: str, docs: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(docs), 32):
                enc = self._tok([query] * len(docs[i : i + 32]), docs[i : i + 32], truncation=True, max_length=self.options.max_length, padding=True, return_tensors="pt")
                out.append(self._model(**enc).logits[:, 0].float().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def summary(self) -> dict[str, Any]:
        """Surrogate provenance and fidelity, for results.json."""
        return self._summary

    # -- the attack ------------------------------------------------------------------------------
    def _pieces(self, word: str) -> list[int]:
        return self._tok(word, add_special_tokens=False)["input_ids"]

    def _gradient_and_pgd(self, query: str, text: str, others: list[str], words_: list[str]):
        """Importance of ``words_`` (surrogate margin-loss gradient norm) and their PGD-moved embeddings."""
        import torch

        o = self.options
        enc = self._tok([query] * (1 + len(others)), [text, *others], truncation=True, max_length=o.max_length, padding=True, return_tensors="pt")
        ids = enc["input_ids"]
        uniq, inverse = torch.unique(ids, return_inverse=True)
        table = self._model.get_input_embeddings().weight
        original = table[uniq].detach().clone()
        sub = original.clone().requires_grad_(True)
        doc_ids = set(ids[0][enc["token_type_ids"][0] == 1].tolist()) if "token_type_ids" in enc else set(ids[0].tolist())
        doc_ids -= {self._tok.sep_token_id, self._tok.cls_token_id, self._tok.pad_token_id}
        row_of = {int(t): i for i, t in enumerate(uniq.tolist())}
        attack_rows = torch.tensor(sorted(row_of[t] for t in doc_ids), dtype=torch.long)
        kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
        loss_fn = torch.nn.MarginRankingLoss(margin=o.margin, reduction="sum")

        def grad() -> torch.Tensor:
            sub.grad = None
            with torch.enable_grad():
                scores = self._model(inputs_embeds=sub[inverse], **kwargs).logits[:, 0]
                pos = scores[:1].expand(len(others))
                loss = loss_fn(pos, scores[1:], torch.ones_like(pos))
                loss.backward()
            return sub.grad.detach().clone()

        g = grad()

        def rows(word: str) -> list[int]:
            return [row_of[p] for p in self._pieces(word) if p in row_of]

        importance = {}
        for w in words_:
            r = rows(w)
            importance[w] = float(g[r].mean(0).norm()) if r else 0.0
        alpha = o.eps / max(1, o.pgd_iterations // 2)
        with torch.no_grad():
            for t in range(o.pgd_iterations):
                if t > 0:
                    g = grad()
                norm = g.norm()
                if norm == 0 or torch.isnan(norm):
                    break
                step = torch.zeros_like(g)
                step[attack_rows] = g[attack_rows] / norm
                sub.data.add_(-alpha * step)
        moved = {}
        for w in words_:
            r = rows(w)
            moved[w] = sub.detach()[r].mean(0) if r else table[self._pieces(w)].mean(0).detach()
        return importance, moved

    def _white_box_importance(self, query: str, text: str, words_: list[str]) -> dict[str, float]:
        tg = self._white.embedding_gradients(query, text)
        by_id: dict[int, np.ndarray] = {}
        for tid, row in zip(tg.token_ids, tg.gradients):
            by_id[tid] = by_id.get(tid, 0) + row
        tok = getattr(self._white, "tokenizer", self._tok)
        out = {}
        for w in words_:
            rows = [by_id[p] for p in tok(w, add_special_tokens=False)["input_ids"] if p in by_id]
            out[w] = float(np.linalg.norm(np.mean(rows, axis=0))) if rows else 0.0
        return out

    def _rank_candidates(self, word: str, moved: Any, synonyms: list[str]) -> list[str]:
        """Synonyms ordered by cosine of their (mean word-piece) embedding with the moved embedding."""
        import torch

        table = self._model.get_input_embeddings().weight
        cands = torch.stack([table[self._pieces(s)].mean(0) for s in synonyms]).detach()
        sims = torch.nn.functional.cosine_similarity(cands, moved.unsqueeze(0), dim=-1)
        order = torch.argsort(sims, descending=True).tolist()
        return [synonyms[i] for i in order]

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Run PRADA on one target (see module docstring)."""
        if self._model is None:
            raise RuntimeError("prada_wu_2023: prepare(env) was not called")
        o = self.options
        toks = document_words(target.text)
        limit = word_limit(budget, len(toks), o.m)
        subs = substitutable_words(target.text, self._lexicon, k=o.synonyms_k, min_similarity=o.min_similarity)
        if not subs or limit == 0:
            return AttackOutcome(target.text, (), victim.queries_used, {"important_words": []})
        listed = [d for d, _ in target.ranked_list if d != target.doc_id and d in self._docs]
        pick = np.unique(np.linspace(0, len(listed) - 1, num=min(o.loss_docs, len(listed))).round().astype(int)) if listed else []
        others = [self._docs[listed[i]] for i in pick]
        importance, moved = self._gradient_and_pgd(target.query, target.text, others, list(subs))
        if self._white is not None:
            importance = self._white_box_importance(target.query, target.text, list(subs))
        important = sorted(subs, key=lambda w: -importance[w])[: o.m]
        positions = positions_of(target.text)
        edits: list[Edit] = []
        rank = target.rank
        plan = {}
        for w in important:
            plan[w] = self._rank_candidates(w, moved[w], subs[w])[: o.candidates_per_word]
        done = False
        for w in important:
            for pos in positions[w]:
                if len(edits) >= limit:
                    done = True
                    break
                remaining = victim.remaining()
                cands = plan[w] if remaining is None else plan[w][:remaining]
                if not cands:
                    done = True
                    break
                trial = [Edit("substitute", pos, toks[pos], c) for c in cands]
                ranks = victim.ranks([apply_edits(target.text, [*edits, e]) for e in trial])
                best = int(np.argmin(ranks))
                if ranks[best] < rank:
                    rank = ranks[best]
                    edits.append(trial[best])
            if done:
                break
        info = {"important_words": important, "substitutions": {w: plan[w] for w in important}, "oracle_rank": rank}
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used, info)
