"""The estimates step: plan candidates -> ``tunewise.estimate`` -> one JSON record for the report.

Thin adapter: the estimator does all the pricing. This module maps plan candidates to estimator
candidates, derives the traffic from the plan and the audit, passes the pilots' calibrations, and
asks the estimator again for (a) the cumulative cost at the end of each month (a horizon sweep, so
the cost-over-time bands are the estimator's own) and (b) the sensitivity scenarios.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from tunewise.plan.loader import LoadedPlan
from tunewise.plan.schema import PROMPTING_LOCAL_METHODS
from tunewise.runner import _json
from tunewise.runner.cache import file_digest
from tunewise.runner.checks import LOCAL_CATALOG_MODEL, load_plan_catalog, selfhost_model_ref

TOKENIZER = "o200k_base"
# local pilot method -> the self-hosted fine-tune method it corresponds to when priced on a GPU
LOCAL_TO_SELFHOST_METHOD = {"full": "full", "lora": "lora", "head": "lora"}


def estimate_inputs(lp: LoadedPlan, audit_key: str, calibrations: dict[str, Any]) -> dict[str, Any]:
    """What the estimates depend on: the audit (by its key), traffic, horizon, prices, candidates,
    calibrations. Not the budget or the target: those only change the decision."""
    from tunewise.catalog import bundled_files

    plan = lp.plan
    return {"audit": audit_key, "traffic": plan.traffic, "horizon": plan.horizon_months,
            "retrains": plan.retrains_per_year, "prices": plan.prices,
            "catalog_file": lp.resolve(plan.prices.catalog_file),
            "catalog": [file_digest(p) for p in bundled_files()],
            "candidates": [c.model_dump(exclude={"label", "note", "expected_score"}) for c in plan.candidates],
            "baseline": plan.baseline_id(), "calibrations": calibrations,
            "as_of": str(plan.prices.as_of) if plan.prices.as_of else _today()}


def _today() -> str:
    from datetime import date

    return date.today().isoformat()  # prices are looked up "as of today": a new day is a new key


def _traffic(lp: LoadedPlan, audit: dict[str, Any]) -> tuple[Any, list[dict[str, str]]]:
    from tunewise.estimate import Traffic

    t = lp.plan.traffic
    tk = (audit.get("tokens") or {}).get(TOKENIZER) or {}
    notes = []

    def per_request(given: int | None, part: str) -> Decimal:
        if given is not None:
            return Decimal(given)
        mean = (tk.get(part) or {}).get("mean")
        if mean is None:
            mean = tk.get("mean") if part == "input" else 1
        value = Decimal(str(mean)).quantize(Decimal(1))
        notes.append({"name": f"{part} tokens per request", "provenance": "measured",
                      "value": f"{value} ({TOKENIZER}, the audit's mean {part} tokens per training example)"})
        return max(value, Decimal(1))

    traffic = Traffic(requests_per_month=Decimal(t.requests_per_month),
                      input_tokens=per_request(t.input_tokens_per_request, "input"),
                      output_tokens=per_request(t.output_tokens_per_request, "output"),
                      growth_pct_per_month=t.growth_per_month * 100)
    return traffic, notes


def _candidates(lp: LoadedPlan) -> tuple[dict[str, Any], dict[str, str]]:
    """plan id -> estimator Candidate (None when it cannot be priced), and plan id -> why not."""
    from tunewise.estimate import Candidate

    out: dict[str, Any] = {}
    why: dict[str, str] = {}
    for c in lp.plan.candidates:
        if c.kind == "api-finetune":
            out[c.id] = Candidate(kind="api-finetune", provider=c.provider, model=c.model,
                                  options={"epochs": str(c.epochs)} if c.epochs else {})
        elif c.kind == "prompting":
            out[c.id] = Candidate(kind="prompting", provider=c.provider, model=c.model,
                                  options={"k": str(c.shots)})
        elif c.kind == "selfhost":
            gpu, _, offer = c.gpu.partition("@")
            out[c.id] = Candidate(kind="selfhost", model=selfhost_model_ref(lp, c.family), method=c.method, gpu=gpu,
                                  offer=offer,
                                  options={"gpus": str(c.gpus), "epochs": str(c.epochs)})
        elif c.serve is None:
            why[c.id] = "no serving offer in the plan (add 'serve: {gpu: ID@OFFER}' to price it)"
        elif c.method in PROMPTING_LOCAL_METHODS:
            why[c.id] = f"{c.method} serving on a GPU is not priced (the estimator prices fine-tunes)"
        elif c.model not in LOCAL_CATALOG_MODEL:
            why[c.id] = f"'{c.model}' is not an open model in the price catalog"
        else:
            gpu, _, offer = c.serve.gpu.partition("@")
            out[c.id] = Candidate(kind="selfhost", model=LOCAL_CATALOG_MODEL[c.model],
                                  method=LOCAL_TO_SELFHOST_METHOD[c.method], gpu=gpu, offer=offer,
                                  options={"gpus": str(c.serve.gpus),
                                           "epochs": str(max(1, int(c.epochs or lp.plan.pilot.epochs)))})
    return out, why


def _rng(r: Any) -> dict[str, str] | None:
    return None if r is None else {"low": str(r.low), "expected": str(r.expected), "high": str(r.high)}


def _run(cands: dict[str, Any], workload: Any, traffic: Any, months: int, lp: LoadedPlan, catalog: Any,
         calibrations: list[Any], baseline: str | None) -> dict[str, Any]:
    from tunewise.estimate import Horizon, estimate

    ids = list(cands)
    base = cands[baseline].id if baseline in cands and cands[baseline].kind == "prompting" else None
    ests = estimate([cands[i] for i in ids], workload, traffic,
                    Horizon(months=months, retrains_per_year=lp.plan.retrains_per_year),
                    catalog=catalog, calibrations=calibrations, baseline=base, unavailable="record")
    return dict(zip(ids, ests))


def estimate_all(lp: LoadedPlan, audit: dict[str, Any], pilots: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from tunewise.estimate import Workload
    from tunewise.estimate.assumptions import MFU

    plan = lp.plan
    catalog = load_plan_catalog(lp)
    workload = Workload.from_audit(audit, TOKENIZER)
    traffic, traffic_notes = _traffic(lp, audit)
    cands, unpriced = _candidates(lp)
    calibrations = [p["calibration"] for p in pilots.values()
                    if p.get("status") == "ok" and isinstance(p.get("calibration"), dict)]
    baseline = plan.baseline_id()
    H = plan.horizon_months
    main = _run(cands, workload, traffic, H, lp, catalog, calibrations, baseline) if cands else {}

    # cumulative cost at the end of each month, with bands: the estimator's TCO for horizons 1..H
    sweep = {m: _run(cands, workload, traffic, m, lp, catalog, calibrations, baseline) for m in range(1, H + 1)} \
        if cands else {}
    records: dict[str, Any] = {}
    prices: dict[str, Any] = {}
    for cid, e in main.items():
        rec: dict[str, Any] = {"id": cid, "estimator_id": e.candidate, "kind": e.kind, "status": e.status,
                               "reason": e.reason, "calibrated": e.calibrated,
                               "assumptions": list(e.assumptions), "price_ids": [p.id for p in e.prices],
                               "lifecycle": [f.model_dump(mode="json") for f in e.lifecycle],
                               "new_jobs_until": e.new_jobs_until.isoformat() if e.new_jobs_until else None,
                               "retrains_not_priced": list(e.retrains_not_priced)}
        if e.status == "ok":
            series = [{"month": 0, **_rng(e.train_usd)}]
            series += [{"month": m, **_rng(sweep[m][cid].tco_usd)} for m in range(1, H + 1)]
            peak = max(e.monthly_series_usd) if e.monthly_series_usd else e.monthly_usd.expected
            rec.update(
                training_usd=_rng(e.train_usd), monthly_usd=_rng(e.monthly_usd), tco_usd=_rng(e.tco_usd),
                peak_monthly_usd={"expected": str(peak)},
                monthly_expected_usd=[str(x) for x in e.monthly_series_usd], series=series,
                parts=[{"name": p.name, **_rng(p.usd)} for p in e.parts],
                billed_tokens=_rng(e.billed_tokens), epochs=e.epochs,
                train_gpu_hours=_rng(e.train_gpu_hours), serve_gpu_hours_per_month=_rng(e.serve_gpu_hours_per_month),
                tokens_per_request={k: str(v) for k, v in e.tokens_per_request.items()},
                break_even_month=e.break_even_month, break_even_vs=e.break_even_vs,
                break_even_note=e.break_even_note, rank=e.rank)
        if e.memory is not None:
            rec["memory"] = _json.jsonable(e.memory)
            rec["fits_memory"] = e.memory.fits
        records[cid] = rec
        for p in e.prices:
            prices[p.id] = {"id": p.id, "role": p.role, "usd": str(p.usd), "unit": p.unit,
                            "effective_from": p.effective_from.isoformat(), "checked_on": p.checked_on.isoformat(),
                            "source_url": p.source_url, "confidence": p.confidence, "stale": p.stale,
                            "stale_reason": p.stale_reason, "user": p.user}
    for cid, reason in unpriced.items():
        records[cid] = {"id": cid, "kind": "local", "status": "not-priced", "reason": reason,
                        "assumptions": [], "price_ids": []}

    # sensitivity: the same estimator under changed inputs
    scenarios = []
    if cands:
        from tunewise.estimate import Traffic

        t10 = Traffic(requests_per_month=traffic.requests_per_month * 10, input_tokens=traffic.input_tokens,
                      output_tokens=traffic.output_tokens, growth_pct_per_month=traffic.growth_pct_per_month)
        scenarios.append(("traffic-x10", "traffic ×10", "ten times the planned requests per month",
                          _run(cands, workload, t10, H, lp, catalog, calibrations, baseline)))
        half = replace(catalog, prices=[p.model_copy(update={"usd": p.usd / 2}) for p in catalog.prices])
        scenarios.append(("prices-50", "prices −50%", "every catalog price (API tokens, GPU hours, fees) halved",
                          _run(cands, workload, traffic, H, lp, half, calibrations, baseline)))
        for edge, idx, word in (("mfu-low", 0, "low"), ("mfu-high", 2, "high")):
            alt = {}
            for cid, c in cands.items():
                if c.kind == "selfhost" and c.method in MFU:
                    alt[cid] = c.model_copy(update={"options": {**c.options, "mfu": str(MFU[c.method][idx])}})
                else:
                    alt[cid] = c
            band = ", ".join(f"{m} {v[idx]}" for m, v in MFU.items())
            scenarios.append((edge, f"MFU at {word} edge", f"self-hosted training at the {word} edge of the "
                              f"uncalibrated MFU band ({band}), also overriding any calibration",
                              _run(alt, workload, traffic, H, lp, catalog, calibrations, baseline)))
    sens = []
    for sid, label, desc, res in scenarios:
        figs = {}
        for cid, e in res.items():
            if e.status == "ok":
                peak = max(e.monthly_series_usd) if e.monthly_series_usd else e.monthly_usd.expected
                figs[cid] = {"training_usd": str(e.train_usd.expected), "peak_monthly_usd": str(peak),
                             "tco_usd": str(e.tco_usd.expected)}
        sens.append({"id": sid, "label": label, "description": desc, "candidates": figs})

    assumptions = list(traffic_notes)
    assumptions.append({"name": "prices as of", "value": catalog.as_of.isoformat(), "provenance": "estimated"})
    assumptions.append({"name": "staleness window", "value": f"{catalog.stale_after_days} days",
                        "provenance": "user-given"})
    assumptions.append({"name": "calibrations available", "provenance": "measured",
                        "value": "; ".join(f"{c.get('family')}: {c.get('tokens_per_s')} tokens/s, MFU "
                                           f"{c.get('mfu')} on {c.get('hardware')}" for c in calibrations)
                        or "none (no pilot reported one)"})
    return _json.jsonable({"status": "ok", "as_of": catalog.as_of.isoformat(),
                           "stale_after_days": catalog.stale_after_days, "candidates": records,
                           "findings": lifecycle_findings(main),
                           "prices": dict(sorted(prices.items())), "assumptions": assumptions,
                           "sensitivity": sens, "traffic": {"requests_per_month": str(traffic.requests_per_month),
                                                            "input_tokens": str(traffic.input_tokens),
                                                            "output_tokens": str(traffic.output_tokens),
                                                            "growth_pct_per_month": str(traffic.growth_pct_per_month)}})


def lifecycle_findings(main: dict[str, Any]) -> list[dict[str, str]]:
    """Report findings for offer lifecycles, in the shape of ``narrative.findings`` entries:
    a retired offer (high), the end of new jobs with retrains not priced (high), an end of new jobs
    or a shutdown inside the horizon and access restrictions (medium)."""
    out: list[dict[str, str]] = []
    for cid, e in main.items():
        for f in e.lifecycle:
            src = f"catalog lifecycle ({f.source_url}, checked {f.checked_on})"
            if f.severity == "refused":
                out.append({"severity": "high", "title": f"{cid}: offer not available on the pricing date",
                            "detail": f.text + ". It is not priced.", "source": src})
            elif f.severity == "warning" and not (f.kind == "new-jobs-end" and e.retrains_not_priced):
                out.append({"severity": "medium", "title": f"{cid}: " + {
                    "new-jobs-end": "new fine-tuning jobs end inside the horizon",
                    "shuts-down": "offer shuts down inside the horizon",
                    "restricted": "access restricted", "restriction-ahead": "access restriction ahead",
                }.get(f.kind, f.kind), "detail": f.text + ".", "source": src})
        if e.retrains_not_priced and e.new_jobs_until is not None:
            months = ", ".join(map(str, e.retrains_not_priced))
            out.append({"severity": "high", "title": f"{cid}: retrains impossible after {e.new_jobs_until}",
                        "detail": f"New fine-tuning jobs end on {e.new_jobs_until}; the planned retrains in month(s) "
                                  f"{months} cannot happen and are not priced (the fine-tuned model is costed as "
                                  "kept unchanged).", "source": "catalog lifecycle"})
    return out
