"""The risk scorecard: findings of an audit ranked by severity, from results.json alone.

Each finding is one plain sentence with its number, interval and sample size, its BM25
counterpart where one exists, the metric key its number comes from and the anchor of the report
section it summarises (``task-<key>``). Severity comes from the thresholds of the policy
(``gate.scorecard``, :class:`robustrank.config.scorecard.ScorecardConfig`, documented defaults)
by the ladder documented there: critical when the whole interval is beyond ``high``, high / medium
by the estimate, low when only the interval reaches ``medium``. A T1 loss against BM25 whose interval
includes zero is at most low; a detector is judged on the attacks that lifted a document into the
audited ranker's top 10 (all attacks when none did).

Numbers are copied from the results; an interval a task did not record is the exact
(Clopper-Pearson) interval of the recorded count and sample size. Nothing here builds markup.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from robustrank.config.scorecard import Band, ScorecardConfig
from robustrank.errors import RobustRankError
from robustrank.stats import clopper_pearson

__all__ = ["SEVERITIES", "Finding", "Share", "findings", "scorecard_config", "severity"]

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "high", "medium", "low")
"""Severities, worst first."""


@dataclasses.dataclass(frozen=True)
class Share:
    """A measured quantity: a share ``count / n`` (or a mean) with its interval."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    count: int | None = None
    n: int | None = None

    def text(self, digits: int = 0) -> str:
        """``4/8 (50% [16%, 84%])`` for a share, ``0.120 [0.05, 0.19] (n=8)`` otherwise."""
        if self.count is not None and self.n is not None:
            ci = f" [{self.ci_low * 100:.{digits}f}%, {self.ci_high * 100:.{digits}f}%]" if self.ci_low is not None and self.ci_high is not None else ""
            return f"{self.count}/{self.n} ({self.value * 100:.{digits}f}%{ci})"
        ci = f" [{self.ci_low:.3f}, {self.ci_high:.3f}]" if self.ci_low is not None and self.ci_high is not None else ""
        size = f" (n={self.n})" if self.n is not None else ""
        return f"{self.value:.3f}{ci}{size}"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One scorecard line."""

    severity: str
    task: str
    title: str
    text: str
    key: str | None
    neural: Share
    bm25: Share | None = None

    @property
    def anchor(self) -> str:
        """The id of the report section this finding summarises."""
        return f"task-{self.task}"

    @property
    def rank(self) -> int:
        """0 for critical ... 3 for low."""
        return SEVERITIES.index(self.severity)


def severity(share: Share, band: Band, *, bad_when_high: bool) -> str | None:
    """The severity of ``share`` under ``band`` (None: no finding). See the ladder above."""
    sign = 1.0 if bad_when_high else -1.0
    worst_end = share.ci_low if bad_when_high else share.ci_high  # the end nearest the safe side
    best_end = share.ci_high if bad_when_high else share.ci_low   # the end farthest into trouble
    if worst_end is not None and sign * (worst_end - band.high) >= 0:
        return "critical"
    if sign * (share.value - band.high) >= 0:
        return "high"
    if sign * (share.value - band.medium) >= 0:
        return "medium"
    if best_end is not None and sign * (best_end - band.medium) > 0:
        return "low"
    return None


def scorecard_config(results: Mapping[str, Any]) -> ScorecardConfig:
    """The thresholds recorded in the results' policy, or the defaults (logged) when invalid."""
    from robustrank.gate.policy import policy_from_results

    try:
        return policy_from_results(dict(results))[0].scorecard
    except RobustRankError as exc:
        log.warning("scorecard: recorded policy invalid (%s); default thresholds", exc)
        return ScorecardConfig()


def _share(rate: Any, count: Any = None, n: Any = None, lo: Any = None, hi: Any = None) -> Share | None:
    if not isinstance(rate, (int, float)) or isinstance(rate, bool):
        return None
    if isinstance(n, (int, float)) and n > 0:
        n = int(n)
        count = int(count) if isinstance(count, (int, float)) else round(rate * n)
        if lo is None or hi is None:
            lo, hi = clopper_pearson(count, n)
    else:
        count = n = None
    return Share(float(rate), lo, hi, count, n)


def _rate_of(metrics: Mapping[str, Any], name: str, n: Any) -> Share | None:
    return _share(metrics.get(name), metrics.get(f"{name}_count"), n, metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high"))


def _ok(task: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return task.get("result") if task and task.get("status") == "ok" else None


def _system(entry: Mapping[str, Any], system: str) -> Share | None:
    s = (entry or {}).get(system) or {}
    if s.get("status", "ok") != "ok":
        return None
    m = s.get("metrics") or {}
    return _rate_of(m, "top10_rate", m.get("n_targets"))


def _t4(res: Mapping[str, Any], cfg: ScorecardConfig) -> list[Finding]:
    ranges = (res.get("target_protocol") or {}).get("rank_ranges") or []
    where = ", ".join(f"{a}–{b}" for a, b in ranges) or "lower ranks"
    words = (res.get("budget") or {}).get("max_words")
    budget = f" with at most {words} words changed" if words else ""
    out = []
    entries = [(key, a.get("systems") or {}, "t4." + key) for key, a in (res.get("attacks") or {}).items()]
    entries += [(name, res[name], "t4." + name) for name in ("ensemble", "ensemble_black_box") if isinstance(res.get(name), dict)]
    for key, systems, mkey in entries:
        neural = _system(systems, "neural")
        if neural is None or neural.n is None:
            continue
        sev = severity(neural, cfg.t4_top10_rate, bad_when_high=True)
        if sev is None:
            continue
        bm25 = _system(systems, "bm25")
        what = {"ensemble": "The worst case over all attacks", "ensemble_black_box": "The worst case over the black-box attacks"}.get(key, f"Attack {key}")
        text = f"{what} moves {neural.text()} of documents from ranks {where} into the top 10{budget}"
        text += f"; BM25: {bm25.text()}." if bm25 and bm25.n else "; BM25: not measured."
        out.append(Finding(sev, "t4", f"adversarial: {key}", text, f"{mkey}.top10_rate", neural, bm25))
    return out


def _effective_attacks(t4: Mapping[str, Any] | None) -> set[str] | None:
    """Attacks that lifted at least one document into the audited ranker's top 10 (None: no T4)."""
    if not t4:
        return None
    out = set()
    for key, a in (t4.get("attacks") or {}).items():
        share = _system((a or {}).get("systems") or {}, "neural")
        if share is not None and share.value > 0:
            out.add(key)
    return out


def _certify(res: Mapping[str, Any], metrics: Mapping[str, Any], cfg: ScorecardConfig, effective: set[str] | None = None) -> list[Finding]:
    out = []
    n = res.get("n_queries")
    crq, intervals = res.get("crq") or {}, res.get("crq_interval") or {}
    shares = {}
    for k, v in crq.items():
        iv = intervals.get(str(k)) or [None, None]
        s = _share(v, None, n, iv[0], iv[1])
        if s is not None:
            shares[str(k)] = s
    if shares:
        best = max(shares, key=lambda k: (shares[k].value, -int(k)))
        s = shares[best]
        sev = severity(s, cfg.crq, bad_when_high=False)
        if sev:
            text = (f"Certification (randomized smoothing, α = {res.get('alpha')}) certifies at best {s.text()} of queries as "
                    f"top-K robust (best K = {best}); no BM25 counterpart (certification applies to the audited ranker).")
            out.append(Finding(sev, "certify", "certification: CRQ@K", text, f"certify.crq@{best}", s))
    for verdict, sev, what in (("soundness_alarm", "critical", "certified queries broken by a T4 counterexample (soundness alarm)"),
                               ("broken", "high", "queries whose top K a T4 counterexample inside the certified threat model breaks")):
        for k in res.get("k_values") or []:
            v = metrics.get(f"certify.verdict.{verdict}@{k}")
            if isinstance(v, (int, float)) and v > 0 and isinstance(n, int) and n > 0:
                s = _share(v / n, int(v), n)
                out.append(Finding(sev, "certify", f"certification: {verdict}@{k}", f"K = {k}: {s.text()} {what}.", f"certify.verdict.{verdict}@{k}", s))
    for name, d in (res.get("defenses") or {}).items():
        rates, sizes = d.get("detection_rate") or {}, d.get("n_adversarial") or {}
        found = [(a, _share(r, None, sizes.get(a))) for a, r in rates.items() if effective is None or a in effective or not effective]
        found = [(a, s) for a, s in found if s is not None and s.n]
        if not found:
            continue
        attack, s = min(found, key=lambda x: x[1].value)
        sev = severity(s, cfg.detection_rate, bad_when_high=False)
        if sev:
            fpr = d.get("false_positive_rate")
            fp = f" at a false-positive rate of {fpr * 100:.1f}% on clean documents" if isinstance(fpr, (int, float)) else ""
            text = f"Detector {name} flags {s.text()} of the {attack} adversarial documents{fp}; no BM25 counterpart (it screens documents)."
            out.append(Finding(sev, "certify", f"detector: {name}", text, f"certify.{name}.detection_rate.{attack}", s))
    return out


def _t2(res: Mapping[str, Any], cfg: ScorecardConfig, first: str | None) -> list[Finding]:
    out = []
    for key, v in (res.get("variations") or {}).items():
        fr = v.get("fail_rate") or {}
        if fr.get("neural"):
            nr, br = fr["neural"], fr.get("bm25") or {}
            neural = _share(nr.get("rate"), nr.get("count"), nr.get("n"), nr.get("ci_low"), nr.get("ci_high"))
            bm25 = _share(br.get("rate"), br.get("count"), br.get("n"), br.get("ci_low"), br.get("ci_high"))
            if neural is None:
                continue
            sev = severity(neural, cfg.t2_fail_rate, bad_when_high=True)
            if sev:
                text = (f"Query variation {key} (rate {v.get('rate')}): {fr.get('measure')} drops by more than {fr.get('tolerance')} "
                        f"for {neural.text()} of queries; BM25: {bm25.text() if bm25 else 'not measured'}.")
                out.append(Finding(sev, "t2", f"query variation: {key}", text, f"t2.{key}.fail_rate", neural, bm25))
            continue
        row = (v.get("measures") or {}).get(first) or {}
        nr, br = row.get("neural") or {}, row.get("bm25") or {}
        if not isinstance(nr.get("relative_drop"), (int, float)):
            continue
        neural = Share(nr["relative_drop"], n=nr.get("n"))
        sev = severity(neural, cfg.t2_relative_drop, bad_when_high=True)
        if sev:
            bm = f"{br['relative_drop'] * 100:.1f}%" if isinstance(br.get("relative_drop"), (int, float)) else "not measured"
            text = (f"Query variation {key} (rate {v.get('rate')}) lowers mean {first} by {nr['relative_drop'] * 100:.1f}% "
                    f"(absolute drop {Share(nr.get('drop'), nr.get('drop_ci_low'), nr.get('drop_ci_high'), n=nr.get('n')).text()}); BM25: {bm}.")
            out.append(Finding(sev, "t2", f"query variation: {key}", text, f"t2.{key}.{first}.relative_drop", neural,
                               Share(br["relative_drop"], n=br.get("n")) if isinstance(br.get("relative_drop"), (int, float)) else None))
    return out


def _t3(res: Mapping[str, Any], cfg: ScorecardConfig) -> list[Finding]:
    out = []
    m = res.get("gap_measure")
    for domain, d in (res.get("domains") or {}).items():
        shift = (((d or {}).get("measures") or {}).get(m) or {}).get("shift") or {}
        gap = shift.get("gap")
        if not isinstance(gap, (int, float)):
            continue
        s = Share(gap, shift.get("gap_ci_low"), shift.get("gap_ci_high"), n=d.get("n_queries"))
        sev = severity(s, cfg.t3_gap, bad_when_high=True)
        if sev:
            nd, bd = shift.get("neural_relative_drop"), shift.get("bm25_relative_drop")
            text = (f"On the unseen domain {domain}, the relative drop of {m} from in-domain is {nd * 100:.1f}% "
                    f"against BM25's {bd * 100:.1f}%: gap {s.text()}.")
            out.append(Finding(sev, "t3", f"unseen domain: {domain}", text, f"t3.gap.{domain}", s))
    return out


def _t1(res: Mapping[str, Any], cfg: ScorecardConfig) -> list[Finding]:
    out = []
    for m, v in (res.get("measures") or {}).items():
        c = v.get("comparison") or {}
        if not isinstance(c.get("mean_diff"), (int, float)):
            continue
        lo, hi = c.get("diff_ci_low"), c.get("diff_ci_high")
        loss = Share(-c["mean_diff"], -hi if hi is not None else None, -lo if lo is not None else None, n=c.get("n"))
        sev = severity(loss, cfg.t1_diff_vs_bm25, bad_when_high=True)
        if sev and lo is not None and hi is not None and lo <= 0 <= hi:
            sev = "low"  # not significantly worse than BM25: at most "not ruled out"
        if sev:
            diff = Share(c["mean_diff"], lo, hi, n=c.get("n"))
            nv, bv = v["neural"], v["bm25"]
            neural = Share(nv["mean"], nv.get("ci_low"), nv.get("ci_high"), n=nv.get("n"))
            text = (f"Mean {m} is {nv['mean']:.3f} against BM25's {bv['mean']:.3f} on the same queries "
                    f"(difference {diff.text()}, paired t p = {c.get('t_pvalue') if c.get('t_pvalue') is None else round(c['t_pvalue'], 3)}).")
            out.append(Finding(sev, "t1", f"effectiveness: {m}", text, f"t1.{m}.mean", neural,
                               Share(bv["mean"], bv.get("ci_low"), bv.get("ci_high"), n=bv.get("n"))))
    return out


def findings(results: Mapping[str, Any], config: ScorecardConfig | None = None) -> list[Finding]:
    """Every finding of ``results``, worst first (ties: t4, certify, t1, t3, t2; within a task, its order).

    Args:
        results: The parsed results.json.
        config: Thresholds; None reads them from the recorded policy (defaults when absent).
    """
    cfg = config or scorecard_config(results)
    tasks = results.get("tasks") or {}
    metrics = results.get("metrics") or {}
    measures = (results.get("config") or {}).get("measures") or []
    out: list[Finding] = []
    builders = {  # within a severity: adversarial and certification first, then effectiveness, domains, query noise
        "t4": lambda r: _t4(r, cfg),
        "certify": lambda r: _certify(r, metrics, cfg, _effective_attacks(_ok(tasks.get("t4")))),
        "t1": lambda r: _t1(r, cfg),
        "t3": lambda r: _t3(r, cfg),
        "t2": lambda r: _t2(r, cfg, measures[0] if measures else None),
    }
    for key, build in builders.items():
        res = _ok(tasks.get(key))
        if res is None:
            continue
        try:
            out += build(res)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("scorecard: findings of task %s left out (%s: %s)", key, type(exc).__name__, exc)
    return sorted(out, key=lambda f: f.rank)
