"""Terminal tables (Rich), JSON payload and CSV rows for a list of estimates."""

from __future__ import annotations

import csv
import io
from typing import Any

from tunewise._money import usd
from tunewise.estimate.models import Estimate, Horizon, Traffic
from tunewise.estimate.ranges import Range

WIDE_FROM = 120  # columns; narrower terminals get one block per candidate instead of an eight-column table
DISCLAIMER = ("Prices are estimates from dated public price lists (see 'prices used'); check them "
              "before committing money. Bands show low / expected / high under the stated assumptions.")


def usd_range(r: Range | None) -> str:
    if r is None:
        return "-"
    if r.low == r.high:
        return usd(r.expected)
    return f"{usd(r.expected)}\n[dim]{usd(r.low)}–{usd(r.high)}[/]"


def num_range(r: Range | None, unit: str, fmt: str = ",.0f") -> str:
    if r is None:
        return "-"
    mid = f"{r.expected:{fmt}} {unit}"
    if r.low == r.high:
        return mid
    return f"{mid}\n[dim]{r.low:{fmt}}–{r.high:{fmt}}[/]"


def _break_even(e: Estimate) -> str:
    if e.kind == "prompting" and e.break_even_vs is None and e.status == "ok":
        return "baseline" if e.break_even_note is None else "-"
    if e.break_even_month is None:
        return e.break_even_note or "-"
    if e.break_even_month == 0:
        return "from the start"
    return f"month {e.break_even_month}" + ("" if e.break_even_note is None or "beyond" not in
                                             e.break_even_note else "\n[dim](beyond horizon)[/]")


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def render(estimates: list[Estimate], *, as_of: str, horizon: Horizon, traffic: Traffic,
           console: Any, show_assumptions: bool = True) -> None:
    order = sorted(estimates, key=lambda e: (e.rank is None, e.rank or 0))
    narrow = console.width < WIDE_FROM
    if narrow:
        _blocks(order, as_of=as_of, horizon=horizon, console=console)
    else:
        _table(order, as_of=as_of, horizon=horizon, console=console)
    g = traffic.growth_pct_per_month
    console.print(f"traffic: {traffic.requests_per_month:,} requests/month"
                  + (f" (+{g}%/month)" if g else "") + f", {traffic.input_tokens} input + "
                  f"{traffic.output_tokens} output tokens/request; retrains/year: {horizon.retrains_per_year}",
                  highlight=False)
    (_prices_lines if narrow else _prices_table)(estimates, console)
    _warnings(estimates, order, console)
    if show_assumptions:
        for e in order:
            console.print(f"\n[bold]{_esc(e.candidate)}[/] — assumptions", highlight=False)
            for i, a in enumerate(e.assumptions, 1):
                console.print(f"  {i}. {a}", highlight=False, markup=False)
    console.print(f"\n[dim]{DISCLAIMER}[/]", highlight=False)


def _table(order: list[Estimate], *, as_of: str, horizon: Horizon, console: Any) -> None:
    from rich.table import Table

    t = Table(title=f"Cost estimates, USD — prices as of {as_of}, {horizon.months}-month horizon",
              show_lines=True, title_justify="left")
    for col, kw in (("#", {"justify": "right"}), ("candidate", {"overflow": "fold", "min_width": 24}), ("training", {"justify": "right"}),
                    ("month 1", {"justify": "right"}), (f"TCO {horizon.months} mo", {"justify": "right"}),
                    ("training volume", {"justify": "right"}), ("break-even", {}), ("calibrated", {})):
        t.add_column(col, **kw)
    for e in order:
        if e.status != "ok":
            t.add_row("-", _esc(e.candidate), f"[bold red]{e.status}[/]", "", "", _volume(e),
                      f"[red]{_esc(e.reason or '')}[/]", "")
            continue
        t.add_row(str(e.rank), _esc(e.candidate), usd_range(e.train_usd), usd_range(e.monthly_usd),
                  usd_range(e.tco_usd), _volume(e), _break_even(e), "yes" if e.calibrated else "no")
    console.print(t)


def _blocks(order: list[Estimate], *, as_of: str, horizon: Horizon, console: Any) -> None:
    """The estimate table as one block per candidate, for terminals too narrow for eight columns."""
    console.print(f"[bold]Cost estimates, USD — prices as of {as_of}, {horizon.months}-month horizon[/]",
                  highlight=False)
    for e in order:
        head = f"{e.rank}." if e.status == "ok" else "-"
        console.print(f"\n[bold]{head} {_esc(e.candidate)}[/]", highlight=False)
        if e.status != "ok":
            console.print(f"   [bold red]{e.status}[/]: [red]{_esc(e.reason or '')}[/]", highlight=False)
            continue
        for label, r in (("training", e.train_usd), ("month 1", e.monthly_usd),
                         (f"TCO {horizon.months} mo", e.tco_usd)):
            console.print(f"   {label:<10} {_inline(usd_range(r))}", highlight=False)
        console.print(f"   {'volume':<10} {_inline(_volume(e), sep=chr(10) + ' ' * 14)}", highlight=False)
        console.print(f"   {'break-even':<10} {_inline(_break_even(e))} · calibrated: "
                      f"{'yes' if e.calibrated else 'no'}", highlight=False)


def _inline(cell: str, sep: str = " ") -> str:
    """A multi-line table cell on one line: 'expected\n[dim]low–high[/]' reads 'expected (low–high)'."""
    lines = cell.split("\n")
    out = [lines[0]]
    for ln in lines[1:]:
        if ln.startswith("[dim]") and ln.endswith("[/]"):
            out[-1] += f" [dim]({ln[5:-3]})[/]"
        else:
            out.append(ln)
    return sep.join(out)


def _warnings(estimates: list[Estimate], order: list[Estimate], console: Any) -> None:
    stale = sorted({(p.id, p.stale_reason or "older than the staleness window")
                    for e in estimates for p in e.prices if p.stale})
    for pid, why in stale:
        console.print(f"[yellow]warning:[/] stale price {_esc(pid)} — {_esc(why)}; "
                      "re-check it or override it with --catalog-file", highlight=False)
    for e in order:
        for f in e.lifecycle:
            if f.severity == "warning":
                console.print(f"[yellow]warning:[/] {_esc(e.candidate)}: {_esc(f.text)}", highlight=False)
        if e.retrains_not_priced:
            console.print(f"[yellow]warning:[/] {_esc(e.candidate)}: retrains in month(s) "
                          f"{', '.join(map(str, e.retrains_not_priced))} are impossible (new fine-tuning "
                          f"jobs end {e.new_jobs_until}) and are not priced", highlight=False)


def _volume(e: Estimate) -> str:
    bits = []
    if e.billed_tokens is not None:
        label = "tokens billed" if e.kind == "api-finetune" else "tokens processed"
        bits.append(num_range(e.billed_tokens, label))
    if e.epochs:
        bits.append(f"{e.epochs} epoch{'s' if e.epochs != 1 else ''}")
    if e.train_gpu_hours is not None:
        bits.append(num_range(e.train_gpu_hours, "GPU-h train", ",.2f"))
    if e.serve_gpu_hours_per_month is not None:
        bits.append(f"{e.serve_gpu_hours_per_month.expected:,.0f} GPU-h/month serving")
    if e.memory is not None:
        bits.append(f"{e.memory.needed_gb_per_gpu} of {e.memory.available_gb_per_gpu} GB/GPU")
    if e.kind == "prompting" and e.tokens_per_request:
        bits.append(f"{e.tokens_per_request['input']:,} in / {e.tokens_per_request['output']:,} out "
                    "tokens/request")
    return "\n".join(bits) or "-"


def _prices_used(estimates: list[Estimate]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    seen: dict[str, list[str]] = {}
    rows = {}
    for e in estimates:
        for p in e.prices:
            seen.setdefault(p.id, [])
            if p.role not in seen[p.id]:
                seen[p.id].append(p.role)
            rows[p.id] = p
    return rows, seen


def _prices_lines(estimates: list[Estimate], console: Any) -> None:
    rows, seen = _prices_used(estimates)
    console.print("[bold]Prices used[/]", highlight=False)
    for pid in sorted(rows):
        p = rows[pid]
        checked = f"[bold yellow]checked {p.checked_on} STALE[/]" if p.stale else f"checked {p.checked_on}"
        console.print(f"  {_esc(pid)}\n    {_esc(', '.join(seen[pid]))}: ${p.usd.normalize():f} / {p.unit}; "
                      f"{checked}; confidence {p.confidence}{' (yours)' if p.user else ''}\n    {p.source_url}",
                      highlight=False)


def _prices_table(estimates: list[Estimate], console: Any) -> None:
    from rich.table import Table

    t = Table(title="Prices used", title_justify="left")
    for col in ("price id", "used for", "USD", "checked", "conf.", "source"):
        t.add_column(col, overflow="fold")
    rows, seen = _prices_used(estimates)
    for pid in sorted(rows):
        p = rows[pid]
        checked = f"[bold yellow]{p.checked_on} STALE[/]" if p.stale else str(p.checked_on)
        t.add_row(_esc(pid), _esc(", ".join(seen[pid])), f"${p.usd.normalize():f} / {p.unit}", checked,
                  p.confidence + (" (yours)" if p.user else ""), p.source_url)
    console.print(t)


def payload(estimates: list[Estimate], **meta: Any) -> dict[str, Any]:
    return {"disclaimer": DISCLAIMER, **meta,
            "estimates": [e.model_dump(mode="json") for e in estimates]}


CSV_FIELDS = ("rank", "candidate", "kind", "status", "train_usd_low", "train_usd_expected",
              "train_usd_high", "month1_usd_low", "month1_usd_expected", "month1_usd_high", "tco_usd_low",
              "tco_usd_expected", "tco_usd_high", "billed_tokens", "epochs", "train_gpu_hours",
              "break_even_month", "break_even_vs", "calibrated", "stale_prices", "new_jobs_until",
              "retrains_not_priced", "reason")


def csv_text(estimates: list[Estimate]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for e in sorted(estimates, key=lambda e: (e.rank is None, e.rank or 0)):
        row: dict[str, Any] = {"rank": e.rank or "", "candidate": e.candidate, "kind": e.kind,
                               "status": e.status, "reason": e.reason or "",
                               "epochs": e.epochs or "", "calibrated": e.calibrated,
                               "break_even_month": "" if e.break_even_month is None else e.break_even_month,
                               "break_even_vs": e.break_even_vs or "",
                               "stale_prices": ";".join(p.id for p in e.stale_prices),
                               "new_jobs_until": e.new_jobs_until or "",
                               "retrains_not_priced": ";".join(map(str, e.retrains_not_priced)),
                               "billed_tokens": e.billed_tokens.expected if e.billed_tokens else "",
                               "train_gpu_hours": e.train_gpu_hours.expected if e.train_gpu_hours else ""}
        for name, r in (("train_usd", e.train_usd), ("month1_usd", e.monthly_usd), ("tco_usd", e.tco_usd)):
            for part in ("low", "expected", "high"):
                row[f"{name}_{part}"] = getattr(r, part) if r is not None else ""
        w.writerow(row)
    return buf.getvalue()
