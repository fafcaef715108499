"""`tunewise audit FILE`: check a training file before fine-tuning on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

INTENDED_USES = ("commercial", "internal", "research", "non-commercial")


def audit_cmd(
    file: Annotated[Path, typer.Argument(help="training data: .jsonl (chat, prompt/completion, text+label, preference pairs, ShareGPT, Alpaca), .csv, .tsv, .parquet")],
    format: Annotated[str | None, typer.Option("--format", help="chat, completion, text-label, preference (DPO pairs), sharegpt or alpaca (default: detected)")] = None,  # noqa: A002
    tokenizer: Annotated[list[str] | None, typer.Option("--tokenizer", "-t", help="o200k_base (default), cl100k_base, minilm or a local HF model dir; comma-separated or repeated")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="context limit per example (default: the tokenizer's known limit)")] = None,
    model: Annotated[str | None, typer.Option(help="PROVIDER/MODEL from the catalog: its context limit (and tokenizer, unless -t is given)")] = None,
    validation: Annotated[Path | None, typer.Option(help="validation file: checked too, and for overlap with FILE")] = None,
    license: Annotated[str | None, typer.Option("--license", help="SPDX license expression of the data, e.g. 'CC-BY-4.0'")] = None,  # noqa: A002
    source: Annotated[str | None, typer.Option(help="where the data comes from (URL)")] = None,
    intended_use: Annotated[str | None, typer.Option("--use", "--intended-use", help="commercial (a product or service for others), internal (inside your organisation), research or non-commercial: gives the rights verdict")] = None,
    base_model_license: Annotated[str | None, typer.Option("--base-model-license", help="license of the base model to fine-tune, e.g. llama3.1, gemma, apache-2.0 (see the catalog's open models)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the JSON report here ('-' for stdout)")] = None,
    card: Annotated[Path | None, typer.Option(help="write a dataset card (Markdown) here")] = None,
    croissant: Annotated[Path | None, typer.Option(help="write a Croissant 1.1 JSON-LD description (with RAI fields) here")] = None,
    creator: Annotated[str | None, typer.Option(help="who made the data set (Croissant creator)")] = None,
    date_published: Annotated[str | None, typer.Option(help="when the data set was published, YYYY-MM-DD (Croissant)")] = None,
    strict: Annotated[bool, typer.Option(help="treat every warning as fatal (exit 2)")] = False,
    text_field: Annotated[str, typer.Option(help="text column / key")] = "text",
    label_field: Annotated[str, typer.Option(help="label column / key")] = "label",
    prompt_field: Annotated[str, typer.Option(help="prompt column / key")] = "prompt",
    completion_field: Annotated[str, typer.Option(help="completion column / key")] = "completion",
    id_field: Annotated[str, typer.Option(help="id column / key")] = "id",
    near_dups: Annotated[bool, typer.Option(help="find near duplicates (MinHash LSH)")] = True,
    near_threshold: Annotated[float, typer.Option(help="near-duplicate Jaccard threshold")] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations")] = 128,
    near_dup_limit: Annotated[int, typer.Option(help="most examples held in the near-duplicate index (memory bound)")] = 20_000,
    pii: Annotated[bool, typer.Option(help="scan for personal data")] = True,
    ner: Annotated[bool, typer.Option("--ner", help="also find names, places and secrets with Presidio/spaCy and detect-secrets (the `pii` extra; one process)")] = False,
    workers: Annotated[int | None, typer.Option(help="processes for a JSONL file (default: all cores from 64 MB up, else 1)")] = None,
) -> None:
    """Audit a training file: validity, tokens per tokenizer, context limits, duplicates, labels, PII, license.

    Exit codes: 0 usable (warnings only, unless --strict); 2 invalid rows or a file that cannot be read
    (the report is still printed and written first); 2 with --strict when the rights verdict for
    --use is "not allowed" (or any warning).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tunewise.audit import audit_file, write_card
    from tunewise.audit.engine import count_lines
    from tunewise.audit.render import render
    from tunewise.cli._output import console, err_console, write_json
    from tunewise.data import FORMATS, Columns
    from tunewise.errors import BadInputError, did_you_mean

    if format is not None and format not in FORMATS:
        raise BadInputError(f"unknown format '{format}'", fix=did_you_mean(format, FORMATS))
    if date_published is not None:
        from datetime import date

        try:
            date.fromisoformat(date_published)
        except ValueError:
            raise BadInputError("--date-published must be a date YYYY-MM-DD", why=f"got '{date_published}'") from None
    if base_model_license is not None and base_model_license.lower() != "unknown":
        from tunewise.rights.table import get

        get(base_model_license, what="base model license")
    if intended_use is not None and intended_use not in INTENDED_USES:
        raise BadInputError(f"unknown intended use '{intended_use}'", fix=did_you_mean(intended_use, INTENDED_USES))
    if num_perm < 16 or num_perm > 1024:
        raise BadInputError("--num-perm must be between 16 and 1024", why=f"got {num_perm}")
    if near_dup_limit < 0:
        raise BadInputError("--near-dup-limit must be >= 0", why=f"got {near_dup_limit}")
    for out in (json_out, card, croissant):
        if out is not None and str(out) != "-" and out.resolve() == file.resolve():
            raise BadInputError("an output path is the input file", where=str(out),
                                fix="Write the report somewhere else; the input is never modified")
    tokenizers = [t for spec in (tokenizer or []) for t in spec.split(",") if t.strip()]
    if not tokenizers:
        tokenizers = ["o200k_base"]
        if model is not None:
            from tunewise import assets
            from tunewise.audit.tokenizers import model_limit

            model_tok = model_limit(model)[2]
            if model_tok in assets.TIKTOKEN_ENCODINGS:
                tokenizers = [model_tok]
    columns = Columns(text=text_field, label=label_field, prompt=prompt_field, completion=completion_field, id=id_field)

    if ner and pii:
        from tunewise.detectors import ner as ner_stage

        ner_stage.enable()   # loads the spaCy model by path; the worker processes would not have it
        workers = 1
    total = count_lines(file) if file.exists() else None
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as bar:
        task = bar.add_task("audit", total=total)
        report = audit_file(file, fmt=format, columns=columns, tokenizers=tokenizers, max_tokens=max_tokens, model=model,
                            validation=validation, license=license, source=source, intended_use=intended_use,
                            base_model_license=base_model_license,
                            near_dups=near_dups, near_threshold=near_threshold, num_perm=num_perm,
                            near_dup_limit=near_dup_limit, pii=pii, workers=workers,
                            progress=lambda line: bar.update(task, completed=line))
    to_stdout = json_out is not None and str(json_out) == "-"
    screen = err_console if to_stdout else console  # keep stdout pure JSON with --json -
    render(report, screen, full_list=None if json_out is None or to_stdout else str(json_out))
    try:
        if json_out is not None:
            write_json(json_out, report.to_dict())
            if not to_stdout:
                screen.print(f"JSON report: {json_out} (schema {report.to_dict()['schema_version']}, docs/audit-schema.md)")
        if card is not None:
            screen.print(f"dataset card: {write_card(report, card)}")
        if croissant is not None:
            from tunewise.rights.croissant import write_croissant

            screen.print(f"Croissant: {write_croissant(report, croissant, creator=creator, date_published=date_published)}")
    except OSError as exc:
        raise BadInputError("cannot write the report", where=str(exc.filename or json_out or card),
                            why=exc.strerror or str(exc), fix="Choose a writable path") from None
    if report.n_errors:
        raise BadInputError(f"{report.n_errors:,} invalid row(s): the file cannot be used for fine-tuning as is",
                            where=str(file), fix="Fix the rows listed above (each with file:line)")
    v = report.license.verdict
    if strict and v and v["status"] == "not-allowed":
        raise BadInputError(f"--strict: rights verdict for {v['use']} use is 'not allowed'", where=str(file),
                            why="; ".join(r for r in v["reasons"] if "not" in r or "research only" in r) or None,
                            fix="Use data and a base model whose licenses allow this use, or change --use")
    if strict and report.n_warnings:
        raise BadInputError(f"--strict: {report.n_warnings:,} warning(s) found", where=str(file),
                            fix="Fix the warnings listed above or run without --strict")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_cmd)
