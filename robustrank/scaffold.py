"""``robustrank init``: write a commented model.yaml for a model, a collection, a profile and a
release policy that covers every task.

The ranker type is detected from the model folder: a sentence-transformers folder
(``modules.json`` or ``1_Pooling/``) is a bi-encoder; a ``config.json`` whose ``architectures``
name a ``*ForSequenceClassification`` head is a cross-encoder; a ``.onnx`` file (or a folder
holding one) is an ONNX ranker. A hub id is looked up in the offline copies robustrank knows
(:func:`robustrank.rankers.resolve.resolve_model`); otherwise ``--type`` must say.

A profile sizes the audit (:data:`PROFILES`): ``quick`` (a smoke run, minutes), ``standard`` (a
release decision: 50 adversarial targets, 50 certified queries), ``paper`` (the papers'
protocols: every query). The written file is validated with :func:`robustrank.config.load_config`
before it is kept, so what ``init`` writes always loads.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from robustrank.errors import ConfigError, RobustRankError

__all__ = ["PROFILES", "TASKS", "detect_ranker_type", "render_model_yaml", "write_model_yaml"]

log = logging.getLogger(__name__)

TASKS = ("t1", "t2", "t3", "t4", "certify")

PROFILES: dict[str, dict[str, Any]] = {
    # t4 profile (targets), attacks, certify sizes, bootstrap resamples
    "quick": {"t4_profile": "quick", "attacks": ["random_substitution", "keyword_stuffing", "trigger_query_terms"],
              "certify": {"queries": 10, "candidates": 20, "k_values": [1, 3, 5, 10], "n_max": 1024}, "bootstrap": 1000},
    "standard": {"t4_profile": "standard", "attacks": ["prada_wu_2023", "random_substitution", "keyword_stuffing", "pat_liu_2022",
                                                       "trigger_random", "trigger_query_terms"],
                 "certify": {"queries": 50, "candidates": 20, "k_values": [1, 3, 5, 10], "n_max": 2048}, "bootstrap": 2000},
    "paper": {"t4_profile": "paper", "attacks": ["prada_wu_2023", "random_substitution", "keyword_stuffing", "pat_liu_2022",
                                                 "trigger_random", "trigger_query_terms"],
              "certify": {"queries": 100000, "candidates": 100, "k_values": [1, 3, 5, 10, 20, 50], "n_max": 4096}, "bootstrap": 10000},
}
"""What each ``--profile`` sets (docs/attacks.md gives the interval widths the target counts yield)."""


def _q(value: Any) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted scalars (any path is safe)."""
    return json.dumps(value)


def detect_ranker_type(model: str) -> tuple[str, str]:
    """The ranker type of ``model`` and why (``bi-encoder`` | ``cross-encoder`` | ``onnx``).

    Raises:
        ConfigError: The type cannot be told from the folder (name it with ``--type``).
    """
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix == ".onnx":
            return "onnx", f"{path.name} is an ONNX file"
        raise ConfigError(f"{model}: not a model folder or .onnx file; pass --type")
    if not path.is_dir():
        from robustrank.rankers.resolve import resolve_model

        try:
            path = Path(resolve_model(model))
        except RobustRankError:
            raise ConfigError(f"{model}: not a local folder and no offline copy is installed; pass --type to name the ranker type") from None
    if (path / "modules.json").is_file() or (path / "1_Pooling").is_dir():
        return "bi-encoder", f"{path} is a sentence-transformers folder (modules.json / 1_Pooling)"
    arch: list[str] = []
    if (path / "config.json").is_file():
        try:
            arch = list(json.loads((path / "config.json").read_text(encoding="utf-8")).get("architectures") or [])
        except (ValueError, OSError, AttributeError):
            raise ConfigError(f"{path / 'config.json'}: not a readable JSON object; pass --type") from None
        if any(str(a).endswith("ForSequenceClassification") for a in arch):
            return "cross-encoder", f"config.json architectures {arch} has a sequence-classification head"
    if sorted(path.glob("*.onnx")) or sorted(path.glob("onnx/*.onnx")):
        return "onnx", f"{path} holds an .onnx file"
    raise ConfigError(
        f"{path}: cannot tell the ranker type (no modules.json or 1_Pooling, architectures {arch or 'absent'}, no .onnx file); "
        "pass --type bi-encoder|cross-encoder|onnx"
    )


def _policy(tasks: list[str], attacks: list[str], ood: list[str], k_values: list[int]) -> list[str]:
    """The release policy's lines (the same rules as examples/demo.yaml, documented in docs/gate.md)."""
    k = 10 if 10 in k_values else max(k_values)
    out = [
        "# Release gate (robustrank audit model.yaml --gate): a condition on every task, each severity",
        "# commented. Adversarial conditions use interval bounds (docs/gate.md): severity fail on the LOWER",
        "# bound of a bad rate (the data prove it is too high), warn on the UPPER bound (the data cannot",
        "# show it is low enough; small profiles warn until more targets are measured).",
        "gate:",
        "  on_error: fail                              # a missing value or errored task fails (fail closed)",
        "  conditions:",
    ]
    if "t1" in tasks:
        out += ["    - t1.nDCG@10.ci_low >= 0.20               # effectiveness floor: adjust to your collection",
                "    - t1.nDCG@10.diff_vs_bm25 >= -0.02        # not worse than BM25 by more than 0.02"]
    if "t2" in tasks:
        out += ["    - check: t2.typo.nDCG@10.gap <= 0.05      # typos cost at most 5 points more (relative) than for BM25",
                "      severity: warn                          # natural noise: warn, BM25 suffers it too",
                "    - check: t2.typo.fail_rate.ci_low <= 0.20 # proven: > 20% of queries lose > 0.1 nDCG@10 to typos",
                "      severity: warn"]
    if "t3" in tasks:
        for name in ood:
            out += [f"    - check: t3.gap[{_q(name)}] <= 0.10" if not name.replace("-", "").replace("_", "").isalnum()
                    else f"    - check: t3.gap.{name} <= 0.10", "      severity: warn                          # off-domain: at most 10 points worse than BM25"]
    if "t4" in tasks:
        out += ["    - check: t4.ensemble.top10_rate.ci_low <= 0.10   # worst case over attacks: proven top-10 promotion > 10% fails",
                "      name: worst case over attacks - proven top-10 promotion above 10%"]
        for a in attacks:
            out += [f"    - check: t4.{a}.top10_rate.ci_high <= 0.2", "      severity: warn                          # not shown to stay below 20%"]
    if "certify" in tasks:
        out += [f"    - check: certify.crq@{k} >= 0.10             # no certificate is no attack: warn",
                "      severity: warn",
                f"    - certify.verdict.soundness_alarm@{k} == 0   # a certified query broken by a counterexample: fail",
                f"    - check: certify.verdict.broken@{k} == 0",
                "      severity: warn"]
    return out


def render_model_yaml(model: str, ranker_type: str, reason: str, collection: str, *, profile: str = "quick", name: str | None = None,
                      ood: list[str] | None = None, tasks: list[str] | None = None, out_dir: str = "reports/{name}") -> str:
    """The text of a commented model.yaml (paths are written as given; see :func:`write_model_yaml`)."""
    if profile not in PROFILES:
        raise ConfigError(f"--profile: {profile!r} is not one of {', '.join(PROFILES)}")
    p = PROFILES[profile]
    ood = list(ood or [])
    tasks = list(tasks or [t for t in TASKS if t != "t3" or ood])
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ConfigError(f"--tasks: {unknown[0]!r} is not one of {', '.join(TASKS)}")
    if "t3" in tasks and not ood:
        raise ConfigError("--tasks: t3 needs at least one --ood collection")
    ood_names = [Path(o).name for o in ood]
    name = name or f"{Path(model).name or 'model'}-{Path(collection).name or 'collection'}"
    lines = [
        f"# robustrank audit of {model} (written by `robustrank init`, profile {profile}).",
        "# Run:  robustrank audit model.yaml --gate      Schema: robustrank schema > model.schema.json",
        f"name: {_q(name)}",
        "seed: 13                                      # every random choice derives from this seed",
        "measures: [nDCG@10, RR@10, AP@100, R@100]",
        "ranker:",
        f"  type: {ranker_type}                       # detected: {reason.replace(chr(10), ' ')}",
        f"  model: {_q(model)}",
        "  device: auto                                # auto | cpu | cuda | cuda:N | mps",
        "candidates:",
        "  source: bm25                                # the ranker re-ranks BM25's top `depth`",
        "  depth: 100",
        "datasets:",
        "  in_domain:",
        f"    name: {_q(Path(collection).name or 'collection')}",
        f"    path: {_q(collection)}                  # BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv",
    ]
    if ood:
        lines.append("  ood:                                        # unseen domains for t3")
        for o, n in zip(ood, ood_names):
            lines += [f"    - name: {_q(n)}", f"      path: {_q(o)}"]
    b = p["bootstrap"]
    c = p["certify"]
    lines += [
        "tasks:",
        f"  t1: {{enabled: {str('t1' in tasks).lower()}, bootstrap_samples: {b}}}          # i.i.d. effectiveness, bootstrap CIs",
        f"  t2: {{enabled: {str('t2' in tasks).lower()}, bootstrap_samples: {b // 2}, fail_tolerance: 0.1}}   # query variations; fail = nDCG@10 drop > 0.1",
        f"  t3: {{enabled: {str('t3' in tasks).lower()}}}                                   # unseen domains (datasets.ood)",
        "  t4:                                         # adversarial documents (docs/attacks.md)",
        f"    enabled: {str('t4' in tasks).lower()}",
        f"    profile: {p['t4_profile']}                       # quick = 8 targets, standard = 50, paper = every query",
        "    targets: {rank_ranges: [[51, 100]], per_query: 1}   # PRADA protocol: documents from ranks 51-100",
        "    budget: {max_words: 10, max_victim_queries: 100}",
        "    attacks:",
        *[f"      - name: {a}" for a in p["attacks"]],
        "  certify:                                    # certified top-K robustness (docs/certify.md)",
        f"    enabled: {str('certify' in tasks).lower()}",
        f"    queries: {c['queries']}                              # certified queries (a seeded sample)",
        f"    candidates: {c['candidates']}",
        f"    k_values: {c['k_values']}",
        f"    n_max: {c['n_max']}",
        "output:",
        f"  dir: {_q(out_dir)}                  # relative to this file",
    ]
    lines += _policy(tasks, p["attacks"], ood_names, c["k_values"])
    return "\n".join(lines) + "\n"


def write_model_yaml(path: str | Path, model: str, collection: str, *, ranker_type: str = "auto", profile: str = "quick",
                     name: str | None = None, ood: list[str] | None = None, tasks: list[str] | None = None, force: bool = False) -> Path:
    """Write (atomically) and validate a model.yaml.

    Local paths are written relative to the file's folder when they lie below it, else absolute.

    Raises:
        ConfigError: ``path`` exists and ``force`` is False; the type cannot be detected; the
            collection is missing; the written text does not validate.
    """
    from robustrank.config import load_config
    from robustrank.results import write_text_atomic

    target = Path(path)
    if target.exists() and not force:
        raise ConfigError(f"{target}: exists; refusing to overwrite it (pass --force)")
    if not Path(collection).expanduser().is_dir():
        raise ConfigError(f"--collection: {collection}: not a folder (a BEIR collection: corpus.jsonl, queries.jsonl, qrels/)")
    reason = "given with --type"
    if ranker_type == "auto":
        ranker_type, reason = detect_ranker_type(model)
    base = target.parent.resolve()

    def rel(p: str) -> str:
        q = Path(p).expanduser()
        if not q.exists():
            return p  # a hub id
        q = q.resolve()
        return os.path.relpath(q, base) if q.is_relative_to(base) else str(q)

    text = render_model_yaml(rel(model), ranker_type, reason, rel(collection), profile=profile, name=name,
                             ood=[rel(o) for o in ood or []], tasks=tasks)
    tmp = target.with_name(f".{target.name}.init-check.yaml")
    try:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(str(tmp), str(target))) from None
    finally:
        tmp.unlink(missing_ok=True)
    write_text_atomic(target, text)
    log.info("wrote %s (%s, profile %s)", target, ranker_type, profile)
    return target
