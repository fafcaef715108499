"""Fine-tuning through a provider's API: billed tokens x price, epochs rule, truncation, minimums,
and the fine-tuned model's per-token inference (plus hourly hosting where the provider bills it)."""

from __future__ import annotations

from decimal import Decimal

from tunewise.catalog import Catalog, TrainingRules
from tunewise.errors import BadInputError, did_you_mean
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced, not_possible
from tunewise.estimate.assumptions import HOURS_PER_MONTH, PER_MILLION, TOKENIZER_BAND
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.models import ServingPolicy, Traffic
from tunewise.estimate.ranges import Range
from tunewise.estimate.workload import Workload


def default_epochs(rules: TrainingRules, examples: int) -> tuple[int, str]:
    """The provider's automatic epoch count for ``examples`` examples, and how it was reached.

    With ``examples_x_epochs`` (OpenAI's ``n_epochs: "auto"``) this is the rule of OpenAI's cookbook
    "Data preparation and analysis for chat model fine-tuning"
    (github.com/openai/openai-cookbook, examples/Chat_finetuning_data_prep.ipynb, "Pricing and default
    n_epochs estimate"): TARGET_EPOCHS = 3, MIN_TARGET_EXAMPLES = 100, MAX_TARGET_EXAMPLES = 25000,
    MIN_DEFAULT_EPOCHS = 1, MAX_DEFAULT_EPOCHS = 25, and

        if n * 3 < 100:     n_epochs = min(25, 100 // n)      # floor, not ceil
        elif n * 3 > 25000: n_epochs = max(1, 25000 // n)

    so 11 examples train 9 epochs (99 example-passes, not 10 / 110), 33 examples 3 epochs, 34 and 100
    examples 3. The catalog's ``epochs`` range caps the result (OpenAI's: [1, 25], the cookbook's
    MIN/MAX_DEFAULT_EPOCHS).
    """
    e = rules.default_epochs
    how = f"default {e}"
    if rules.examples_x_epochs and examples > 0:
        lo, hi = rules.examples_x_epochs
        if examples * e < lo:
            e = lo // examples
            how += f", raised to {lo} // {examples} examples (examples x epochs < {lo})"
        elif examples * e > hi:
            e = hi // examples
            how += f", lowered to {hi} // {examples} examples (examples x epochs > {hi})"
    lo_e, hi_e = rules.epochs
    if not lo_e <= e <= hi_e:
        e = min(max(e, lo_e), hi_e)
        how += f", clamped to [{lo_e}, {hi_e}]"
    return e, how


def tokenizer_band(ledger: Ledger, workload: Workload, tokenizer: str, who: str) -> tuple[Workload, Range]:
    w, exact = workload.for_tokenizer(tokenizer)
    if exact:
        return w, Range.exact(1)
    ledger.note(f"tokens counted with {w.tokenizer}; {who} bills in its own tokenizer ({tokenizer}): "
                f"+/-{TOKENIZER_BAND * 100:.0f}% band on token counts")
    return w, Range.of(1 - TOKENIZER_BAND, 1, 1 + TOKENIZER_BAND)


def price_api_finetune(c: Candidate, workload: Workload, traffic: Traffic, catalog: Catalog,
                       ledger: Ledger, serving: ServingPolicy | None = None) -> Priced:
    provider = c.provider or ""
    model = catalog.api_model(provider, c.model)
    if not model.fine_tunable:
        tunable = [m.id for m in catalog.provider(provider).models.values() if m.fine_tunable]
        raise BadInputError(f"{provider}/{model.id} cannot be fine-tuned", why="the catalog marks it "
                            "as not fine-tunable", fix=did_you_mean(c.model, tunable))
    rules = catalog.training_rules(provider, model.id)
    who = f"{provider}/{model.id}"
    w, band = tokenizer_band(ledger, workload, model.tokenizer, provider)

    if rules.min_examples and w.examples < rules.min_examples:
        return not_possible(f"{provider} needs at least {rules.min_examples} training examples; "
                            f"the data has {w.examples}")
    objective = c.opt("objective", "sft")
    method = c.opt("method") or rules.default_method
    if "epochs" in c.options:
        epochs = c.opt_int("epochs") or 1
        lo_e, hi_e = rules.epochs
        if not lo_e <= epochs <= hi_e:
            return not_possible(f"{provider} accepts {lo_e}-{hi_e} epochs; asked for {epochs}")
        ledger.note(f"epochs: {epochs} (given)")
    else:
        epochs, how = default_epochs(rules, w.examples)
        ledger.note(f"epochs: {epochs} ({provider} rule: {how}) - pass [epochs=N] to change")
    if rules.note:
        ledger.note(f"{provider} rules: {rules.note}")

    limit = model.context_limit if rules.truncates_at_context else None
    tokens, notes = w.truncated_tokens(limit)
    for n in notes:
        ledger.note(n)
    if limit:
        ledger.note(f"examples longer than {limit:,} tokens are truncated ({who} training context)")
    else:
        ledger.note(f"no truncation applied (context limit for {who} not in the catalog)")
    billed = tokens.times(band).times(epochs)
    if rules.bills_validation and w.validation_tokens:
        billed = billed + Range.exact(w.validation_tokens).times(band).times(epochs)
        ledger.note(f"validation tokens billed ({w.validation_tokens:,} per epoch)")
    elif rules.bills_validation:
        ledger.note(f"{provider} also bills validation tokens; none given")
    billed = billed.as_ints()

    if objective == "rft":
        p = ledger.use(catalog.price(provider, model.id, "training-hour", objective="rft"),
                       "training (per training hour)")
        hours = c.opt_dec("hours")
        if hours is None:
            return not_possible(f"{who} reinforcement fine-tuning is billed per training hour "
                                f"({p.label()}); give the expected hours as [hours=H]")
        train = Range.exact(hours * p.usd)
        ledger.note(f"training time: {hours} h (given); grader tokens are billed extra and not included")
    else:
        p = ledger.use(catalog.price(provider, model.id, "training", objective=objective, method=method),
                       f"training ({objective}{'-' + method if method else ''})")
        train = billed.times(p.usd / PER_MILLION)
        ledger.note(f"training cost = billed tokens x {p.label()}")
        if objective != "sft" and p.objective is None:
            ledger.note(f"{objective.upper()} priced at the provider's single per-token training rate "
                        "(the catalog lists no separate rate for it)")
    minimum = ledger.maybe(lambda: catalog.price(provider, model.id, "job-minimum"), "minimum per job")
    if minimum is not None:
        train = train.maximum(minimum.usd)
        ledger.note(f"minimum charge per job: {minimum.label()}")
    train = train.q()

    if model.tuned_inference == "dedicated":
        return _dedicated(c, model, traffic, catalog, ledger, serving or ServingPolicy(), train,
                          {"billed_tokens": billed, "epochs": epochs,
                           "tokens_per_request": {"input": traffic.input_tokens, "output": traffic.output_tokens}})
    serve_kind = "tuned" if model.tuned_inference == "own" else "base"
    pin = ledger.use(catalog.price(provider, model.id, f"{serve_kind}-input"), "inference input")
    pout = ledger.use(catalog.price(provider, model.id, f"{serve_kind}-output"), "inference output")
    if serve_kind == "base":
        ledger.note(f"{provider} serves the fine-tuned model at the base model's token prices"
                    + (f" ({model.note})" if model.note else ""))
    per_request = (Range.exact(traffic.input_tokens * pin.usd + traffic.output_tokens * pout.usd)
                   .times(band).times(1 / PER_MILLION))
    hosting = None
    if model.hosting == "hourly":
        hosting = ledger.use(catalog.price(provider, model.id, "hosting-hour"), "hosting per hour")
        ledger.note(f"hosting fee {hosting.label()} x {HOURS_PER_MONTH} h/month while deployed, used or not")
    storage = ledger.maybe(lambda: catalog.price(provider, model.id, "storage-month"), "model storage")
    if storage is not None:
        ledger.note(f"storage of the fine-tuned model: {storage.label()}")

    def monthly(requests: Decimal) -> dict[str, Range]:
        out = {"inference": per_request.times(requests)}
        if hosting is not None:
            out["hosting"] = Range.exact(hosting.usd * HOURS_PER_MONTH)
        if storage is not None:
            out["storage"] = Range.exact(storage.usd)
        return out

    return Priced(train=train, monthly=monthly,
                  extra={"billed_tokens": billed, "epochs": epochs,
                         "tokens_per_request": {"input": traffic.input_tokens,
                                                "output": traffic.output_tokens}})


def _dedicated(c: Candidate, model: object, traffic: Traffic, catalog: Catalog, ledger: Ledger,
               serving: ServingPolicy, train: Range, extra: dict) -> Priced:
    """A fine-tune the provider serves only on dedicated GPUs: the cheapest of its dedicated GPU
    offers that holds the model and meets the latency objective at the peak hour, billed for every
    hour it is deployed (sized by the uncalibrated roofline of ``estimate.serving``)."""
    from tunewise.estimate import serving as S
    from tunewise.estimate.local import gpu_offer

    provider = c.provider or ""
    params = int((getattr(model, "params_b", None) or Decimal(0)) * 10**9)
    if params <= 0:
        return not_possible(f"{provider}/{getattr(model, 'id', '')} is served on dedicated GPUs only and the "
                            "catalog gives no parameter count to size them")
    meas = S.ServingMeasurement(source="roofline from the parameter count", latency_p95_ms=Decimal(1),
                                throughput={1: Decimal(1)}, memory_gb=Decimal(1), params=params,
                                tokens_per_request=int(traffic.input_tokens), output_tokens=int(traffic.output_tokens))
    # like every API candidate, its latency is the provider's: sized for throughput (<= 70% busy at the
    # peak hour), not held to the plan's objective (measure it with `tunewise eval`)
    load = S.Load(requests_per_month=traffic.requests_per_month, peak_factor=serving.peak_factor,
                  latency_p95_ms=Decimal(3_600_000))
    best = None
    for p in catalog.hourly_offers("gpu-hour"):
        if p.provider != provider or p.market != "dedicated":
            continue
        o = gpu_offer(catalog, p)
        perf = S.performance(meas, o)
        if isinstance(perf, str):
            continue
        sz = S.size(perf, o, load)
        if sz.feasible and (best is None or sz.monthly_usd.expected < best[2].monthly_usd.expected):
            best = (p, perf, sz, o)
    if best is None:
        return not_possible(f"{provider} serves fine-tuned models on dedicated GPUs only, and none of its "
                            "dedicated GPU offers in the catalog holds the model")
    price, perf, chosen, offer = best
    ledger.use(price, "dedicated deployment GPU-hour")
    ledger.note(f"{provider} serves fine-tuned (LoRA) models only on dedicated deployments billed per GPU-hour, "
                "used or not; no per-token price applies")
    ledger.note(f"serving: {chosen.label}: {chosen.instances.expected} GPU deployment(s) up all month for "
                f"{load.peak_rps * 3600:,.0f} requests in the peak hour ({serving.peak_factor}x the mean), at most "
                f"{S.RHO_CAP:.0%} busy; roofline p95 ~{chosen.latency_p95_ms} ms per request (uncalibrated; not held "
                "to the plan's latency objective, as for every API candidate)")

    def monthly(requests: Decimal) -> dict[str, Range]:
        return {"hosting": S.monthly_cost(perf, offer, load.with_requests(requests)) or chosen.monthly_usd}

    return Priced(train=train, monthly=monthly, extra={**extra, "serving": {
        "chosen": chosen.model_dump(mode="json"), "pinned": False, "dedicated": True,
        "peak_factor": str(serving.peak_factor), "latency_objective_ms": str(serving.latency_p95_ms),
        "peak_requests_per_hour": str((load.peak_rps * 3600).quantize(Decimal("0.1"))), "offers": [],
        "rejected": []}})
