"""Score distillation: a student ranker trained on the victim's scores (surrogate and imitation models).

When the victim exposes scores, the student
learns the victim's *scores* on whole lists rather than pairwise orders. Each step takes
``lists_per_step`` lists and ``docs_per_list`` documents of each (half from the list's top
``top_share`` part, half from the rest, seeded), standardises the teacher's scores per list
(z-scores) and minimises

* ``listwise``: KL(softmax(z_teacher / T) || softmax(s_student)) per list (ListNet-style), and/or
* ``mse``: mean squared error between the per-list standardised student and teacher scores
  (scale-free, so a cosine student can match a logit teacher and vice versa).

The student is architecture-matched to the victim: a ``bi-encoder`` (mean pooling, L2-normalised,
cosine times a learned scale; saved in sentence-transformers layout) or a ``cross-encoder``
(one-logit head). Batches within a step are padded per encoder call; documents are truncated to
``max_length`` tokens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from robustrank.memory import release_memory
from robustrank.rankers.device import resolve_device
from robustrank.rankers.resolve import resolve_model, weights_fingerprint
from robustrank.sharedcache import publish_dir, restore_dir

__all__ = ["DistillationConfig", "ScoredList", "distillation_key", "train_distilled_ranker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredList:
    """The victim's scores of documents for one query: the teacher signal of distillation."""

    query: str
    documents: tuple[str, ...]
    scores: tuple[float, ...]


@dataclass(frozen=True)
class DistillationConfig:
    """Hyper-parameters of score distillation (see module docstring).

    Attributes:
        init_model: Model folder or hub id the student starts from.
        architecture: bi-encoder | cross-encoder (match the victim's).
        loss: listwise | mse | listwise+mse.
        temperature: Teacher softmax temperature on per-list z-scores (listwise).
        lists_per_step: Lists per optimiser step.
        docs_per_list: Documents sampled per list and step.
        top_share: Share of a list counted as its top (half the sampled documents come from it).
        max_steps: Optimiser steps.
        learning_rate: AdamW learning rate (linear warm-up over 10% of steps, then linear decay).
        max_length: Tokens per input (query + document for a cross-encoder, each text for a bi-encoder).
        init_scale: Initial scale of a bi-encoder student's cosine (learned).
        seed: Seeds head initialisation and sampling.
    """

    init_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    architecture: Literal["bi-encoder", "cross-encoder"] = "cross-encoder"
    loss: Literal["listwise", "mse", "listwise+mse"] = "listwise+mse"
    temperature: float = 1.0
    lists_per_step: int = 2
    docs_per_list: int = 16
    top_share: float = 0.2
    max_steps: int = 200
    learning_rate: float = 5e-5
    max_length: int = 128
    init_scale: float = 20.0
    seed: int = 0


def distillation_key(lists: Sequence[ScoredList], cfg: DistillationConfig, init_fingerprint: dict[str, str]) -> str:
    """Content hash identifying a distillation run (lists and scores, initial weights, hyper-parameters)."""
    h = hashlib.sha256()
    h.update(json.dumps(["distill", asdict(cfg), init_fingerprint], sort_keys=True).encode())
    for lst in lists:
        h.update(json.dumps([lst.query, list(lst.documents), [round(float(x), 6) for x in lst.scores]]).encode())
    return h.hexdigest()[:24]


def _write_st_layout(folder: Path, dim: int) -> None:
    """sentence-transformers module files: mean pooling, then L2 normalisation (cosine)."""
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True}))
    (folder / "2_Normalize").mkdir(exist_ok=True)


def train_distilled_ranker(
    lists: Sequence[ScoredList],
    cfg: DistillationConfig,
    cache_dir: Path,
    *,
    device: str = "auto",
    progress: bool = False,
    on_step: Callable[[int, Path], None] | None = None,
    checkpoints: Sequence[int] = (),
    checkpoint_activations: bool = True,
) -> Path:
    """Train (or reuse) a student ranker on a victim's scores.

    Args:
        lists: The victim's scored lists (at least two documents each).
        cfg: Hyper-parameters.
        cache_dir: Folder holding trained models by content key.
        device: torch device spec.
        progress: Show a tqdm bar.
        on_step: Called as ``on_step(step, folder)`` with a saved snapshot at every step in
            ``checkpoints`` (fidelity-vs-cost curves); not called when the model is reused.
        checkpoints: Steps at which ``on_step`` is called.
        checkpoint_activations: Keep only each encoder layer's input during the forward pass and
            recompute the layer in the backward pass (``torch.utils.checkpoint``, dropout replayed
            from the saved random state): the same gradients for about one more forward pass per
            step, and a fraction of the activation memory (docs/performance.md). Not part of the
            content key, since the trained weights do not depend on it.

    Returns:
        The student's folder: a cross-encoder (loadable by ``CrossEncoderRanker``) or a
        sentence-transformers bi-encoder (``BiEncoderRanker``); ``training.json`` holds the
        hyper-parameters, list and document counts, losses, seconds and (bi-encoder) the
        learned ``logit_scale``.

    Raises:
        ValueError: No usable list.
    """
    import time

    import torch
    from tqdm.auto import tqdm
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    lists = [lst for lst in lists if len(lst.documents) >= 2 and len(lst.documents) == len(lst.scores)]
    if not lists:
        raise ValueError("no scored list with at least two documents")
    init_path = resolve_model(cfg.init_model)
    key = distillation_key(lists, cfg, weights_fingerprint(init_path))
    out = Path(cache_dir) / key
    if (out / "training.json").is_file():
        log.info("reusing distilled model %s", out)
        return out
    if restore_dir("distilled", key, out):  # the shared artefact cache (robustrank.sharedcache)
        return out

    t_start = time.perf_counter()
    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tok = AutoTokenizer.from_pretrained(init_path)
    bi = cfg.architecture == "bi-encoder"
    if bi:
        model = AutoModel.from_pretrained(init_path).to(dev)
        log_scale = torch.nn.Parameter(torch.tensor(math.log(cfg.init_scale), device=dev))
        params = [*model.parameters(), log_scale]
    else:
        model = AutoModelForSequenceClassification.from_pretrained(init_path, num_labels=1).to(dev)
        log_scale = None
        params = list(model.parameters())
    model.train()
    if checkpoint_activations:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    sched = get_linear_schedule_with_warmup(opt, max(1, cfg.max_steps // 10), max(cfg.max_steps, 1))

    def embed(texts: list[str]):
        enc = tok(texts, padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt").to(dev)
        hidden = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)

    def student(query: str, docs: list[str]):
        if bi:
            q = embed([query])[0]
            return embed(docs) @ q * log_scale.exp()
        enc = tok([query] * len(docs), docs, padding=True, truncation="only_second", max_length=cfg.max_length, return_tensors="pt").to(dev)
        return model(**enc).logits[:, 0]

    def zscore(x):
        return (x - x.mean()) / x.std().clamp(min=1e-6)

    def save(folder: Path, step: int, losses: list[float]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        was_training = model.training
        model.eval()
        model.save_pretrained(folder, safe_serialization=True)
        tok.save_pretrained(folder)
        if bi:
            _write_st_layout(folder, int(model.config.hidden_size))
        tail = losses[-max(1, len(losses) // 10) :] if losses else [float("nan")]
        (folder / "training.json").write_text(json.dumps({
            "mode": "distillation",
            "config": asdict(cfg),
            "lists": len(lists),
            "documents_scored": sum(len(lst.documents) for lst in lists),
            "steps": step,
            "examples_seen": step * cfg.lists_per_step * cfg.docs_per_list,
            "first_loss": losses[0] if losses else None,
            "final_loss_mean_last_10pct": sum(tail) / len(tail),
            "logit_scale": float(log_scale.detach().exp()) if bi else None,
            "seconds": round(time.perf_counter() - t_start, 2),
            "activation_checkpointing": checkpoint_activations,
            "init_weights_sha256": weights_fingerprint(init_path),
        }, indent=2))
        if was_training:
            model.train()

    want = set(checkpoints)
    losses: list[float] = []
    order: list[int] = []
    with tqdm(total=cfg.max_steps, desc=f"distil {cfg.architecture}", unit="step", disable=not progress, leave=False) as bar:
        for step in range(1, cfg.max_steps + 1):
            step_loss = 0.0
            for _ in range(cfg.lists_per_step):
                if not order:
                    order = rng.permutation(len(lists)).tolist()
                lst = lists[order.pop()]
                n = len(lst.documents)
                n_top = max(1, round(n * cfg.top_share))
                k = min(cfg.docs_per_list, n)
                k_top = min(n_top, k // 2)
                idx = list(rng.choice(n_top, size=k_top, replace=False)) if k_top else []
                rest = [i for i in range(n) if i not in set(idx)]
                idx += list(rng.choice(rest, size=min(k - len(idx), len(rest)), replace=False))
                teacher = zscore(torch.tensor([lst.scores[i] for i in idx], dtype=torch.float32, device=dev))
                s = student(lst.query, [lst.documents[i] for i in idx]).float()
                loss = torch.zeros((), device=dev)
                if cfg.loss in ("listwise", "listwise+mse"):
                    target = torch.softmax(teacher / cfg.temperature, dim=0)
                    loss = loss + torch.nn.functional.kl_div(torch.log_softmax(s, dim=0), target, reduction="sum")
                if cfg.loss in ("mse", "listwise+mse"):
                    loss = loss + torch.mean((zscore(s) - teacher) ** 2)
                loss = loss / cfg.lists_per_step
                loss.backward()  # per list: one list's activations alive at a time, same gradient
                step_loss += float(loss.detach())
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(step_loss)
            bar.update(1)
            if on_step is not None and step in want and step != cfg.max_steps:
                snap = Path(cache_dir) / f"{key}.step{step}"
                save(snap, step, losses)
                on_step(step, snap)
    tmp = out.with_name(out.name + ".partial")
    save(tmp, cfg.max_steps, losses)
    tmp.rename(out)
    opt.state.clear()  # AdamW moments and gradients: 3x the weights; the weights go on return
    for p in params:
        p.grad = None
    release_memory()
    publish_dir("distilled", key, out)
    if on_step is not None and cfg.max_steps in want:
        on_step(cfg.max_steps, out)
    return out
