"""What an endpoint evaluation costs: a price per 1M input/output tokens, and where it came from.

A price is one of: dated catalog prices (``--price PROVIDER/MODEL``: ``base-input``/``base-output``,
or ``tuned-input``/``tuned-output`` for a fine-tuned model), an explicit rate the user gives
(``--price-per-1m-input/--price-per-1m-output``), or an explicit ``--free`` (a local server). Without
one the cost is *unknown* — never silently $0. Money is Decimal throughout.

Token estimates before sending count the messages with a real tiktoken encoding (the priced model's
tokenizer from the catalog, else o200k_base) and OpenAI's per-message overheads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tunewise._json import decimal_text
from tunewise.errors import BadInputError

PER_MILLION = Decimal(1_000_000)
CENT = Decimal("0.000001")  # money is shown and stored to a millionth of a dollar
DEFAULT_TOKENIZER = "o200k_base"


@dataclass
class Pricing:
    status: str                                   # 'catalog' | 'user' | 'free' | 'unknown'
    input_per_1m: Decimal | None = None
    output_per_1m: Decimal | None = None
    source: str = ""
    prices: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    tokenizer: str = DEFAULT_TOKENIZER

    @property
    def known(self) -> bool:
        return self.status != "unknown"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        if not self.known:
            return None
        return (Decimal(prompt_tokens) * self.input_per_1m + Decimal(completion_tokens) * self.output_per_1m) \
            / PER_MILLION

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "usd_per_1m_input": _s(self.input_per_1m),
                "usd_per_1m_output": _s(self.output_per_1m), "source": self.source, "prices": self.prices,
                "reason": self.reason or None}


def money(x: Decimal | None) -> str | None:
    return None if x is None else str(x.quantize(CENT))


def _s(x: Decimal | None) -> str | None:
    return None if x is None else format(x.normalize(), "f")


def parse_usd(text: Any, flag: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise BadInputError(f"{flag} must be a decimal number of USD, got '{text}'", fix=f"e.g. {flag} 0.15") from None
    if not value.is_finite() or value < 0:
        raise BadInputError(f"{flag} must be a finite amount >= 0, got '{text}'")
    return value


def resolve(*, price: str | None = None, kind: str = "base", per_1m_input: Any = None, per_1m_output: Any = None,
            free: bool = False, model: str = "", catalog_files: list[Path] | None = None,
            as_of: date | None = None, catalog: Any = None) -> Pricing:
    """The evaluation's price from exactly one source, or 'unknown' with the reason and what to pass."""
    given = [name for name, v in (("--price", price), ("--free", free or None),
                                  ("--price-per-1m-input/--price-per-1m-output",
                                   per_1m_input if per_1m_input is not None else per_1m_output)) if v is not None]
    if len(given) > 1:
        raise BadInputError(f"give one price source, not {' and '.join(given)}",
                            fix="Use --price PROVIDER/MODEL (catalog), --price-per-1m-input X --price-per-1m-output Y, "
                                "or --free")
    if free:
        return Pricing("free", Decimal(0), Decimal(0), "--free (the user says this endpoint costs nothing per token)")
    if per_1m_input is not None or per_1m_output is not None:
        if per_1m_input is None or per_1m_output is None:
            raise BadInputError("--price-per-1m-input and --price-per-1m-output go together",
                                fix="Give both (0 is allowed for either)")
        return Pricing("user", parse_usd(per_1m_input, "--price-per-1m-input"),
                       parse_usd(per_1m_output, "--price-per-1m-output"),
                       "--price-per-1m-input/--price-per-1m-output (given by the user)")
    if price is None:
        try:
            cat = catalog if catalog is not None else _load(catalog_files, as_of)
        except BadInputError:  # only wanted for a hint here
            cat = None
        hint = _catalog_hint(cat, model)
        return Pricing("unknown", reason="no price was given and none is assumed; pass --price PROVIDER/MODEL"
                       + (f" (the catalog lists {hint})" if hint else " (catalog)")
                       + ", --price-per-1m-input/--price-per-1m-output, or --free for a local server")
    cat = catalog if catalog is not None else _load(catalog_files, as_of)
    if "/" not in price:
        raise BadInputError(f"--price must be PROVIDER/MODEL, got '{price}'", fix="e.g. --price openai/gpt-4o-mini")
    provider, name = price.split("/", 1)
    return catalog_pricing(cat, provider, name, kind, where="--price")


def catalog_pricing(cat: Any, provider: str, model: str, kind: str, *, where: str) -> Pricing:
    """Dated catalog input/output prices; BadInputError (with suggestions) when the catalog has none."""
    if kind not in ("base", "tuned"):
        raise BadInputError(f"unknown price kind '{kind}'",
                            fix="Use base (the provider's model) or tuned (a fine-tune)")
    try:
        m = cat.api_model(provider, model)
        pin = cat.price(provider, m.id, f"{kind}-input")
        pout = cat.price(provider, m.id, f"{kind}-output")
    except BadInputError as exc:
        raise BadInputError(exc.what, where=where, why=exc.why, fix=exc.fix) from None
    rows = [{"id": p.id, "usd": decimal_text(p.usd), "unit": p.unit, "effective_from": p.effective_from.isoformat(),
             "checked_on": p.checked_on.isoformat(), "source_url": p.source_url, "stale": cat.is_stale(p)}
            for p in (pin, pout)]
    tok = m.tokenizer if m.tokenizer in _tiktoken_names() else DEFAULT_TOKENIZER
    return Pricing("catalog", pin.usd, pout.usd, f"catalog {provider}/{m.id} ({kind}-input, {kind}-output), "
                   f"prices as of {cat.as_of.isoformat()}", rows, tokenizer=tok)


def _load(files: list[Path] | None, as_of: date | None) -> Any:
    from tunewise.catalog import load_catalog

    return load_catalog(extra_files=list(files or []), as_of=as_of)


def _catalog_hint(cat: Any, model: str) -> str | None:
    if cat is None:
        return None
    for pid, info in sorted(cat.providers.items()):
        mid = info.aliases.get(model, model)
        if mid in info.models:
            return f"{pid}/{model}"
    return None


def _tiktoken_names() -> tuple[str, ...]:
    from tunewise import assets

    return tuple(assets.TIKTOKEN_ENCODINGS)


# ----------------------------------------------------------------------------------- token estimates

class TokenEstimator:
    """Counts chat messages the way OpenAI bills them (cookbook overheads), with a tiktoken encoding."""

    def __init__(self, name: str = DEFAULT_TOKENIZER) -> None:
        from tunewise.audit.tokenizers import REPLY_PRIMING, TOKENS_PER_MESSAGE, resolve as tok_resolve

        self.name = name
        self._counter = tok_resolve(name)
        self._per_msg, self._priming = TOKENS_PER_MESSAGE, REPLY_PRIMING

    def texts(self, texts: list[str]) -> list[int]:
        return self._counter.count(list(texts))

    def messages(self, many: list[list[dict[str, str]]]) -> list[int]:
        flat = [m.get("content") or "" for msgs in many for m in msgs]
        roles = [m.get("role") or "" for msgs in many for m in msgs]
        counts = self._counter.count(flat)
        role_counts = self._counter.count(roles)
        out, i = [], 0
        for msgs in many:
            n = self._priming
            for _ in msgs:
                n += self._per_msg + counts[i] + role_counts[i]
                i += 1
            out.append(n)
        return out
