"""Training pairwise cross-encoders from a victim's rankings (surrogate and imitation models).

Used by black-box attacks: PRADA's surrogate (Wu et al., TOIS 2023) and the imitation model of
Order-Disorder/PAT (Liu et al., CCS 2022) are both cross-encoders initialised from a pre-trained
encoder (all-MiniLM-L6-v2 here) and trained on (query, better document, worse document) triples
read off the victim's ranked lists. The loss is RankNet on the logit difference:
``BCEWithLogits(s(q, better) - s(q, worse), 1 - label_smoothing)``.

A trained model is saved (safetensors + tokenizer) under ``cache_dir/<key>``, where ``key`` is a
sha256 of the examples, the initial weights and every hyper-parameter, and is reused when the
same inputs come again (e.g. on ``--resume``); it is also looked up in, and stored to, the shared
artefact cache (:mod:`robustrank.sharedcache`), so another audit on the same data reuses it.

Score distillation (students that learn the victim's scores) is in :mod:`robustrank.adversarial.distillation`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from robustrank.memory import release_memory
from robustrank.rankers.device import resolve_device
from robustrank.rankers.resolve import resolve_model, weights_fingerprint
from robustrank.sharedcache import publish_dir, restore_dir

__all__ = ["PairwiseExample", "TrainingConfig", "train_pairwise_cross_encoder", "training_key"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairwiseExample:
    """A preference: for ``query``, ``better`` should score above ``worse``."""

    query: str
    better: str
    worse: str


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of pairwise cross-encoder training.

    Attributes:
        init_model: Model folder or hub id to start from (the encoder; a 1-logit head is added).
        epochs: Passes over the examples.
        batch_size: Pairs per step.
        learning_rate: AdamW learning rate (linear warm-up over 10% of steps, then linear decay).
        max_length: Tokens per (query, document) input.
        label_smoothing: RankNet target is ``1 - label_smoothing``.
        max_steps: Stop after this many steps (None: all epochs).
        seed: Seeds head initialisation and shuffling.
        group_by_length: Batch examples of similar length together (shuffled windows of 32
            batches, sorted by length, then the batches shuffled): less padding per step.
        grad_accumulation: Split each batch into this many micro-batches, back-propagating each
            (same gradient, a fraction of the activation memory).
    """

    init_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 3e-5
    max_length: int = 192
    label_smoothing: float = 0.0
    max_steps: int | None = None
    seed: int = 0
    group_by_length: bool = True
    grad_accumulation: int = 1


def _epoch_batches(examples: Sequence[PairwiseExample], order: list[int], cfg: TrainingConfig, gen) -> list[list[int]]:
    """One epoch's batches of example indices (length-grouped when ``cfg.group_by_length``: both
    inputs of an example are padded to its longer pair, so the key is query + longer document)."""
    import torch

    size = cfg.batch_size
    if not cfg.group_by_length:
        return [order[i : i + size] for i in range(0, len(order), size)]
    window = size * 32
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: len(examples[i].query) + max(len(examples[i].better), len(examples[i].worse)))
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def training_key(examples: Sequence[PairwiseExample], cfg: TrainingConfig, init_fingerprint: dict[str, str]) -> str:
    """Content hash identifying a training run (examples, initial weights, hyper-parameters)."""
    h = hashlib.sha256()
    h.update(json.dumps([asdict(cfg), init_fingerprint], sort_keys=True).encode())
    for ex in examples:
        h.update(json.dumps([ex.query, ex.better, ex.worse]).encode())
    return h.hexdigest()[:24]


def train_pairwise_cross_encoder(
    examples: Sequence[PairwiseExample],
    cfg: TrainingConfig,
    cache_dir: Path,
    *,
    device: str = "auto",
    progress: bool = False,
) -> Path:
    """Train (or reuse) a cross-encoder on pairwise preferences.

    Args:
        examples: Training preferences (order matters only through the seeded shuffle).
        cfg: Hyper-parameters.
        cache_dir: Folder holding trained models by content key.
        device: torch device spec.
        progress: Show a tqdm bar.

    Returns:
        The folder of the trained model (loadable by ``CrossEncoderRanker``); it contains
        ``training.json`` with the hyper-parameters, example count and final loss.

    Raises:
        ValueError: No examples.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    if not examples:
        raise ValueError("no training examples")
    init_path = resolve_model(cfg.init_model)
    key = training_key(examples, cfg, weights_fingerprint(init_path))
    out = Path(cache_dir) / key
    if (out / "training.json").is_file():
        log.info("reusing trained model %s", out)
        return out
    if restore_dir("pairwise-cross-encoder", key, out):
        return out

    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    tok = AutoTokenizer.from_pretrained(init_path)
    model = AutoModelForSequenceClassification.from_pretrained(init_path, num_labels=1).to(dev)
    model.train()
    n_steps_epoch = (len(examples) + cfg.batch_size - 1) // cfg.batch_size
    total = n_steps_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, n_steps_epoch * cfg.epochs)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    sched = get_linear_schedule_with_warmup(opt, max(1, total // 10), max(total, 1))
    target = 1.0 - cfg.label_smoothing
    gen = torch.Generator().manual_seed(cfg.seed)
    step, losses = 0, []
    with tqdm(total=total, desc="train cross-encoder", unit="step", disable=not progress, leave=False) as bar:
        for _ in range(cfg.epochs):
            order = torch.randperm(len(examples), generator=gen).tolist()
            for idx in _epoch_batches(examples, order, cfg, gen):
                if step >= total:
                    break
                batch = [examples[i] for i in idx]
                micro = max(1, -(-len(batch) // max(1, cfg.grad_accumulation)))
                step_loss = 0.0
                for m in range(0, len(batch), micro):
                    part = batch[m : m + micro]
                    docs = [e.better for e in part] + [e.worse for e in part]
                    enc = tok([e.query for e in part] * 2, docs, padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt").to(dev)
                    logits = model(**enc).logits[:, 0]
                    diff = logits[: len(part)] - logits[len(part) :]
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(diff, torch.full_like(diff, target)) * (len(part) / len(batch))
                    loss.backward()
                    step_loss += float(loss.detach())
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                losses.append(step_loss)
                step += 1
                bar.update(1)
    tmp = out.with_name(out.name + ".partial")
    model.eval()
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tail = losses[-max(1, len(losses) // 10) :]
    (tmp / "training.json").write_text(json.dumps({
        "config": asdict(cfg),
        "examples": len(examples),
        "steps": step,
        "first_loss": losses[0],
        "final_loss_mean_last_10pct": sum(tail) / len(tail),
        "init_weights_sha256": weights_fingerprint(init_path),
    }, indent=2))
    tmp.rename(out)
    del model, opt, sched
    release_memory()
    publish_dir("pairwise-cross-encoder", key, out)
    return out
