"""Rich terminal rendering of an AuditReport: every figure with its unit and where it came from."""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from tunewise.audit.report import AuditReport

LIST_ALL_UP_TO = 20   # up to this many problems are listed one per line; more are grouped by kind
FIRST_PER_KIND = 3
_STYLE = {"error": "bold red", "warning": "yellow"}
_QUOTED = re.compile(r"'[^']{25,}'|\"[^\"]{25,}\"")  # long quoted values are particulars; short ones name a field
_NUMBER = re.compile(r"\d[\d,.]*")


def _problem_line(p, style: str) -> Text:  # noqa: ANN001 - tunewise.errors.Problem
    t = Text()
    t.append(p.where, style="bold")
    t.append(": ")
    t.append("error: " if p.severity == "error" else "warning: ", style=style)
    t.append(p.error + (f". {p.hint}" if p.hint else ""))
    return t


def render(report: AuditReport, console: Console, *, full_list: str | None = None) -> None:
    d = report.to_dict()
    console.print(Text.assemble(("Audit of ", "bold"), (str(report.path), "bold cyan"),
                                f"  ({d['size_bytes']:,} bytes)" if d["size_bytes"] is not None else ""))
    console.print(f"format: {report.format} ({report.container}, detected unless --format)  task: {report.task}  "
                  f"valid examples: {report.examples:,}  invalid rows: {report.n_errors:,}  warnings: {report.n_warnings:,}",
                  highlight=False)

    tok = Table(title="Token counts per example (measured with each tokenizer)", title_justify="left")
    for col in ("tokenizer", "total tokens", "mean", "p50", "p95", "max", "input tokens", "output tokens",
                "over context limit"):
        tok.add_column(col, justify="left" if col in ("tokenizer", "over context limit") else "right",
                       no_wrap=col == "tokenizer")
    for name, t in d["tokens"].items():
        ol = t["over_limit"]
        limit = f"{ol['count']:,} > {ol['limit']:,} tokens" if ol["limit"] else "no limit known"
        tok.add_row(f"tokens ({name})", f"{t['total']:,}", f"{t['mean']:,.1f}", f"{t['p50']:,}", f"{t['p95']:,}",
                    f"{t['max']:,}", f"{t['input']['total']:,}", f"{t['output']['total']:,}", limit)
    console.print(tok)
    for name, t in d["tokens"].items():
        console.print(f"  {name}: {t['counting']}; context limit from: {t['over_limit']['limit_source']}",
                      highlight=False, style="dim")

    dup = d["duplicates"]
    nm = dup["near_method"]
    near = (f"{dup['near']:,} examples (datasketch MinHashLSH, Jaccard >= {nm['threshold']}, num_perm {nm['num_perm']}, "
            f"{nm['shingles']}; indexed {nm['indexed']:,}, checked {nm['checked']:,}"
            + (f"; bounded: {nm['not_checked']:,} later examples not checked, raise --near-dup-limit" if nm["bounded"] else "") + ")"
            if nm["enabled"] else "not checked (--no-near-dups)")
    console.print(f"duplicates: exact {dup['exact']:,} examples (after whitespace normalisation); near {near}; "
                  f"same input with different outputs: {dup['conflicting']:,} inputs", highlight=False)

    if report.labels:
        ls = d["label_stats"]
        console.print(f"labels: {ls['classes']} classes; imbalance ratio {ls['imbalance_ratio']} "
                      f"(largest / smallest class: {ls['majority']} / {ls['minority']})", highlight=False)
        lab = Table()
        lab.add_column("label")
        lab.add_column("examples", justify="right")
        lab.add_column("share", justify="right")
        for k, v in list(report.labels.items())[:50]:
            lab.add_row(k, f"{v:,}", f"{v / report.examples:.1%}")
        if len(report.labels) > 50:
            lab.add_row(f"… {len(report.labels) - 50} more", "", "")
        console.print(lab)

    if report.pii_enabled:
        pii = ", ".join(f"{k} {v:,} hits" for k, v in d["pii"].items()) or "none found"
        console.print(f"personal data (tunewise.detectors.pii: regex + Luhn / mod-97 / IP checks): {pii}; "
                      f"examples affected: {report.pii_examples:,}", highlight=False)
    else:
        console.print("personal data: not scanned (--no-pii)")

    lic = report.license
    console.print(f"license: {lic.expression or 'unknown (none given)'}"
                  + (f" (SPDX {'valid' if lic.valid else 'invalid'}; commercial use: {lic.use})" if lic.expression else "")
                  + f"; source: {lic.source or 'unknown'}"
                  + (f"; from {lic.provenance_from}" if lic.provenance_from else "")
                  + (f"; intended use: {lic.intended_use}" if lic.intended_use else ""), highlight=False)
    if lic.verdict:
        from tunewise.rights.render import print_verdict

        print_verdict(lic.verdict, console)
    for flag in d["regulatory"]:
        from rich.markup import escape

        console.print(f"[yellow]{escape(flag['title'])}[/]: {escape(flag['detail'])} Sources: "
                      + escape("; ".join(f"{s['name']} {s['url']}" for s in flag["sources"]))
                      + f" [dim]{escape(flag['note'])}[/]", highlight=False)

    if report.validation:
        v = report.validation
        console.print(f"validation {v['file']}: {v['examples']:,} examples; overlap with training: "
                      f"{v['overlap_total']:,} ({v['overlap_fraction']:.1%}: exact {v['exact']:,}, same input "
                      f"{v['same_input']:,}, near {v['near']:,})", highlight=False)

    if report.errors or report.warnings:
        _render_problems(report, console, full_list=full_list)


def problem_kind(p) -> str:  # noqa: ANN001 - tunewise.errors.Problem
    """The problem's message with its particulars (numbers, long quoted values) masked: one kind per rule."""
    text = _QUOTED.sub("'…'", p.error)
    return f"{p.severity}: {_NUMBER.sub('N', text)}"


def _short_where(p) -> str:  # noqa: ANN001
    name = p.file.rsplit("/", 1)[-1]
    return f"{name}:{p.line}" if p.line is not None else name


def _render_problems(report: AuditReport, console: Console, *, full_list: str | None) -> None:
    console.print(Text(f"Problems ({report.n_errors:,} errors, {report.n_warnings:,} warnings)", style="bold"))
    problems = [*report.errors, *report.warnings]
    hidden = (report.n_errors - len(report.errors)) + (report.n_warnings - len(report.warnings))
    if len(problems) <= LIST_ALL_UP_TO:
        console.print(Group(*(_problem_line(p, _STYLE[p.severity]) for p in problems)), soft_wrap=True)
    else:
        groups: dict[str, list] = {}
        for p in problems:
            groups.setdefault(problem_kind(p), []).append(p)
        table = Table(title=f"{len(groups)} kinds of problem; the first {FIRST_PER_KIND} lines of each",
                      title_justify="left")
        table.add_column("count", justify="right")
        table.add_column("kind", overflow="fold")
        table.add_column("first lines", overflow="fold")
        for kind, items in sorted(groups.items(), key=lambda kv: (not kv[0].startswith("error"), -len(kv[1]))):
            table.add_row(f"{len(items):,}", Text(kind, style=_STYLE[items[0].severity]),
                          ", ".join(_short_where(p) for p in items[:FIRST_PER_KIND]))
        console.print(table)
        where = f"in {full_list}" if full_list else "with --json FILE (keys 'invalid' and 'warnings')"
        console.print(f"the full list, one line per problem with its hint: {where}", highlight=False)
    if hidden:
        console.print(f"… {hidden:,} more not stored (the report keeps the first 10,000 of each kind)")
