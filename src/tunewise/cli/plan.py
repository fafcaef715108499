"""`tunewise plan validate|init`, `tunewise run PLAN --out DIR` and `tunewise demo --out DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

plan_app = typer.Typer(help="Plan files: what to compare, for which data, traffic and budget.",
                       no_args_is_help=True)


@plan_app.command("validate")
def validate_cmd(
    plan: Annotated[Path, typer.Argument(help="the plan YAML file")],
    offline_catalog: Annotated[bool, typer.Option("--catalog/--no-catalog",
                                                  help="also check every provider, model and GPU offer against the price catalog")] = True,
) -> None:
    """Check a plan: schema, files, names (with did-you-mean); every problem with its plan line."""
    from tunewise.cli._output import console, err_console
    from tunewise.plan import load_plan

    if offline_catalog:
        from tunewise.runner.checks import catalog_problems

        lp = load_plan(plan, catalog_check=catalog_problems)
    else:
        lp = load_plan(plan)
    for w in lp.warnings:
        err_console.print(f"[yellow]warning:[/] {w.render()}", highlight=False)
    p = lp.plan
    kinds: dict[str, int] = {}
    for c in p.candidates:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    console.print(f"plan OK: {plan} — '{p.name}', {len(p.candidates)} candidates ("
                  + ", ".join(f"{n} {k}" for k, n in kinds.items()) + f"), horizon {p.horizon_months} months, "
                  f"baseline {p.baseline_id() or 'none'}", highlight=False)


@plan_app.command("init")
def init_cmd(
    out: Annotated[Path, typer.Argument(help="where to write the commented plan template")],
    train: Annotated[str, typer.Option(help="training data path to put in the template")] = "train.jsonl",
    test: Annotated[str | None, typer.Option(help="held-out test data path (\"\" for a seeded split of train)")] = "test.jsonl",
    force: Annotated[bool, typer.Option(help="overwrite OUT if it exists")] = False,
) -> None:
    """Write a commented plan template to OUT (never overwrites without --force)."""
    from tunewise.cli._output import console
    from tunewise.errors import BadInputError
    from tunewise.plan import template_text

    if out.exists() and not force:
        raise BadInputError("output file already exists", where=str(out), fix="Choose another path or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(template_text(train=train, test=test), encoding="utf-8")
    console.print(f"wrote plan template {out}; edit it, then: tunewise plan validate {out}", highlight=False)


def run_cmd(
    plan: Annotated[Path, typer.Argument(help="the plan YAML file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory (report.html, report.json, summary.md, .cache)")] = Path("tunewise-out"),
    executor: Annotated[str, typer.Option(help=EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(help="pilots at once on the local executor (default: CPU cores)")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address for --executor ray (default: a local Ray)")] = None,
) -> None:
    """Audit -> pilots -> estimates -> decision -> report. Unchanged steps are reused from OUT/.cache."""
    _run(plan, out, executor=executor, workers=workers, ray_address=ray_address)


EXECUTOR_HELP = ("where local pilots run: local (a process pool sized to this machine), ray (Ray tasks), "
                 "inline (this process, one by one, with live training progress)")


def _run(plan: Path, out: Path, *, executor: str = "local", workers: int | None = None,
         ray_address: str | None = None) -> None:
    import time

    from tunewise.cli._output import console, err_console
    from tunewise.runner import run_plan

    t0 = time.perf_counter()
    outcome = run_plan(plan, out, console=err_console, executor=executor, workers=workers, ray_address=ray_address)
    dt = time.perf_counter() - t0
    n_cached = sum(1 for s in outcome.steps if s.cached)
    err_console.print(
        ("every step was reused from the cache" if outcome.all_cached else
         f"{n_cached} of {len(outcome.steps)} steps reused from the cache, {len(outcome.steps) - n_cached} computed")
        + f"; total {dt:.1f} s", highlight=False)
    summary = outcome.report["summary"]
    err_console.print(f"[bold]recommendation:[/] {summary['recommendation']}", highlight=False)
    if outcome.report["decision"].get("budget_finding"):
        err_console.print(f"[bold red]budget:[/] {outcome.report['decision']['budget_finding']}", highlight=False)
    for name in ("json", "markdown", "croissant"):
        err_console.print(f"{name}: {outcome.paths[name]}", highlight=False)
    console.print(f"report: {outcome.paths['html'].resolve()}", highlight=False, soft_wrap=True)
    if outcome.failed:
        err_console.print("[red]some steps failed:[/] " + ", ".join(s.name for s in outcome.failed)
                          + " (see the report's findings)", highlight=False)
        raise typer.Exit(1)


def demo_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")] = Path("demo-out"),
    train_examples: Annotated[int, typer.Option(help="Rotten Tomatoes training examples to export")] = 1000,
    test_examples: Annotated[int, typer.Option(help="held-out test examples to export")] = 300,
    executor: Annotated[str, typer.Option(help=EXECUTOR_HELP)] = "local",
    workers: Annotated[int | None, typer.Option(help="pilots at once on the local executor (default: CPU cores)")] = None,
) -> None:
    """Run the bundled demo plan on bundled Rotten Tomatoes data and print the report path."""
    from tunewise.cli._output import err_console
    from tunewise.runner.demo import prepare_demo

    plan_path = prepare_demo(out, train_examples=train_examples, test_examples=test_examples)
    err_console.print(f"demo plan: {plan_path}", highlight=False)
    _run(plan_path, out, executor=executor, workers=workers)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
    app.command("run")(run_cmd)
    app.command("demo")(demo_cmd)
