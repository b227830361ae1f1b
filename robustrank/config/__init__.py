"""The audit configuration (``model.yaml``): validated, strict, documented.

``load_config`` parses YAML with a strict ``yaml.safe_load`` (:mod:`robustrank.safeyaml`: UTF-8,
no duplicate keys, bounded size/depth/aliases) and validates it with pydantic models that
reject unknown keys. Every error message names the file and the key path, e.g.::

    examples/demo.yaml: ranker.batch_size: Input should be greater than 0

One module per section (:mod:`.ranker`, :mod:`.data`, :mod:`.executor`, :mod:`.gate`,
:mod:`.tasks`, :mod:`.audit`); task options live with their tasks and are validated through
the tasks registry. ``robustrank schema`` prints the JSON Schema for editor completion.
Relative paths in the file are resolved against the folder that holds it.
"""

from robustrank.config.audit import DEFAULT_MEASURES, AuditConfig, OutputConfig
from robustrank.config.data import (
    BM25Params,
    CandidatesConfig,
    DatasetConfig,
    DatasetsConfig,
)
from robustrank.config.executor import ExecutorConfig
from robustrank.config.gate import GateConfig
from robustrank.config.loading import json_schema, load_config, parse_config
from robustrank.config.ranker import RankerConfig

__all__ = [
    "DEFAULT_MEASURES",
    "AuditConfig",
    "BM25Params",
    "CandidatesConfig",
    "DatasetConfig",
    "DatasetsConfig",
    "ExecutorConfig",
    "GateConfig",
    "OutputConfig",
    "RankerConfig",
    "json_schema",
    "load_config",
    "parse_config",
]
