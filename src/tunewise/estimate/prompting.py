"""The baseline: prompt a base model with k few-shot examples per request. No training."""

from __future__ import annotations

from decimal import Decimal

from tunewise.catalog import Catalog
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced
from tunewise.estimate.api import tokenizer_band
from tunewise.estimate.assumptions import PER_MILLION
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.models import Traffic
from tunewise.estimate.ranges import Range
from tunewise.estimate.workload import Workload


def price_prompting(c: Candidate, workload: Workload, traffic: Traffic, catalog: Catalog,
                    ledger: Ledger) -> Priced:
    provider = c.provider or ""
    model = catalog.api_model(provider, c.model)
    k = c.opt_int("k", 0) or 0
    w, band = tokenizer_band(ledger, workload, model.tokenizer, provider)
    shot_tokens = (w.mean_tokens * k).to_integral_value()
    pin = ledger.use(catalog.price(provider, model.id, "base-input"), "prompt input")
    pout = ledger.use(catalog.price(provider, model.id, "base-output"), "prompt output")
    in_tokens = traffic.input_tokens + shot_tokens
    expected = (in_tokens * pin.usd + traffic.output_tokens * pout.usd) / PER_MILLION
    low = expected
    if k:
        ledger.note(f"{k} few-shot examples per request: +{shot_tokens:,} input tokens "
                    f"({k} x mean example length {w.mean_tokens:.0f} tokens)")
        cached = ledger.maybe(lambda: catalog.price(provider, model.id, "base-cached-input"),
                              "prompt input, cached prefix")
        if cached is not None:
            low = (traffic.input_tokens * pin.usd + shot_tokens * cached.usd
                   + traffic.output_tokens * pout.usd) / PER_MILLION
            ledger.note("low end: the few-shot prefix is billed at the cached-input price "
                        f"({cached.label()})")
    else:
        ledger.note("zero-shot prompting (k=0)")
    per_request = Range.of(low, expected, expected).times(band)

    def monthly(requests: Decimal) -> dict[str, Range]:
        return {"inference": per_request.times(requests)}

    return Priced(train=None, monthly=monthly,
                  extra={"tokens_per_request": {"input": in_tokens, "output": traffic.output_tokens}})
