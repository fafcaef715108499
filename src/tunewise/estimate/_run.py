"""``estimate()``: price every candidate, add up TCO, compare with the baseline, rank."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tunewise.catalog import Catalog
from tunewise.catalog.lifecycle import OfferUnavailable
from tunewise.errors import BadInputError
from tunewise.estimate._ledger import Ledger
from tunewise.estimate._priced import Priced, not_possible
from tunewise.estimate.api import price_api_finetune
from tunewise.estimate.candidate import Candidate
from tunewise.estimate.lifecycle import apply_lifecycle, check_lifecycle
from tunewise.estimate.local import LocalMeasurement, price_local
from tunewise.estimate.models import Calibration, Estimate, Horizon, ServingPolicy, Traffic
from tunewise.estimate.prompting import price_prompting
from tunewise.estimate.ranges import Range
from tunewise.estimate.selfhost import price_selfhost
from tunewise.estimate.tco import add_up, break_even, month_costs, tco_parts
from tunewise.estimate.workload import Workload


def estimate(candidates: Sequence[Candidate | str], workload: Workload, traffic: Traffic,
             horizon: Horizon | None = None, *, catalog: Catalog,
             calibrations: Sequence[Calibration | dict] | None = None,
             baseline: str | None = None, measurements: dict[str, LocalMeasurement] | None = None,
             serving: ServingPolicy | None = None,
             unavailable: Literal["raise", "record"] = "raise") -> list[Estimate]:
    """Price each candidate; return estimates in the order given, each with its rank.

    ``baseline`` is the id of the prompting candidate to compare against (default: the first
    prompting candidate). Unknown models, prices or GPUs raise BadInputError; a configuration that
    cannot run (does not fit in memory, too few examples) is an Estimate with status != 'ok'.
    An offer that does not exist on the pricing date (shut down, not yet available, no new
    fine-tuning jobs) raises ``OfferUnavailable`` (a BadInputError naming the date and the
    replacement), or with ``unavailable='record'`` is an Estimate with status 'unavailable'.
    Lifecycle facts that allow pricing (an end of new jobs inside the horizon, an access
    restriction) are on ``Estimate.lifecycle``; retrains after an end of new jobs are not priced.
    """
    horizon = horizon or Horizon()
    if not candidates:
        raise BadInputError("no candidates to estimate",
                            fix="Give at least one --candidate, e.g. api-finetune:openai/gpt-4o-mini")
    cands = [c if isinstance(c, Candidate) else Candidate.parse(c) for c in candidates]
    ids = [c.id for c in cands]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise BadInputError(f"candidate listed twice: {', '.join(dup)}", fix="Give each candidate once")
    cals = [_calibration(c, i) for i, c in enumerate(calibrations or [])]
    serving = serving or ServingPolicy()

    priced: list[tuple[Candidate, Priced, Ledger]] = []
    for c in cands:
        ledger = Ledger(catalog)
        try:
            lc = check_lifecycle(c, catalog, horizon, ledger)
        except OfferUnavailable as exc:
            if unavailable == "raise":
                raise
            ledger.lifecycle = [f for f in exc.facts]
            priced.append((c, not_possible(exc.render(), status="unavailable"), ledger))
            continue
        if c.kind == "api-finetune":
            p = price_api_finetune(c, workload, traffic, catalog, ledger, serving)
        elif c.kind == "selfhost":
            p = price_selfhost(c, workload, traffic, catalog, ledger, cals)
        elif c.kind == "local":
            meas = (measurements or {}).get(c.id)
            if meas is None:
                raise BadInputError(f"local candidate '{c.id}' has no measurement to price it from",
                                    fix="Local candidates are priced by `tunewise run` from their pilot")
            p = price_local(c, meas, traffic, catalog, ledger, peak_factor=serving.peak_factor,
                            latency_p95_ms=serving.latency_p95_ms, months=horizon.months)
        else:
            p = price_prompting(c, workload, traffic, catalog, ledger)
        apply_lifecycle(c, p, lc, catalog, horizon, ledger)
        priced.append((c, p, ledger))

    base = _baseline(priced, baseline)
    out: list[Estimate] = []
    for c, p, ledger in priced:
        _common_notes(ledger, traffic, horizon, catalog)
        est = Estimate(candidate=c.id, kind=c.kind, status=p.status, reason=p.reason,
                       calibrated=p.calibrated, **p.extra)
        if p.status == "ok":
            parts, series = tco_parts(p, traffic, horizon)
            est.parts = parts
            est.monthly_series_usd = series
            est.train_usd = p.train if p.train is not None else Range.zero()
            est.month_ranges = [sum(month_costs(p, traffic, m).values(), Range.zero())
                                for m in range(1, horizon.months + 1)]
            est.retrain_months = [m for m in horizon.retrain_months() if p.retrain_possible(m)] \
                if p.train is not None else []
            first = month_costs(p, traffic, 1)
            est.monthly_usd = sum(first.values(), Range.zero()) if first else Range.zero()
            est.tco_usd = add_up(parts)
            if base is not None and base[0].id != c.id:
                est.break_even_vs = base[0].id
                est.break_even_month, est.break_even_note = break_even(p, base[1], traffic, horizon)
        est.assumptions = ledger.assumptions
        est.prices = ledger.prices
        est.lifecycle = list(ledger.lifecycle)
        est.new_jobs_until = ledger.new_jobs_until
        est.retrains_not_priced = list(ledger.retrains_not_priced)
        out.append(est)
    if base is None:
        for e in out:
            if e.status == "ok" and e.kind != "prompting":
                e.break_even_note = "no prompting baseline given: add --candidate prompting:PROVIDER/MODEL[k=N]"
    ranked = sorted((e for e in out if e.status == "ok"), key=lambda e: (e.tco_usd.expected, e.candidate))
    for i, e in enumerate(ranked, 1):
        e.rank = i
    return out


def _calibration(c: Calibration | dict, i: int) -> Calibration:
    if isinstance(c, Calibration):
        return c
    from pydantic import ValidationError

    try:
        return Calibration.model_validate(c)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        raise BadInputError(f"calibration #{i + 1} is malformed",
                            why=f"{'.'.join(map(str, e['loc'])) or '(object)'}: {e['msg']}",
                            fix='Expected {"family", "params", "hardware", "tokens_per_s" | '
                                '"achieved_flops" | "mfu"}') from None


def _baseline(priced: list[tuple[Candidate, Priced, Ledger]], wanted: str | None
              ) -> tuple[Candidate, Priced] | None:
    prompting = [(c, p) for c, p, _ in priced if c.kind == "prompting"]
    if wanted is None:
        return prompting[0] if prompting else None
    for c, p in prompting:
        if c.id == wanted or c.id == Candidate.parse(wanted).id:
            return c, p
    from tunewise.errors import did_you_mean

    raise BadInputError(f"baseline '{wanted}' is not one of the prompting candidates",
                        fix=did_you_mean(wanted, [c.id for c, _ in prompting]) if prompting
                        else "Add a prompting candidate, e.g. --candidate prompting:openai/gpt-4o-mini[k=5]")


def _common_notes(ledger: Ledger, traffic: Traffic, horizon: Horizon, catalog: Catalog) -> None:
    g = traffic.growth_pct_per_month
    ledger.note(f"traffic: {traffic.requests_per_month:,} requests in month 1"
                + (f", growing {g}% per month" if g else ", flat") + f"; {traffic.input_tokens} input + "
                f"{traffic.output_tokens} output tokens per request")
    ledger.note(f"horizon {horizon.months} months; "
                + (f"{horizon.retrains_per_year} retrain(s) per year at the same cost as the first training"
                   if horizon.retrains_per_year else "no retraining"))
    ledger.note(f"prices as of {catalog.as_of}")
