"""The ``robustrank`` command line.

Config and data errors end with a one-line message on stderr and exit code 2 (``--debug``
shows the traceback); an audit in which a task errored still exits 0 and records the error.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from robustrank import __version__
from robustrank.errors import RobustRankError

EXIT_INPUT_ERROR = 2


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RobustRankError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT_ERROR)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="robustrank")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Robustness and adversarial audits for neural ranking models."""
    ctx.obj = {"debug": debug, "quiet": quiet}
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("urllib3", "filelock", "huggingface_hub", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
@click.argument("config_path", metavar="MODEL_YAML", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: output.dir of the config).")
@click.option("--device", help="Override ranker.device (auto, cpu, cuda, cuda:N, mps).")
@click.option("--max-queries", type=int, help="Override max_queries (evaluate only the first N judged queries).")
@click.option("--no-html", is_flag=True, help="Write results.json only.")
@click.option("--resume", is_flag=True, help="Skip work units already finished in the output folder's checkpoint.")
@click.pass_context
def audit(ctx: click.Context, config_path: Path, out_dir: Path | None, device: str | None, max_queries: int | None, no_html: bool, resume: bool) -> None:
    """Audit the ranker described by MODEL_YAML and write results.json and report.html."""
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    overrides: dict[str, Any] = {}
    if device is not None:
        overrides["ranker.device"] = device
    if max_queries is not None:
        overrides["max_queries"] = max_queries
    cfg = load_config(config_path, overrides=overrides)
    results, path = run_audit(cfg, out_dir=out_dir, progress=not ctx.obj["quiet"], render_html=False if no_html else None, resume=resume)
    errors = [k for k, t in results["tasks"].items() if t["status"] != "ok"]
    click.echo(f"results: {path}")
    if (path.parent / "report.html").exists() and not no_html:
        click.echo(f"report:  {path.parent / 'report.html'}")
    t1 = results["tasks"].get("t1", {})
    if t1.get("status") == "ok":
        for m, v in t1["result"]["measures"].items():
            click.echo(f"  {m:<10} neural {v['neural']['mean']:.4f}   bm25 {v['bm25']['mean']:.4f}")
    if errors:
        click.echo(f"tasks with errors (recorded in results.json): {', '.join(errors)}", err=True)


@main.command()
@click.argument("results_path", metavar="RESULTS_JSON", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="HTML file (default: report.html next to the JSON).")
def report(results_path: Path, output: Path | None) -> None:
    """Render an HTML report from RESULTS_JSON alone."""
    from robustrank.report import render_report
    from robustrank.results import read_results

    results = read_results(results_path)
    out = render_report(results, output or results_path.with_name("report.html"))
    click.echo(f"report: {out}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of model.yaml (for editor completion)."""
    from robustrank.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


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
