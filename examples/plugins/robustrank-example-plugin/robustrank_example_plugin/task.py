"""Document-truncation sensitivity: how much effectiveness each system keeps when it sees only
the first ``max_words`` words of every candidate document.

For every cut-off the neural ranker re-scores its own candidates truncated, and BM25 re-scores
its own top list truncated (with the full collection's statistics), on the same queries; the drop
from the untruncated effectiveness is compared per query (paired, bootstrap CI). A probe of
position bias and of how much a ranker relies on late document content.

Results: long per-query records (``max_words`` label; absent on the untruncated values), metric
keys ``doc_truncation.first<N>.<measure>.{mean,relative_drop,bm25_relative_drop}``, a report
fragment (``templates/doc_truncation.html.j2``) and a report view (summary rows, sample size).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from robustrank.api import MetricKey, StrictModel, TaskContext, TaskView, metric_drop, per_query_records, score_pairs

SYSTEMS = ("neural", "bm25")


class DocTruncationOptions(StrictModel):
    """Options of ``tasks.doc_truncation``."""

    enabled: bool = True
    max_words: list[int] = Field(default_factory=lambda: [32], min_length=1, description="Cut-offs (words kept per document).")
    bootstrap_samples: int = Field(1000, gt=0)
    confidence: float = Field(0.95, gt=0, lt=1)


def _cut(text: str, n: int) -> str:
    return " ".join(text.split()[:n])


class DocTruncationTask:
    """Effectiveness of the ranker and BM25 on documents cut to their first words."""

    name = "doc_truncation"
    title = "Document truncation sensitivity"
    Options = DocTruncationOptions
    report_fragment = "templates/doc_truncation.html.j2"

    def __init__(self, options: DocTruncationOptions | None = None):
        self.options = options or DocTruncationOptions()

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
        """A summary row per cut-off (first measure) and the sample size."""
        rows = []
        for cut in result["cuts"]:
            m = result["measures"][0]
            row = cut["measures"][m]
            n, b = row["neural"], row["bm25"]
            rows.append({
                "item": f"first {cut['max_words']} words: drop in {m}",
                "neural": n["drop"], "neural_ci": (n["drop_ci_low"], n["drop_ci_high"]),
                "bm25": b["drop"], "bm25_ci": (b["drop_ci_low"], b["drop_ci_high"]),
                "extra": None, "note": f"n={result['n_queries']}",
            })
        return TaskView(summary=tuple(rows), sizes=({"what": f"judged queries of {result['dataset']}", "n": result["n_queries"]},))

    def _run_truncated(self, ctx: TaskContext, coll: Any, system: str, ranked: dict[str, list], queries: dict[str, str], n: int) -> dict[str, list]:
        """Re-score each query's list of ``system`` on truncated documents (one checkpointed unit per query)."""
        bm25 = ctx.bm25(coll) if system == "bm25" else None
        out = {}
        for qid, ranking in ranked.items():
            docs = [d for d, _ in ranking if d in coll.documents]

            def compute(qid=qid, docs=docs):
                texts = [_cut(coll.documents[d].full_text, n) for d in docs]
                scores = bm25.score(queries[qid], texts) if bm25 is not None else score_pairs(ctx.ranker, [(queries[qid], t) for t in texts])
                return sorted(zip(docs, [float(s) for s in scores]), key=lambda pair: (-pair[1], pair[0]))

            out[qid] = [tuple(x) for x in ctx.unit(self.name, f"{system}/{n}/{qid}", compute)]
        return out

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        """Evaluate both systems with every cut-off and compare with the untruncated values."""
        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        runs = ctx.runs(coll)
        lists = {"neural": runs["neural"], "bm25": runs["bm25"]}
        original = {s: ctx.evaluate(lists[s], coll, qids) for s in SYSTEMS}
        measures = list(ctx.config.measures)
        records = per_query_records(original, qids)
        cuts, metrics, sources = [], {}, {}
        for n in opt.max_words:
            with ctx.timed(f"{self.name}:{n}"):
                truncated = {s: ctx.evaluate(self._run_truncated(ctx, coll, s, lists[s], runs["queries"], n), coll, qids) for s in SYSTEMS}
            records += per_query_records(truncated, qids, max_words=n)
            by_measure = {}
            for m in measures:
                seed = int(ctx.rng(self.name, n, m).integers(2**31))
                by_measure[m] = {
                    s: metric_drop([original[s][m][q] for q in qids], [truncated[s][m][q] for q in qids],
                                   seed=seed, confidence=opt.confidence, n_resamples=opt.bootstrap_samples)
                    for s in SYSTEMS
                }
                group = f"first{n}"
                mean_key = MetricKey.of(self.name, group, m, "mean")
                metrics[str(mean_key)] = by_measure[m]["neural"]["perturbed_mean"]
                metrics[str(MetricKey.of(self.name, group, m, "relative_drop"))] = by_measure[m]["neural"]["relative_drop"]
                metrics[str(MetricKey.of(self.name, group, m, "bm25_relative_drop"))] = by_measure[m]["bm25"]["relative_drop"]
                sources[str(mean_key)] = {"system": "neural", "measure": m, "max_words": n}
            cuts.append({"max_words": n, "measures": by_measure})
        return {
            "dataset": coll.name,
            "n_queries": len(qids),
            "measures": measures,
            "cuts": cuts,
            "per_query": records,
            "metrics": metrics,
            "metric_per_query": sources,
        }
