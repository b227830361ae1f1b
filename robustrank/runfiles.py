"""Ranked lists out as TREC run files, so any audit can be re-checked with trec_eval, ranx or PyTerrier.

Layout under the output folder: ``runs/<dataset>/<variation>/<system>.trec`` with ``variation``
``original`` for the unperturbed queries and the T2 variation key otherwise; ``system`` is
``neural`` (the system under audit), ``bm25`` (the baseline) or ``candidates`` (the first stage the
neural ranker re-ranked). Scores are written with full float precision (``repr``), so a run read back
evaluates to exactly the per-query values in results.json.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from robustrank.results import write_text_atomic

__all__ = ["export_runs", "format_trec_run", "write_trec_run"]

_SAFE = re.compile(r"[^A-Za-z0-9_.@+-]+")


def format_trec_run(run: Mapping[str, Sequence[tuple[str, float]]], tag: str) -> str:
    """``query_id Q0 doc_id rank score tag`` lines, each query's list best first (ties by doc_id)."""
    lines = []
    for qid, docs in run.items():
        ranked = sorted(docs, key=lambda x: (-float(x[1]), x[0]))
        lines += [f"{qid} Q0 {did} {rank} {float(score)!r} {tag}" for rank, (did, score) in enumerate(ranked, start=1)]
    return "\n".join(lines) + ("\n" if lines else "")


def write_trec_run(path: str | Path, run: Mapping[str, Sequence[tuple[str, float]]], tag: str = "robustrank") -> Path:
    """Write one run file atomically."""
    return write_text_atomic(path, format_trec_run(run, tag))


def export_runs(recorded: Mapping[tuple[str, str, str], Any], out_dir: Path, *, name: str) -> dict[str, str]:
    """Write every recorded (dataset, variation, system) run; returns ``dataset/variation/system`` -> relative path."""
    index = {}
    for (dataset, variation, system), run in sorted(recorded.items()):
        rel = Path("runs") / _SAFE.sub("_", dataset) / _SAFE.sub("_", variation) / f"{_SAFE.sub('_', system)}.trec"
        write_trec_run(out_dir / rel, run, tag=_SAFE.sub("_", f"{name}.{system}"))
        index[f"{dataset}/{variation}/{system}"] = str(rel)
    return index
