"""Compare the catalog's base inference prices with the genai-prices package (offline snapshot).

Reports agreement or disagreement per price; never changes the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tunewise.catalog.catalog import Catalog
from tunewise.errors import require

# catalog provider -> genai-prices provider id
PROVIDER_MAP = {"openai": "openai", "anthropic": "anthropic", "google-vertex": "google", "together": "together",
                "fireworks": "fireworks", "mistral": "mistral"}
# genai-prices model refs for catalog models whose ids differ
MODEL_REFS = {("together", "llama-3.1-8b"): "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
              ("together", "llama-3.1-70b"): "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
              ("fireworks", "llama-3.1-8b"): "accounts/fireworks/models/llama-v3p1-8b-instruct",
              ("fireworks", "llama-3.1-70b"): "accounts/fireworks/models/llama-v3p1-70b-instruct"}
SAMPLE_TOKENS = 1000  # priced per 1K then scaled: stays under tiered thresholds (e.g. Gemini >200k)


@dataclass(frozen=True)
class CrossCheck:
    price_id: str
    ours: Decimal
    theirs: Decimal | None
    diff_pct: Decimal | None
    verdict: str  # agree | DISAGREE | not in genai-prices


def crosscheck(cat: Catalog, *, tolerance_pct: Decimal = Decimal(1)) -> list[CrossCheck]:
    gp = require("genai_prices", "prices")
    rows = []
    for p in cat.select(kind_group="inference"):
        if not p.kind.startswith("base-") or p.kind.startswith("base-batch") or p.provider not in PROVIDER_MAP:
            continue
        theirs = _theirs(gp, PROVIDER_MAP[p.provider], p.provider, p.model, p.kind)
        if theirs is None:
            rows.append(CrossCheck(p.id, p.usd, None, None, "not in genai-prices"))
            continue
        diff = (theirs - p.usd) / p.usd * 100
        verdict = "agree" if abs(diff) <= tolerance_pct else "DISAGREE"
        rows.append(CrossCheck(p.id, p.usd, theirs, diff, verdict))
    return rows


def _theirs(gp, provider_id: str, provider: str, model: str, kind: str) -> Decimal | None:  # noqa: ANN001
    usage_kw = {"base-input": {"input_tokens": SAMPLE_TOKENS},
                "base-output": {"output_tokens": SAMPLE_TOKENS},
                "base-cached-input": {"input_tokens": SAMPLE_TOKENS, "cache_read_tokens": SAMPLE_TOKENS}}[kind]
    refs = [MODEL_REFS.get((provider, model)), model]
    for ref in (r for r in refs if r):
        try:
            res = gp.calc_price(gp.Usage(**usage_kw), model_ref=ref, provider_id=provider_id)
        except Exception:  # noqa: BLE001 - genai-prices raises LookupError and others for unknown refs
            continue
        price = res.total_price
        return (Decimal(price) * 1_000_000 / SAMPLE_TOKENS).normalize()
    return None
