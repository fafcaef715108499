"""`tunewise estimate DATA --candidate ID …`: price fine-tuning candidates against a prompting baseline."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tunewise.estimate.grammar import GRAMMAR

_HELP = ("Estimate training, monthly and total cost of ownership for each candidate, with low / "
         "expected / high bands, the dated prices used, break-even against the prompting baseline "
         "and a ranking.\n\n\b\n" + GRAMMAR + "\n\n\b\nExamples:\n"
         "  tunewise estimate train.jsonl -c api-finetune:openai/gpt-4o-mini -c prompting:openai/gpt-4o[k=5] \\\n"
         "      --requests-per-month 50000 --months 12\n"
         "  tunewise estimate --examples 1000 --training-tokens 100000 --as-of 2023-09-01 \\\n"
         "      -c api-finetune:openai/gpt-3.5-turbo --requests-per-month 0")


def estimate_cmd(
    data: Annotated[Path | None, typer.Argument(help="training data file to audit (or an audit JSON)")] = None,
    candidate: Annotated[list[str] | None, typer.Option("--candidate", "-c", help="candidate id (repeatable); grammar above")] = None,
    audit_json: Annotated[Path | None, typer.Option(help="use this audit JSON (from `tunewise audit --json`) instead of DATA")] = None,
    examples: Annotated[int | None, typer.Option(help="number of training examples (with --training-tokens)")] = None,
    training_tokens: Annotated[int | None, typer.Option(help="tokens in the training file, o200k_base (instead of DATA)")] = None,
    tokenizer: Annotated[str, typer.Option(help="tokenizer the --training-tokens count is in (o200k_base, cl100k_base)")] = "o200k_base",
    requests_per_month: Annotated[str, typer.Option(help="requests in month 1")] = "0",
    input_tokens: Annotated[str | None, typer.Option(help="input tokens per request (default: the data's mean)")] = None,
    output_tokens: Annotated[str | None, typer.Option(help="output tokens per request (default: the data's mean)")] = None,
    growth: Annotated[str | None, typer.Option(help="traffic growth, % per month, compounding")] = None,
    months: Annotated[int, typer.Option(help="horizon in months (1-120)")] = 12,
    retrains_per_year: Annotated[int, typer.Option(help="retraining runs per year, each at the first run's cost")] = 0,
    as_of: Annotated[str | None, typer.Option(help="price date YYYY-MM-DD (default today): picks the price in force then")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option(help="extra/override price YAML (repeatable); also $TUNEWISE_CATALOG")] = None,
    calibration: Annotated[Path | None, typer.Option(help="pilot throughput measurement JSON (narrows self-host bands)")] = None,
    baseline: Annotated[str | None, typer.Option(help="prompting candidate to break even against (default: the first)")] = None,
    stale_days: Annotated[int, typer.Option(help="flag prices checked more than this many days before --as-of")] = 180,
    json_out: Annotated[Path | None, typer.Option("--json", help="write all estimates as JSON ('-' for stdout)")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="write one CSV row per candidate")] = None,
    quiet: Annotated[bool, typer.Option(help="tables only, no per-candidate assumptions")] = False,
) -> None:
    from tunewise.catalog import load_catalog
    from tunewise.cli._output import console, err_console, write_json
    from tunewise.errors import BadInputError
    from tunewise.estimate import Calibration, Candidate, Horizon, estimate
    from tunewise.estimate.inputs import build_traffic, build_workload, tokenizers_for
    from tunewise.estimate.render import csv_text, payload, render

    day = _parse_date(as_of) if as_of else None
    if not candidate:
        raise BadInputError("no candidates given", fix="Add --candidate, e.g. -c api-finetune:openai/gpt-4o-mini "
                            "-c prompting:openai/gpt-4o[k=5] (see --help for the grammar)")
    if not 1 <= months <= 120:
        raise BadInputError("--months must be between 1 and 120", why=f"got {months}")
    if retrains_per_year < 0:
        raise BadInputError("--retrains-per-year must be >= 0", why=f"got {retrains_per_year}")
    cands = [Candidate.parse(c) for c in candidate]
    cat = load_catalog(list(catalog_file or []), as_of=day, stale_after_days=stale_days)
    workload = build_workload(data=data, audit_json=audit_json, examples=examples,
                              training_tokens=training_tokens, tokenizers=tokenizers_for(cands, cat),
                              count_tokenizer=tokenizer,
                              run_audit=_run_audit)
    traffic = build_traffic(workload=workload, requests=requests_per_month, input_tokens=input_tokens,
                            output_tokens=output_tokens, growth=growth)
    horizon = Horizon(months=months, retrains_per_year=retrains_per_year)
    cals = Calibration.from_file(calibration) if calibration else []
    results = estimate(cands, workload, traffic, horizon, catalog=cat, calibrations=cals, baseline=baseline)
    out = err_console if json_out is not None and str(json_out) == "-" else console
    render(results, as_of=str(cat.as_of), horizon=horizon, traffic=traffic, console=out,
           show_assumptions=not quiet)
    meta = {"as_of": cat.as_of, "stale_after_days": stale_days,
            "catalog_files": [str(p) for p in cat.files],
            "workload": workload.model_dump(mode="json", exclude={"alternatives", "histogram"}),
            "traffic": traffic.model_dump(mode="json"), "horizon": horizon.model_dump(mode="json")}
    if json_out is not None:
        write_json(json_out, payload(results, **meta))
    if csv_out is not None:
        csv_out.parent.mkdir(parents=True, exist_ok=True)
        csv_out.write_text(csv_text(results), encoding="utf-8")


def _parse_date(text: str) -> date:
    from tunewise.errors import BadInputError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"--as-of must be a date YYYY-MM-DD", why=f"got '{text}'") from None


def _run_audit(path: Path, tokenizers: list[str]) -> dict:
    """Audit DATA with the tokenizers the candidates bill in (progress bar on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tunewise.cli._output import err_console
    from tunewise.errors import BadInputError

    try:
        from tunewise.audit import audit_file
        from tunewise.audit.engine import count_lines
    except ImportError:  # pragma: no cover - the audit ships with tunewise
        raise BadInputError("the dataset audit is not available", fix="Pass --audit-json FILE") from None
    if not path.exists():
        raise BadInputError(f"data file not found: {path}", fix="Check the path, or pass --audit-json FILE")
    total = count_lines(path)
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as bar:
        task = bar.add_task("audit", total=total)
        report = audit_file(path, tokenizers=tokenizers, near_dups=False, pii=False,
                            progress=lambda line: bar.update(task, completed=line))
    return report.to_dict()


def register(app: typer.Typer) -> None:
    from rich.markup import escape

    # Typer renders help as Rich markup: escape the grammar's [OPTIONS] brackets so they show.
    text = escape(_HELP) if app.rich_markup_mode == "rich" else _HELP
    app.command("estimate", help=text, no_args_is_help=True)(estimate_cmd)
