"""`tunewise guardrails eval`: precision / recall / F1 (95% intervals) of the injection and PII
detectors on the labelled corpus (logic in tunewise.guardrails.measure)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

guardrails_app = typer.Typer(name="guardrails", help="Measure the guardrail detectors.", no_args_is_help=True)


def _pct(r: dict[str, Any]) -> str:
    if r.get("value") is None:
        return "-"
    lo, hi = r["ci95"]
    return f"{100 * r['value']:.0f}% {100 * lo:.0f}-{100 * hi:.0f} ({r['k']}/{r['n']})"


def _f1(r: dict[str, Any]) -> str:
    if r.get("value") is None:
        return "-"
    ci = r.get("ci95")
    return f"{r['value']:.2f}" + (f" {ci[0]:.2f}-{ci[1]:.2f}" if ci else "")


@guardrails_app.command("eval")
def eval_cmd(
    corpus: Annotated[Path | None, typer.Option("--corpus", help="directory with injection-SPLIT.jsonl and pii-SPLIT.jsonl (default: tests/guardrails/corpus)")] = None,
    split: Annotated[list[str] | None, typer.Option("--split", help="dev (tuned on) and/or heldout (never tuned on); default both")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="write all figures as JSON ('-' = stdout; the tables then go to stderr)")] = None,
    ner: Annotated[bool, typer.Option("--ner", help="measure the PII detector with its second stage (Presidio/spaCy, detect-secrets; the `pii` extra)")] = False,
) -> None:
    """Precision, recall and F1 with 95% intervals per detector, rule, form, language and PII type."""
    from rich import box
    from rich.table import Table

    from tunewise.cli._output import console, err_console, write_json
    from tunewise.errors import BadInputError
    from tunewise.guardrails.measure import SPLITS, default_corpus_dir, evaluate

    corpus = corpus or default_corpus_dir()
    if corpus is None or not Path(corpus).is_dir():
        raise BadInputError(f"guardrail corpus directory not found: {corpus or 'tests/guardrails/corpus'}",
                            where="--corpus", fix="Run from the tunewise checkout or pass --corpus DIR")
    if ner:
        from tunewise.detectors import ner as ner_stage

        ner_stage.enable()
    result = evaluate(Path(corpus), tuple(split or SPLITS))
    result["pii_stages"] = ["regex", "ner"] if ner else ["regex"]
    out = err_console if json_out == "-" else console
    for name, res in result["splits"].items():
        inj, pii = res["injection"], res["pii"]
        t = Table(title=f"injection detector · {name} split · threshold {inj['threshold']:g} · value, 95% interval, "
                  "(k/n)", box=box.SIMPLE, pad_edge=False)
        t.add_column("", no_wrap=True)
        for col in ("precision", "recall", "F1", "benign flagged"):
            t.add_column(col, no_wrap=True)
        o = inj["overall"]
        t.add_row("overall", _pct(o["precision"]), _pct(o["recall"]), _f1(o["f1"]), _pct(inj["false_positive_rate"]))
        for rule, r in inj["by_rule"].items():
            if r["fired"]:
                t.add_row(f" rule {rule}", _pct(r["precision"]), _pct(r["recall"]), _f1(r["f1"]), "")
        for key in ("by_form", "by_lang"):
            for k, r in inj[key].items():
                t.add_row(f" {key[3:]} {k}", "", _pct(r["injections_caught"]), "", _pct(r["benign_flagged"]))
        out.print(t)
        p = Table(title=f"PII detector · {name} split (span level)", box=box.SIMPLE, pad_edge=False)
        for col in ("type", "precision", "recall", "F1"):
            p.add_column(col, no_wrap=True)
        p.add_row("overall", _pct(pii["overall"]["precision"]), _pct(pii["overall"]["recall"]), _f1(pii["overall"]["f1"]))
        for kind, r in pii["by_type"].items():
            p.add_row(kind, _pct(r["precision"]), _pct(r["recall"]), _f1(r["f1"]))
        out.print(p)
    if json_out:
        write_json(json_out, result)


def register(app: typer.Typer) -> None:
    app.add_typer(guardrails_app)
