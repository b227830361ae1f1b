"""The whole ``model.yaml``: :class:`AuditConfig` and its ``output:`` section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, field_validator

from robustrank.config.data import CandidatesConfig, DatasetsConfig
from robustrank.config.executor import ExecutorConfig
from robustrank.config.gate import GateConfig
from robustrank.config.ranker import RankerConfig
from robustrank.outdir import check_name
from robustrank.schema_base import StrictModel

__all__ = ["DEFAULT_MEASURES", "AuditConfig", "OutputConfig"]

DEFAULT_MEASURES = ("nDCG@10", "RR@10", "AP@100", "R@100")


class OutputConfig(StrictModel):
    """Where results go."""

    dir: str = Field("reports/{name}", description="Output folder; {name} is the audit name. A relative path resolves against the config file's folder.")
    html: bool = Field(True, description="Render report.html next to results.json.")
    runs: bool = Field(False, description="Write every ranked list as a TREC run file: runs/<dataset>/<variation>/<system>.trec.")


class AuditConfig(StrictModel):
    """A complete ``model.yaml``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Audit name (used in the output folder).")
    seed: int = Field(0, description="Seed for every random choice of the audit.")
    measures: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MEASURES),
        description="ir-measures measure strings, e.g. nDCG@10, RR@10, AP@100, R@100.",
    )
    max_queries: int | None = Field(None, gt=0, description="Use only the first N judged queries.")
    intended_use: str | None = Field(
        None, description="What the model is for and who uses it (copied into the compliance record; null = not declared)."
    )
    operating_domain: str | dict[str, str] | None = Field(
        None,
        description="The declared operating domain (ISO/IEC 24029-2): free text, or a mapping such as "
        "{language: en, documents: scientific abstracts, queries: short keyword queries}; null = not declared.",
    )
    lexicon: str | None = Field(
        None,
        description="Synonym table (robustrank lexicon format, e.g. your own counter-fitted neighbours); "
        "null = the bundled WordNet+GloVe lexicon.",
    )
    cache_dir: str | None = Field(
        None,
        description="Shared artefact cache reused across audits (trained surrogates, T4's BM25 column); "
        "null = $ROBUSTRANK_CACHE_DIR, else ~/.cache/robustrank; 'off' disables it. Relative to the config file.",
    )
    ranker: RankerConfig
    candidates: CandidatesConfig = Field(default_factory=CandidatesConfig)
    datasets: DatasetsConfig
    tasks: dict[str, Any] = Field(
        default_factory=dict,
        description="Tasks by registered key (t1, t2, t3, t4, certify, or a plugin task); each value is "
        "validated by that task's Options model. Built-in tasks run with defaults unless disabled.",
    )
    gate: GateConfig = Field(default_factory=GateConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<config>")

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("measures")
    @classmethod
    def _check_measures(cls, v: list[str]) -> list[str]:
        import ir_measures

        if not v:
            raise ValueError("at least one measure is needed")
        for m in v:
            try:
                ir_measures.parse_measure(m)
            except Exception as exc:  # ir_measures raises several types
                raise ValueError(f"{m!r} is not an ir-measures measure ({exc})") from None
        return v

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self._base_dir

    @property
    def source(self) -> str:
        """File the config was read from."""
        return self._source

    def resolve(self, path: str) -> Path:
        """Resolve a path from the config against the config file's folder.

        Args:
            path: Absolute, ``~``-prefixed, or relative to the config file.

        Returns:
            The absolute path.
        """
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self._base_dir / p).resolve()

    def output_dir(self) -> Path:
        """The output folder with ``{name}`` filled in, resolved against the config file's folder."""
        return self.resolve(self.output.dir.replace("{name}", self.name))

    def task_options(self, key: str) -> Any:
        """The validated options of task ``key`` (None when the config does not have it)."""
        return self.tasks.get(key)
