"""results.json: writing it atomically, reading it back (schema-checked), its typed schema and
the metric-key value object.

Modules: :mod:`.io` (atomic writes, :func:`read_results`, environment), :mod:`.schema` (the
pydantic models, the long per-query records, the JSON Schema), :mod:`.keys` (:class:`MetricKey`).
"""

from robustrank.results.io import environment, read_results, to_jsonable, write_json_atomic, write_text_atomic
from robustrank.results.keys import MetricKey
from robustrank.results.schema import (
    SCHEMA_VERSION,
    PerQueryRecord,
    Results,
    TaskRecord,
    TaskResult,
    check_task_result,
    per_query_records,
    pivot,
    results_json_schema,
    select_values,
    task_records,
)

__all__ = [
    "SCHEMA_VERSION",
    "MetricKey",
    "PerQueryRecord",
    "Results",
    "TaskRecord",
    "TaskResult",
    "check_task_result",
    "environment",
    "per_query_records",
    "pivot",
    "read_results",
    "results_json_schema",
    "select_values",
    "task_records",
    "to_jsonable",
    "write_json_atomic",
    "write_text_atomic",
]
