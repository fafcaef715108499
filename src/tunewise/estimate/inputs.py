"""Turning CLI-level inputs (a data file, an audit JSON, bare numbers) into estimator inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tunewise.catalog import Catalog
from tunewise.errors import BadInputError
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.models import Traffic
from tunewise.estimate.workload import Workload

TIKTOKEN_NAMES = ("o200k_base", "cl100k_base")
PRIMARY_TOKENIZER = "o200k_base"


def tokenizers_for(candidates: list[Candidate], catalog: Catalog) -> list[str]:
    """The tiktoken encodings the API candidates bill in (o200k_base first): what to count."""
    out = [PRIMARY_TOKENIZER]
    for c in candidates:
        if c.kind in ("api-finetune", "prompting") and c.provider:
            tok = catalog.api_model(c.provider, c.model).tokenizer
            if tok in TIKTOKEN_NAMES and tok not in out:
                out.append(tok)
        elif c.kind == "selfhost":
            from tunewise.estimate.hfconfig import resolve_open_model

            tok = resolve_open_model(catalog, c.model).tokenizer
            if tok and tok not in out:
                out.append(tok)
    return out


def read_audit_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"audit JSON not found: {path}",
                            fix="Write one with `tunewise audit DATA --json FILE`") from None
    except json.JSONDecodeError as exc:
        raise BadInputError("audit JSON is not valid JSON", where=f"{path}:{exc.lineno}", why=exc.msg,
                            fix="Write it with `tunewise audit DATA --json FILE`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read audit JSON {path}", why=str(exc)) from None
    return data


def build_workload(*, data: Path | None, audit_json: Path | None, examples: int | None,
                   training_tokens: int | None, tokenizers: list[str],
                   count_tokenizer: str = PRIMARY_TOKENIZER,
                   run_audit: Callable[[Path, list[str]], dict] | None = None) -> Workload:
    """A Workload from exactly one source: DATA (audited now), --audit-json, or bare counts."""
    given = [n for n, v in (("DATA", data), ("--audit-json", audit_json),
                            ("--training-tokens", training_tokens)) if v is not None]
    if len(given) != 1:
        raise BadInputError("say what is being fine-tuned, once",
                            why=f"got {', '.join(given) if given else 'none of them'}",
                            fix="Pass a data file (DATA), or --audit-json FILE, or "
                                "--training-tokens N with --examples N")
    if training_tokens is not None:
        if examples is None:
            raise BadInputError("--training-tokens needs --examples",
                                fix="Give the number of training examples, e.g. --examples 1000")
        if training_tokens < 0 or examples < 0:
            raise BadInputError("token and example counts must be >= 0",
                                why=f"got --training-tokens {training_tokens} --examples {examples}")
        return Workload(examples=examples, tokens_total=training_tokens, tokenizer=count_tokenizer,
                        source="--training-tokens")
    if audit_json is not None:
        audit = read_audit_json(audit_json)
        primary = PRIMARY_TOKENIZER if PRIMARY_TOKENIZER in (audit.get("tokens") or {}) else \
            next(iter(audit.get("tokens") or {PRIMARY_TOKENIZER: None}))
        return Workload.from_audit(audit, tokenizer=primary, where=str(audit_json))
    assert data is not None
    if data.suffix.lower() == ".json":
        try:
            maybe = json.loads(data.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            maybe = None
        if isinstance(maybe, dict) and "tokens" in maybe and "examples" in maybe:
            return Workload.from_audit(maybe, tokenizer=PRIMARY_TOKENIZER, where=str(data))
    if run_audit is None:
        raise BadInputError("cannot audit DATA here", fix="Pass --audit-json FILE instead")
    audit = run_audit(data, tokenizers)
    return Workload.from_audit(audit, tokenizer=PRIMARY_TOKENIZER, where=str(data))


def parse_amount(name: str, text: str | None) -> Decimal | None:
    """A non-negative finite number from an option ('1e6', '2500', '12.5')."""
    if text is None:
        return None
    try:
        d = Decimal(text.replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise BadInputError(f"{name} must be a number", why=f"got '{text}'") from None
    if not d.is_finite() or d < 0:
        raise BadInputError(f"{name} must be >= 0", why=f"got {text}",
                            fix=f"Give a non-negative {name}")
    return d


def build_traffic(*, workload: Workload, requests: str, input_tokens: str | None,
                  output_tokens: str | None, growth: str | None) -> Traffic:
    r = parse_amount("--requests-per-month", requests)
    i = parse_amount("--input-tokens", input_tokens)
    o = parse_amount("--output-tokens", output_tokens)
    if not r:  # no traffic: tokens per request do not matter
        i, o = i or Decimal(0), o or Decimal(0)
    if i is None:
        i = workload.input_mean
        if i is None:
            raise BadInputError("--input-tokens is needed", why="the data gives no input/output split",
                                fix="Pass --input-tokens N (tokens per request)")
        i = i.to_integral_value()
    if o is None:
        o = workload.output_mean
        if o is None:
            raise BadInputError("--output-tokens is needed", why="the data gives no input/output split",
                                fix="Pass --output-tokens N (tokens per response)")
        o = o.to_integral_value()
    g = Decimal(0)
    if growth is not None:
        try:
            g = Decimal(growth.rstrip("%"))
        except InvalidOperation:
            raise BadInputError("--growth must be a percentage per month", why=f"got '{growth}'") from None
        if not g.is_finite() or g <= -100:
            raise BadInputError("--growth must be > -100 (% per month)", why=f"got {growth}")
    return Traffic(requests_per_month=r or Decimal(0), input_tokens=i, output_tokens=o,
                   growth_pct_per_month=g)
