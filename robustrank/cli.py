"""The ``robustrank`` command line.

Exit codes (also in README and docs/security.md):

====  =====================================================================================
0     success (``gate``: PASS or WARN)
1     the gate failed: FAIL or ERROR (``gate``, ``audit --gate``)
2     usage, config, data or output error: one line on stderr naming file and key/line
3     the audit finished and wrote results.json, but at least one task errored
4     internal error (a bug): one line on stderr; ``--debug`` shows the traceback
130   interrupted (Ctrl-C); finished units stay in the checkpoint for ``--resume``
====  =====================================================================================

No traceback is printed unless ``--debug`` is given.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from robustrank import __version__
from robustrank.errors import ConfigError, RobustRankError


class UsageError(RobustRankError):
    """A command-line combination that would do harm (e.g. overwrite an input)."""

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_INPUT_ERROR = 2
EXIT_TASK_ERRORS = 3
EXIT_INTERNAL_ERROR = 4
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.obj and ctx.obj.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except RobustRankError as exc:
            if debug:
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT_ERROR)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("interrupted; finished work units are kept in the output folder's checkpoint (rerun with --resume)", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except OSError as exc:  # read-only, too long or full output path; unreadable input
            if debug:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(EXIT_INPUT_ERROR)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, no traceback unless --debug
            if debug:
                raise
            detail = " ".join(str(exc).split())[:300]
            click.echo(f"internal error: {type(exc).__name__}: {detail} (rerun with --debug for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="robustrank")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.option("--log-json", is_flag=True, help="Log (and report progress: task, step, done, total, rate, ETA) as JSON lines on stderr, for CI logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool, log_json: bool = False) -> None:
    """Robustness and adversarial audits for neural ranking models."""
    ctx.obj = {"debug": debug, "quiet": quiet, "log_json": log_json}
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    if log_json:
        from robustrank.jsonlog import JsonFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("urllib3", "filelock", "huggingface_hub", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
@click.argument("config_path", metavar="MODEL_YAML", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: output.dir of the config).")
@click.option("--device", help="Override ranker.device (auto, cpu, cuda, cuda:N, mps).")
@click.option("--max-queries", type=int, help="Override max_queries (evaluate only the first N judged queries).")
@click.option("--no-html", is_flag=True, help="Write results.json only.")
@click.option("--resume", is_flag=True, help="Skip work units already finished in the output folder's checkpoint.")
@click.option("--gate", "run_gate", is_flag=True, help="Evaluate the config's gate: policy at the end; write gate.md, gate.xml, gate.json; exit 1 on FAIL/ERROR.")
@click.pass_context
def audit(ctx: click.Context, config_path: Path, out_dir: Path | None, device: str | None, max_queries: int | None, no_html: bool, resume: bool, run_gate: bool = False) -> None:
    """Audit the ranker described by MODEL_YAML and write results.json, report.html and compliance.html.

    Exit code: 0 ok; 2 usage, config, data or output error; 3 a task errored (recorded in
    results.json); with --gate, 1 when the gate fails (FAIL/ERROR); 130 interrupted.
    """
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    overrides: dict[str, Any] = {}
    if device is not None:
        overrides["ranker.device"] = device
    if max_queries is not None:
        overrides["max_queries"] = max_queries
    cfg = load_config(config_path, overrides=overrides)
    if run_gate and not cfg.gate.conditions:
        raise ConfigError(f"{cfg.source}: gate.conditions: --gate needs a policy with at least one condition")
    results, path = run_audit(cfg, out_dir=out_dir, progress=not ctx.obj["quiet"], render_html=False if no_html else None, resume=resume,
                              progress_mode="json" if ctx.obj.get("log_json") else "bar")
    errors = [k for k, t in results["tasks"].items() if t["status"] == "error"]
    click.echo(f"results: {path}")
    if (path.parent / "report.html").exists() and not no_html:
        click.echo(f"report:  {path.parent / 'report.html'}")
    t1 = results["tasks"].get("t1", {})
    if t1.get("status") == "ok":
        for m, v in t1["result"]["measures"].items():
            click.echo(f"  {m:<10} neural {_fmt(v['neural'].get('mean'))}   bm25 {_fmt(v['bm25'].get('mean'))}")
    if errors:
        click.echo(f"tasks with errors (recorded in results.json): {', '.join(errors)}", err=True)
    code = EXIT_OK
    if run_gate:
        code = _gate_and_report(path, markdown=path.with_name("gate.md"), junit=path.with_name("gate.xml"), json_out=path.with_name("gate.json"))
    if code == EXIT_OK and errors:
        code = EXIT_TASK_ERRORS
    sys.exit(code)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _refuse_overwrite(inputs: dict[str, Path | None], outputs: dict[str, Path | None]) -> None:
    """An output file must not be one of the inputs (or another output)."""
    seen: dict[Path, str] = {}
    for label, p in inputs.items():
        if p is not None:
            seen[p.expanduser().resolve()] = label
    for label, p in outputs.items():
        if p is None:
            continue
        rp = p.expanduser().resolve()
        if rp in seen:
            raise UsageError(f"{label} {p}: refusing to overwrite the {seen[rp]} file; choose another path")
        seen[rp] = label


def _gate_and_report(results_path: Path, *, baseline: Path | None = None, policy: Path | None = None, markdown: Path | None = None, junit: Path | None = None, json_out: Path | None = None) -> int:
    """Evaluate a gate on a results file, write the requested outputs, print a summary; return the exit code."""
    from robustrank.gate.output import write_gate_outputs
    from robustrank.gate.policy import check_results_file

    _refuse_overwrite(
        {"RESULTS_JSON": results_path, "--baseline": baseline, "--policy": policy},
        {"--markdown": markdown, "--junit": junit, "--json": json_out},
    )
    gate, _ = check_results_file(results_path, baseline_path=baseline, policy_path=policy)
    for c in gate.conditions:
        click.echo(f"  {c.outcome:<5} [{c.severity}] {c.check}: {c.message}")
    for note in gate.baseline_notes:
        click.echo(f"  note: {note}")
    for p in write_gate_outputs(gate, markdown=markdown, junit=junit, json_path=json_out):
        click.echo(f"wrote {p}")
    counts = gate.counts
    click.echo(f"gate: {gate.outcome} ({counts['PASS']} pass, {counts['WARN']} warn, {counts['FAIL']} fail, {counts['ERROR']} error)")
    return gate.exit_code


@main.command()
@click.argument("results_path", metavar="RESULTS_JSON", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: report.html, compliance.html or model-card.md next to the JSON).")
@click.option("--compliance", is_flag=True, help="Render the printable compliance record instead of the report.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="With --compliance: also export the record as JSON (schema: robustrank schema --compliance).")
@click.option("--model-card", "model_card", is_flag=True, help="Write a Hugging Face model-card fragment (YAML model-index + Markdown robustness section) instead.")
def report(results_path: Path, output: Path | None, compliance: bool = False, json_out: Path | None = None, model_card: bool = False) -> None:
    """Render an HTML report (or, with --compliance, the compliance record; with --model-card, a
    model-card fragment) from RESULTS_JSON alone."""
    from robustrank.errors import DataError
    from robustrank.report import render_compliance, render_report
    from robustrank.results import read_results

    if model_card and (compliance or json_out):
        raise UsageError("--model-card cannot be combined with --compliance or --json")
    if json_out and not compliance:
        raise UsageError("--json exports the compliance record; add --compliance")
    results = read_results(results_path)
    kind = "model card" if model_card else "compliance" if compliance else "report"
    target = output or results_path.with_name({"model card": "model-card.md", "compliance": "compliance.html", "report": "report.html"}[kind])
    _refuse_overwrite({"RESULTS_JSON": results_path}, {"--output": target, "--json": json_out})
    try:
        if model_card:
            out = _write_model_card(results, results_path, target)
        elif compliance:
            out = render_compliance(results, target, results_path=results_path)
            if json_out:
                click.echo(f"compliance record: {_write_compliance_json(results, results_path, json_out)}")
        else:
            out = render_report(results, target, results_path=results_path)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:  # tampered field types
        detail = " ".join(str(exc).split())[:200]
        raise DataError(f"{results_path}: cannot render: a field has an unexpected type or value ({type(exc).__name__}: {detail})") from None
    click.echo(f"{kind}: {out}")


def _write_model_card(results: dict[str, Any], results_path: Path, target: Path) -> Path:
    from robustrank.report.modelcard import model_card
    from robustrank.report.render import gate_for_report
    from robustrank.results import write_text_atomic

    return write_text_atomic(target, model_card(results, gate_for_report(results, results_path)))


def _write_compliance_json(results: dict[str, Any], results_path: Path, target: Path) -> Path:
    from robustrank.report.render import compliance_record
    from robustrank.results import write_text_atomic

    return write_text_atomic(target, json.dumps(compliance_record(results, results_path=results_path), indent=2, default=str) + "\n")


@main.command()
@click.argument("results_path", metavar="RESULTS_JSON", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), help="Previous results.json for delta(...) conditions (overrides gate.baseline).")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), help="model.yaml (or a file with just gate:) whose policy to apply (default: the policy recorded in RESULTS_JSON).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown summary (for a pull-request comment).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML, one test case per condition.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the gate outcome as JSON.")
def gate(results_path: Path, baseline: Path | None, policy: Path | None, markdown: Path | None, junit: Path | None, json_out: Path | None) -> None:
    """Check RESULTS_JSON against a release-gate policy.

    Exit code 0: PASS or WARN; 1: FAIL or ERROR (a condition whose task errored or whose value is
    missing fails unless the policy says on_error: warn); 2: usage or input error.
    """
    sys.exit(_gate_and_report(results_path, baseline=baseline, policy=policy, markdown=markdown, junit=junit, json_out=json_out))


@main.command()
@click.option("--results", "of_results", is_flag=True, help="Print the JSON Schema of results.json instead.")
@click.option("--compliance", "of_compliance", is_flag=True, help="Print the JSON Schema of the compliance record export instead.")
def schema(of_results: bool = False, of_compliance: bool = False) -> None:
    """Print the JSON Schema of model.yaml (for editor completion), or with --results that of
    results.json, with --compliance that of the compliance record (report --compliance --json)."""
    if of_compliance:
        from robustrank.report.compliance_schema import compliance_json_schema

        click.echo(json.dumps(compliance_json_schema(), indent=2))
        return
    if of_results:
        from robustrank.results import results_json_schema

        click.echo(json.dumps(results_json_schema(), indent=2))
        return
    from robustrank.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.argument("old_path", metavar="OLD_RESULTS_JSON", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new_path", metavar="NEW_RESULTS_JSON", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="HTML page (default: compare.html next to NEW_RESULTS_JSON).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Also write a Markdown summary (for a pull-request comment).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True, help="Family-wise level of the Holm-corrected paired tests.")
def compare(old_path: Path, new_path: Path, output: Path | None, markdown: Path | None, alpha: float) -> None:
    """Compare two audits: every shared metric side by side, paired per-query tests on shared
    queries, and what changed in model, data and config.

    Exit code 0: written; 2: usage or input error (one line naming the file).
    """
    from robustrank.report.compare_render import write_comparison

    target = output or new_path.with_name("compare.html")
    _refuse_overwrite({"OLD_RESULTS_JSON": old_path, "NEW_RESULTS_JSON": new_path}, {"--output": target, "--markdown": markdown})
    cmp, written = write_comparison(old_path, new_path, html=target, markdown=markdown, alpha=alpha)
    tested = [r for r in cmp["paired"] if r["p_t"] is not None]
    click.echo(f"{len(cmp['metrics'])} shared metrics; {len(tested)} paired tests, {sum(r['significant'] for r in tested)} significant (Holm, alpha {alpha:g})")
    for p in written:
        click.echo(f"wrote {p}")


@main.command()
@click.argument("model", metavar="MODEL")
@click.option("--collection", required=True, help="In-domain collection folder (BEIR layout).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.yaml"), show_default=True, help="File to write.")
@click.option("--type", "ranker_type", type=click.Choice(["auto", "bi-encoder", "cross-encoder", "onnx"]), default="auto", show_default=True,
              help="Ranker type; auto detects it from the model folder.")
@click.option("--profile", type=click.Choice(["quick", "standard", "paper"]), default="quick", show_default=True,
              help="Audit size: quick (smoke run), standard (release decision), paper (the papers' protocols).")
@click.option("--ood", multiple=True, help="An unseen-domain collection folder for t3 (repeatable).")
@click.option("--tasks", help="Comma-separated tasks to enable (default: t1,t2,t4,certify, and t3 with --ood).")
@click.option("--name", help="Audit name (default: <model>-<collection>).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(model: str, collection: str, output: Path, ranker_type: str, profile: str, ood: tuple[str, ...], tasks: str | None,
         name: str | None, force: bool) -> None:
    """Write a commented model.yaml for MODEL (a model folder, .onnx file or hub id) with a release policy.

    Exit code: 0 written (and validated); 2 the file exists (without --force), the type cannot be
    detected (pass --type), the collection is missing, or another input error.
    """
    from robustrank.scaffold import write_model_yaml

    chosen = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    out = write_model_yaml(output, model, collection, ranker_type=ranker_type, profile=profile, name=name, ood=list(ood), tasks=chosen, force=force)
    click.echo(f"wrote {out}; run: robustrank audit {out} --gate")


@main.command()
def plugins() -> None:
    """List every available plugin with its kind, name, distribution and version."""
    from robustrank.plugins import available

    rows = available()
    for p in rows:
        click.echo(f"{p.kind:<8} {p.name:<16} {p.distribution} {p.version}  ({p.value})")
    if not rows:
        click.echo("no plugins registered (is robustrank installed with pip?)")


if __name__ == "__main__":  # pragma: no cover
    main()
