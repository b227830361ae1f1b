"""A run-only system under test: TREC run files stand in for a ranker we cannot execute.

``ranker: {type: run, options: {runs: {vaswani: runs/vaswani.trec, cranfield: runs/cranfield.trec}}}``
audits the ranked lists in the files: T1 (per-query effectiveness vs BM25) and T3 (each OOD
collection that has a run) work from the lists alone; tasks that must score new texts (T2
variations, T4 attacks, certification) fail with an error saying that a run cannot score them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.data.collection import sha256_file
from robustrank.errors import ConfigError, DataError

__all__ = ["RunRanker"]


class RunRanker:
    """Ranked lists from TREC run files, one per dataset name.

    Args:
        runs: dataset display name -> run file.
        name: Display name.
    """

    def __init__(self, runs: Mapping[str, Path], name: str = "run"):
        from robustrank.data import read_trec_run

        self.name = name
        self.paths = {k: Path(v) for k, v in runs.items()}
        self._runs = {}
        for dataset, path in self.paths.items():
            if not path.is_file():
                raise ConfigError(f"ranker.options.runs.{dataset}: {path} does not exist")
            self._runs[dataset] = read_trec_run(path)

    @classmethod
    def from_config(cls, config: Any, *, base_dir: Path | None = None, **_: Any) -> RunRanker:
        """Build from ``ranker.options.runs`` (dataset -> file, relative to the config folder)."""
        runs = config.options.get("runs")
        if not isinstance(runs, dict) or not runs:
            raise ConfigError("ranker.options.runs: type 'run' needs a mapping of dataset name -> TREC run file")
        base = base_dir or Path.cwd()
        resolved = {str(k): (Path(v).expanduser() if Path(v).expanduser().is_absolute() else base / v) for k, v in runs.items()}
        return cls(resolved, name=str(config.options.get("name", "run")))

    def run_for(self, dataset: str, query_ids: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """The ranked lists of ``dataset`` for ``query_ids`` (a query absent from the file retrieves nothing)."""
        if dataset not in self._runs:
            raise DataError(f"ranker.options.runs: no run file for dataset {dataset!r} (have: {', '.join(sorted(self._runs))})")
        run = self._runs[dataset]
        return {q: [(s.doc_id, s.score) for s in run.get(q, ())] for q in query_ids}

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """A run cannot score new texts: raises, naming the tasks that need an executable ranker."""
        raise ConfigError(
            "ranker type 'run' audits fixed ranked lists and cannot score new (query, document) texts; "
            "T2, T4 and certify need an executable ranker - disable them or audit the model itself"
        )

    def describe(self) -> dict[str, Any]:
        """The run files, for results.json."""
        return {"type": "run", "name": self.name, "runs": {k: str(v) for k, v in self.paths.items()}}

    def fingerprint(self) -> dict[str, str]:
        """sha256 of each run file."""
        return {f"{k}:{p.name}": sha256_file(p) for k, p in self.paths.items()}
