"""Options of the PAT attack and its listed deviations from the reference implementation (docs/pat.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robustrank_attacks.triggers import TriggerOptions

__all__ = ["DEVIATIONS_COMMON", "DEVIATIONS_REFERENCE", "DEVIATIONS_ROBUSTRANK", "PATOptions"]

DEVIATIONS_COMMON = [
    "candidates proposed by a first-order (HotFlip) estimate of the pairwise objective at a [MASK] placeholder, "
    "not by PPLM-perturbed BERT-LM logits",
    "fluency: collection word n-gram LM (nltk Witten-Bell) instead of a WikiText-103 BERT LM",
    "repetition penalty applied as log(theta) per earlier occurrence, not CTRL-style logit division",
    "preferred words (anchor words + 300 query-similar words) chosen by input-embedding cosine and given a fixed 75% "
    "share of the candidates instead of a +0.68 logit boost",
    "trigger vocabulary restricted to whole-word alphabetic non-stopword tokens",
    "imitation trained by score distillation on the victim's scored lists when scores are exposed (the reference: "
    "pairwise on ranks only); architecture matched to the victim's family (bi-encoder imitation for a bi-encoder victim)",
    "imitation on a short CPU schedule (ranks only: a seeded sample of max_pairs pairs)",
    "a bi-encoder imitation's cosine is scaled (learned scale, else 20) so the pairwise objective sees logit-sized gaps",
]
DEVIATIONS_ROBUSTRANK = [
    "candidates scored with the target document: s(q, trigger + document) (reference: the trigger alone, s(q, trigger))",
    "the gradient proposal is taken in the document context (reference: the trigger alone)",
    "result is the best full-length beam (reference: the best prefix of any length by imitation score)",
    "pairwise label smoothing: RankNet target 0.9 (reference: 0.95, i.e. smoothing 0.1 spread over two classes)",
]
DEVIATIONS_REFERENCE: list[str] = []


class PATOptions(TriggerOptions):
    """Options of the PAT attack (``tasks.t4.attacks[].options``)."""

    mode: Literal["robustrank", "reference"] = Field(
        "robustrank",
        description="reference: candidates scored on (query, trigger alone), best prefix, label-smoothing target 0.95; robustrank: ours.",
    )
    num_beams: int = Field(10, ge=1, description="Beam width (reference --num_beams 10).")
    candidates: int = Field(128, ge=1, description="Gradient-ranked candidate tokens per beam and step (reference --topk 128).")
    lm_weight: float = Field(0.1, ge=0, description="Weight of the LM log-probability (reference --lambda_1 0.1).")
    repetition_penalty: float = Field(5.0, ge=1, description="Penalty per repeated trigger word, applied as log(theta) (reference 5.0).")
    anchor_docs: int = Field(3, ge=1, description="Victim top documents concatenated into the anchor (reference: top-3).")
    num_sim: int = Field(300, ge=0, description="Vocabulary words most similar to the query preferred as candidates (reference --num_sim 300).")
    preferred_share: float = Field(
        0.75, ge=0, le=1, description="Share of each beam's candidates taken from the preferred words (anchor words + query-similar words)."
    )
    max_length: int = Field(128, ge=16, description="Tokens per (query, document) input of the imitation model.")
    # imitation
    imitation_model: str | None = Field(
        None,
        description="Use this trained imitation model folder instead of training one; 'victim' = the victim itself "
        "(perfect imitation, a regression check for tests and benches; needs white-box access).",
    )
    imitation_architecture: Literal["auto", "bi-encoder", "cross-encoder"] = Field(
        "auto", description="auto: the victim's family when the audit names it, else cross-encoder."
    )
    training: Literal["auto", "distillation", "pairwise"] = Field(
        "auto", description="auto: score distillation when the victim exposes scores, else pairwise from its ranks."
    )
    distill_steps: int = Field(200, gt=0, description="Distillation steps.")
    distill_lists_per_step: int = Field(2, gt=0, description="Victim lists per distillation step.")
    distill_docs_per_list: int = Field(16, ge=2, description="Documents per list and step.")
    distill_learning_rate: float = Field(5e-5, gt=0, description="AdamW lr of distillation.")
    distill_loss: Literal["listwise", "mse", "listwise+mse"] = Field("listwise+mse", description="Distillation loss.")
    score_scale: float = Field(20.0, gt=0, description="Cosine scale of a bi-encoder imitation without a learned one.")
    init_model: str = Field("sentence-transformers/all-MiniLM-L6-v2", description="Encoder the imitation cross-encoder starts from.")
    pair_top: int = Field(25, ge=2, description="Every ordered pair within the victim's top-N is a preference (reference 25).")
    negatives_per_doc: int = Field(4, ge=0, description="Random below-top-N documents per top document (reference 4).")
    max_pairs: int | None = Field(2000, ge=1, description="Seeded uniform sample of the pairs (None: all).")
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(1e-4, gt=0, description="AdamW learning rate (ours: a short CPU schedule needs more than 3e-5).")
    train_max_length: int = Field(128, ge=16, description="Tokens per input while training.")
    max_steps: int | None = Field(None, ge=1, description="Stop training after this many steps.")
    label_smoothing: float | None = Field(
        None, ge=0, lt=1, description="RankNet target 1 - label_smoothing; null: 0.1 (robustrank) or 0.05 = target 0.95 (reference)."
    )
    heldout_queries: int = Field(10, ge=0, description="Queries held out of training to measure fidelity.")
    fidelity_depth: int = Field(100, ge=10, description="Depth of the victim lists re-ranked for fidelity.")
    extra_queries: int = Field(0, ge=0, description="Extra imitation queries: random document word n-grams ranked by the victim (victim queries spent in prepare).")
    extra_query_words: int = Field(8, ge=1, description="Words per extra query n-gram.")
    extra_query_depth: int = Field(100, ge=10, description="BM25 candidates the victim ranks per extra query.")
