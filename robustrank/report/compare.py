"""Compare two audits: every shared metric side by side, paired per-query tests, what changed.

:func:`compare_results` takes two results documents (old, new) and returns one JSON-serialisable
comparison:

* ``metrics`` - every key of ``metrics`` present in both, with old, new and ``delta = new - old``
  (keys present in one run only are listed in ``only_old`` / ``only_new``);
* ``paired`` - for every series of long per-query records (``tasks.<key>.result.per_query``: one
  series per task and combination of ``system``, ``measure`` and labels such as ``variation`` or
  ``dataset``) that both runs recorded, the queries both share (matched by ``query_id``, selected
  with :func:`robustrank.results.select_values`, the selection the gate's paired tests use) and a
  two-sided paired t-test (``scipy.stats.ttest_rel``) and Wilcoxon signed-rank test of
  ``new - old``, with the 95% t-interval of the mean difference; t-test p-values are Holm-corrected
  over all series that differ on at least one shared query (family-wise ``alpha``; identical
  series keep p = 1 and stay out of the family). A metric whose task names its per-query filter in
  ``metric_per_query`` links to its series;
* ``changes`` - model (weights sha256, ranker), data (collection file sha256), config (every
  differing key of the recorded config), environment (package versions), seed.

Both runs must be on the same queries for a paired test to mean anything; where the data differ
the comparison says so (``changes.data``) and the paired tests use only the shared query ids.
"""

from __future__ import annotations

import math
from typing import Any

from robustrank.results.schema import select_values, task_records

__all__ = ["compare_results", "flatten"]


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b.c": leaf}`` of nested dicts (lists are leaves)."""
    if not isinstance(doc, dict) or not doc:
        return {prefix: doc} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in doc.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    fo, fn = flatten(old), flatten(new)
    return [{"key": k, "old": fo.get(k), "new": fn.get(k)} for k in sorted(set(fo) | set(fn)) if fo.get(k) != fn.get(k)]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _series(result: dict[str, Any] | None) -> dict[tuple[tuple[str, Any], ...], dict[str, Any]]:
    """Series key (sorted non-null labels) -> record filter, for a task's long records."""
    out: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for r in task_records(result):
        labels = {k: v for k, v in r.model_dump().items() if k not in ("query_id", "value") and v is not None}
        key = tuple(sorted(labels.items()))
        out.setdefault(key, {**labels, **{f: None for f in ("dataset", "variation", "slice") if f not in labels}})
    return out


def paired_stats(old: dict[str, float], new: dict[str, float]) -> dict[str, Any]:
    """Paired statistics of ``new - old`` over the shared query ids (None p-values below 2 queries)."""
    import numpy as np
    from scipy import stats

    common = sorted(set(old) & set(new))
    out: dict[str, Any] = {"n_shared": len(common), "n_old": len(old), "n_new": len(new), "identical": False}
    if not common:
        return {**out, "old_mean": None, "new_mean": None, "mean_diff": None, "ci": None, "p_t": None, "p_wilcoxon": None}
    a, b = np.array([old[q] for q in common]), np.array([new[q] for q in common])
    d = b - a
    out["identical"] = bool(np.all(d == 0))
    out.update({"old_mean": float(a.mean()), "new_mean": float(b.mean()), "mean_diff": float(d.mean()),
                "improved": int((d > 0).sum()), "worsened": int((d < 0).sum()), "unchanged": int((d == 0).sum())})
    if len(common) < 2:
        return {**out, "ci": None, "p_t": None, "p_wilcoxon": None}
    if np.allclose(d, d[0]):
        out.update({"ci": [float(d[0]), float(d[0])], "p_t": 1.0 if d[0] == 0 else 0.0})
    else:
        half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
        out.update({"ci": [float(d.mean() - half), float(d.mean() + half)], "p_t": float(stats.ttest_rel(b, a).pvalue)})
    out["p_wilcoxon"] = 1.0 if np.all(d == 0) else float(stats.wilcoxon(d, zero_method="wilcox").pvalue)
    return out


def _paired(old: dict[str, Any], new: dict[str, Any], alpha: float) -> list[dict[str, Any]]:
    from robustrank.stats import correct_pvalues

    rows: list[dict[str, Any]] = []
    for task, t_new in (new.get("tasks") or {}).items():
        t_old = (old.get("tasks") or {}).get(task) or {}
        if t_new.get("status") != "ok" or t_old.get("status") != "ok":
            continue
        r_new, r_old = t_new.get("result") or {}, t_old.get("result") or {}
        s_new, s_old = _series(r_new), _series(r_old)
        recs_old, recs_new = task_records(r_old), task_records(r_new)
        metric_of = {tuple(sorted((k, v) for k, v in f.items() if v is not None)): m
                     for m, f in (r_new.get("metric_per_query") or {}).items() if isinstance(f, dict)}
        for key in [k for k in s_new if k in s_old]:
            selector = s_new[key]
            try:
                vo, vn = select_values(recs_old, selector), select_values(recs_new, selector)
            except LookupError:
                continue
            rows.append({"task": task, "series": ", ".join(f"{k}={v}" for k, v in key), "filter": {k: v for k, v in key},
                         "metric": metric_of.get(key), **paired_stats(vo, vn)})
    # series equal on every shared query (same model and data: T1 under another seed) test nothing;
    # they stay out of the Holm family so they do not make the correction stricter for the others
    family = {str(i): r["p_t"] for i, r in enumerate(rows) if r["p_t"] is not None and not r["identical"]}
    corrected = correct_pvalues(family, "holm", alpha)
    for i, r in enumerate(rows):
        r["p_holm"] = corrected.get(str(i), r["p_t"])
        r["significant"] = r["p_holm"] is not None and r["p_holm"] < alpha
    return rows


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    fo, fn = old.get("fingerprints") or {}, new.get("fingerprints") or {}
    data = {name: _diff((fo.get("datasets") or {}).get(name) or {}, (fn.get("datasets") or {}).get(name) or {})
            for name in sorted(set(fo.get("datasets") or {}) | set(fn.get("datasets") or {}))}
    return {
        "model": _diff({"weights": fo.get("model") or {}, "ranker": old.get("ranker") or {}},
                       {"weights": fn.get("model") or {}, "ranker": new.get("ranker") or {}}),
        "data": {k: v for k, v in data.items() if v},
        "config": _diff(old.get("config") or {}, new.get("config") or {}),
        "environment": _diff({"robustrank": old.get("robustrank_version"), **((old.get("environment") or {}).get("packages") or {})},
                             {"robustrank": new.get("robustrank_version"), **((new.get("environment") or {}).get("packages") or {})}),
        "seed": None if old.get("seed") == new.get("seed") else {"old": old.get("seed"), "new": new.get("seed")},
    }


def _side(doc: dict[str, Any], path: str | None, digest: str | None) -> dict[str, Any]:
    return {"name": doc.get("name"), "path": path, "sha256": digest, "started_at": doc.get("started_at"),
            "seed": doc.get("seed"), "robustrank_version": doc.get("robustrank_version")}


def compare_results(
    old: dict[str, Any], new: dict[str, Any], *, alpha: float = 0.05,
    old_path: str | None = None, new_path: str | None = None, old_digest: str | None = None, new_digest: str | None = None,
) -> dict[str, Any]:
    """The comparison of two results documents (see the module docstring).

    Args:
        old, new: Parsed results.json of the earlier and the later audit.
        alpha: Family-wise level of the Holm-corrected paired t-tests.
        old_path, new_path, old_digest, new_digest: Where the documents came from (recorded).
    """
    mo, mn = old.get("metrics") or {}, new.get("metrics") or {}
    paired = _paired(old, new, alpha)
    by_metric = {r["metric"]: i for i, r in enumerate(paired) if r["metric"]}
    metrics = []
    for key in [k for k in mn if k in mo]:
        a, b = mo[key], mn[key]
        metrics.append({"key": key, "task": key.split(".", 1)[0].split("[", 1)[0], "old": a, "new": b,
                        "delta": (b - a) if _is_num(a) and _is_num(b) else None, "paired": by_metric.get(key)})
    return {
        "old": _side(old, old_path, old_digest), "new": _side(new, new_path, new_digest), "alpha": alpha,
        "family_size": sum(1 for r in paired if r["p_t"] is not None and not r["identical"]),
        "metrics": metrics, "only_old": [k for k in mo if k not in mn], "only_new": [k for k in mn if k not in mo],
        "paired": paired, "changes": _changes(old, new),
        "tasks": {k: {"old": ((old.get("tasks") or {}).get(k) or {}).get("status", "absent"),
                      "new": ((new.get("tasks") or {}).get(k) or {}).get("status", "absent")}
                  for k in dict.fromkeys([*(old.get("tasks") or {}), *(new.get("tasks") or {})])},
    }
