"""The estimates step: plan candidates -> ``tunewise.estimate`` -> one JSON record for the report.

Thin adapter: the estimator does all the pricing. This module maps plan candidates to estimator
candidates (a local pilot becomes a ``local`` candidate priced from its measured latency, throughput
and training time), derives the traffic from the plan and the audit, passes the pilots' calibrations,
builds the cumulative cost of each month from the estimator's monthly bands, and asks the estimator
again for the sensitivity scenarios (traffic x10 and /10 re-size the serving too).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from tunewise.plan.loader import LoadedPlan
from tunewise.plan.schema import PROMPTING_LOCAL_METHODS
from tunewise import _json
from tunewise.runner.cache import file_digest
from tunewise.runner.checks import LOCAL_CATALOG_MODEL, load_plan_catalog, selfhost_model_ref

TOKENIZER = "o200k_base"


def estimate_inputs(lp: LoadedPlan, audit_key: str, pilots: dict[str, dict[str, Any]],
                    audit: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the estimates depend on: the audit (by its key), traffic, serving objective, horizon,
    prices, candidates, the pilots' calibrations and serving measurements. Not the budget, the target
    or the decision settings: those only change the decision."""
    from tunewise.catalog import bundled_files

    plan = lp.plan
    calibrations = {cid: p.get("calibration") for cid, p in pilots.items()
                    if p.get("status") == "ok" and p.get("calibration")}
    measured = {}
    for c in plan.candidates:
        if c.kind == "local" and (pilots.get(c.id) or {}).get("status") == "ok":
            m = measurement_of(lp, c, pilots[c.id], audit or {})
            measured[c.id] = m.model_dump(mode="json") if m is not None else None
    return {"audit": audit_key, "traffic": plan.traffic, "serving": plan.serving, "horizon": plan.horizon_months,
            "retrains": plan.retrains_per_year, "prices": plan.prices,
            "catalog_file": lp.resolve(plan.prices.catalog_file),
            "catalog": [file_digest(p) for p in bundled_files()],
            "candidates": [c.model_dump(exclude={"label", "note", "expected_score"}) for c in plan.candidates],
            "baseline": plan.baseline_id(), "calibrations": calibrations, "measurements": measured,
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


def latency_objective(plan: Any, audit: dict[str, Any]) -> Decimal:
    """The p95 objective in force: the plan's, else 500 ms for classification and 5 s for generation."""
    task = plan.task.kind or audit.get("task")
    return plan.serving.objective_ms(task)


def measurement_of(lp: LoadedPlan, c: Any, pilot: dict[str, Any], audit: dict[str, Any]) -> Any:
    """The pilot's serving measurement (latency, throughput, threads, memory) and training time, as
    the estimator's LocalMeasurement; None when the pilot did not measure latency."""
    from tunewise.estimate.local import LocalMeasurement
    from tunewise.estimate.serving import ServingMeasurement

    lat = pilot.get("latency_ms") or {}
    by_bs = ((pilot.get("throughput") or {}).get("inference") or {}).get("by_batch_size") or {}
    if not isinstance(lat, dict) or not lat.get("p95") or not by_bs:
        return None
    hw = pilot.get("hardware") or {}
    device = str(hw.get("device") or "cpu")
    threads = int(hw.get("threads") or 1)
    cal = pilot.get("calibration") or {}
    sklearn = c.model == "tfidf-logreg"
    params = int(pilot.get("total_params") or 0)
    # one model process in memory: fp32 weights x1.2 + the torch runtime; a scikit-learn pipeline is small
    memory = Decimal("0.25") if sklearn else (Decimal(params) * 4 * Decimal("1.2") / Decimal(10) ** 9
                                              + Decimal("0.4")).quantize(Decimal("0.01"))
    ml = pilot.get("max_length") or {}
    tokens = int(ml.get("tokens") or 0) if isinstance(ml, dict) else 0
    scale = Decimal(1)
    t = lp.plan.traffic
    mean_in = ((audit.get("tokens") or {}).get(TOKENIZER) or {}).get("input", {}) or {}
    if t.input_tokens_per_request and isinstance(mean_in, dict) and mean_in.get("mean"):
        scale = max(Decimal("0.05"), Decimal(t.input_tokens_per_request) / Decimal(str(mean_in["mean"])))
    gen = pilot.get("task") == "generation"
    hw_name = f"{hw.get('gpu') or hw.get('cpu') or 'this machine'} ({device}, {threads} threads)"
    serving = ServingMeasurement(
        source=f"pilot {c.id} on {hw_name}", device_kind="cuda" if device.startswith("cuda") else "cpu",
        threads=threads, gpu_id=cal.get("gpu_id") if isinstance(cal, dict) else None,
        latency_p95_ms=Decimal(str(lat["p95"])), latency_p50_ms=Decimal(str(lat.get("p50") or lat["p95"])),
        latency_n=lat.get("n"), memory_gb=memory, params=0 if sklearn else params,
        throughput={int(b): Decimal(str(v["examples_per_s"])) for b, v in by_bs.items()
                    if isinstance(v, dict) and v.get("examples_per_s")},
        tokens_per_request=tokens, output_tokens=int(t.output_tokens_per_request or 16) if gen else 0,
        length_scale=scale, cpu_only=sklearn)
    train = pilot.get("training") or {}
    trains = c.method not in PROMPTING_LOCAL_METHODS and isinstance(train, dict) and train.get("seconds") is not None
    splits = ((pilot.get("data") or {}).get("splits") or {})
    return LocalMeasurement(serving=serving,
                            train_seconds=Decimal(str(train["seconds"])) if trains else None,
                            train_examples=int(splits.get("train") or train.get("examples") or 0) if trains else 0,
                            full_examples=int(audit.get("examples") or 0))


def _candidates(lp: LoadedPlan, pilots: dict[str, dict[str, Any]], audit: dict[str, Any]
                ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """plan id -> estimator Candidate, estimator id -> measurement (local pilots), plan id -> why not priced."""
    from tunewise.estimate import Candidate

    out: dict[str, Any] = {}
    measured: dict[str, Any] = {}
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
        else:
            pilot = pilots.get(c.id) or {}
            if pilot.get("status", "ok") != "ok" or not pilot:
                why[c.id] = f"the pilot did not run ({pilot.get('reason') or pilot.get('status') or 'no result'}), " \
                            "so there is no measurement to size its serving from"
                continue
            m = measurement_of(lp, c, pilot, audit)
            if m is None:
                why[c.id] = "the pilot measured no latency or throughput to size its serving from"
                continue
            opts: dict[str, str] = {"pilot": c.id}
            gpu = offer = None
            if c.serve is not None and c.serve.gpu:
                gpu, _, offer = c.serve.gpu.partition("@")
            elif c.serve is not None and c.serve.cpu:
                opts["cpu"] = c.serve.cpu
            cand = Candidate(kind="local", model=c.model if c.model in LOCAL_CATALOG_MODEL or c.model == "tfidf-logreg"
                             else "custom", method=c.method, gpu=gpu, offer=offer, options=opts)
            out[c.id] = cand
            measured[cand.id] = m
    return out, measured, why


def _rng(r: Any) -> dict[str, str] | None:
    return None if r is None else {"low": str(r.low), "expected": str(r.expected), "high": str(r.high)}


def _run(cands: dict[str, Any], workload: Any, traffic: Any, lp: LoadedPlan, catalog: Any,
         calibrations: list[Any], baseline: str | None, measured: dict[str, Any], objective: Decimal) -> dict[str, Any]:
    from tunewise.estimate import Horizon, estimate
    from tunewise.estimate.models import ServingPolicy

    plan = lp.plan
    ids = list(cands)
    base = cands[baseline].id if baseline in cands and cands[baseline].kind == "prompting" else None
    ests = estimate([cands[i] for i in ids], workload, traffic,
                    Horizon(months=plan.horizon_months, retrains_per_year=plan.retrains_per_year),
                    catalog=catalog, calibrations=calibrations, baseline=base, measurements=measured,
                    serving=ServingPolicy(peak_factor=plan.traffic.peak_factor,
                                          latency_p95_ms=objective),
                    unavailable="record")
    return dict(zip(ids, ests))


def cumulative_series(e: Any) -> list[dict[str, str]]:
    """Cumulative cost at the end of months 0..H (training at month 0, retrains when paid), banded."""
    from tunewise.estimate import Range

    train = e.train_usd or Range.zero()
    acc = train
    out = [{"month": 0, **_rng(acc)}]
    for m, month in enumerate(e.month_ranges, 1):
        acc = acc + month + (train if m in e.retrain_months else Range.zero())
        out.append({"month": m, **_rng(acc.q())})
    return out


def _figures(e: Any) -> dict[str, Any]:
    peak = max(e.monthly_series_usd) if e.monthly_series_usd else e.monthly_usd.expected
    return {"training_usd": _json.decimal_text(e.train_usd.expected), "peak_monthly_usd": _json.decimal_text(peak),
            "tco_usd": _json.decimal_text(e.tco_usd.expected), "tco_range": _rng(e.tco_usd),
            "series": cumulative_series(e), "serving": e.serving}


def estimate_all(lp: LoadedPlan, audit: dict[str, Any], pilots: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from tunewise.estimate import Workload
    from tunewise.estimate.assumptions import MFU

    plan = lp.plan
    catalog = load_plan_catalog(lp)
    workload = Workload.from_audit(audit, TOKENIZER)
    traffic, traffic_notes = _traffic(lp, audit)
    cands, measured, unpriced = _candidates(lp, pilots, audit)
    calibrations = [p["calibration"] for p in pilots.values()
                    if p.get("status") == "ok" and isinstance(p.get("calibration"), dict)]
    baseline = plan.baseline_id()
    objective = latency_objective(plan, audit)

    def run(cs: dict[str, Any], tr: Any, cat: Any = catalog) -> dict[str, Any]:
        return _run(cs, workload, tr, lp, cat, calibrations, baseline, measured, objective) if cs else {}

    main = run(cands, traffic)
    records: dict[str, Any] = {}
    prices: dict[str, Any] = {}
    for cid, e in main.items():
        rec: dict[str, Any] = {"id": cid, "estimator_id": e.candidate, "kind": e.kind, "status": e.status,
                               "reason": e.reason, "calibrated": e.calibrated,
                               "assumptions": list(e.assumptions), "price_ids": [p.id for p in e.prices],
                               "lifecycle": [f.as_dict() for f in e.lifecycle],
                               "new_jobs_until": e.new_jobs_until.isoformat() if e.new_jobs_until else None,
                               "retrains_not_priced": list(e.retrains_not_priced)}
        if e.serving is not None:
            rec["serving"] = e.serving
        if e.status == "ok":
            peak = max(e.monthly_series_usd) if e.monthly_series_usd else e.monthly_usd.expected
            series = cumulative_series(e)
            rec.update(
                training_usd=_rng(e.train_usd), monthly_usd=_rng(e.monthly_usd), tco_usd=_rng(e.tco_usd),
                peak_monthly_usd={"expected": _json.decimal_text(peak)},
                monthly_expected_usd=[_json.decimal_text(x) for x in e.monthly_series_usd], series=series,
                months=[_rng(r) for r in e.month_ranges], retrain_months=list(e.retrain_months),
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
            prices[p.id] = {"id": p.id, "role": p.role, "usd": _json.decimal_text(p.usd), "unit": p.unit,
                            "effective_from": p.effective_from.isoformat(), "checked_on": p.checked_on.isoformat(),
                            "source_url": p.source_url, "confidence": p.confidence, "stale": p.stale,
                            "stale_reason": p.stale_reason, "user": p.user}
    for cid, reason in unpriced.items():
        records[cid] = {"id": cid, "kind": "local", "status": "not-priced", "reason": reason,
                        "assumptions": [], "price_ids": []}

    # sensitivity: the same estimator under changed inputs (serving is re-sized for the traffic)
    scenarios = []
    if cands:
        def scaled(k: Decimal) -> Any:
            return traffic.model_copy(update={"requests_per_month": traffic.requests_per_month * k})

        scenarios.append(("traffic-x10", "traffic ×10", "ten times the planned requests per month (serving re-sized)",
                          run(cands, scaled(Decimal(10)))))
        scenarios.append(("traffic-div10", "traffic ÷10", "a tenth of the planned requests per month (serving re-sized)",
                          run(cands, scaled(Decimal("0.1")))))
        half = replace(catalog, prices=[p.model_copy(update={"usd": p.usd / 2}) for p in catalog.prices])
        scenarios.append(("prices-50", "prices −50%", "every catalog price (API tokens, GPU and CPU hours, fees) halved",
                          run(cands, traffic, half)))
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
                              run(alt, traffic)))
    sens = []
    for sid, label, desc, res in scenarios:
        figs = {cid: _figures(e) for cid, e in res.items() if e.status == "ok"}
        sens.append({"id": sid, "label": label, "description": desc, "candidates": figs,
                     "not_priced": {cid: e.reason for cid, e in res.items() if e.status != "ok"}})

    assumptions = list(traffic_notes)
    assumptions.append({"name": "peak hour", "value": f"{plan.traffic.peak_factor}x the mean hourly rate",
                        "provenance": "user-given"})
    assumptions.append({"name": "latency objective", "value": f"p95 <= {objective} ms per request"
                        + ("" if plan.serving.latency_p95_ms is not None else " (the default for this task)"),
                        "provenance": "user-given"})
    assumptions.append({"name": "prices as of", "value": catalog.as_of.isoformat(), "provenance": "estimated"})
    assumptions.append({"name": "staleness window", "value": f"{catalog.stale_after_days} days",
                        "provenance": "user-given"})
    assumptions.append({"name": "calibrations available", "provenance": "measured",
                        "value": "; ".join(f"{c.get('family')}: {c.get('tokens_per_s')} tokens/s, MFU "
                                           f"{c.get('mfu')} on {c.get('hardware')}" for c in calibrations)
                        or "none (no pilot reported one)"})
    return _json.jsonable({"status": "ok", "as_of": catalog.as_of.isoformat(), "latency_objective_ms": str(objective),
                           "stale_after_days": catalog.stale_after_days, "candidates": records,
                           "findings": lifecycle_findings(main),
                           "prices": dict(sorted(prices.items())), "assumptions": assumptions,
                           "sensitivity": sens, "traffic": {"requests_per_month": str(traffic.requests_per_month),
                                                            "input_tokens": str(traffic.input_tokens),
                                                            "output_tokens": str(traffic.output_tokens),
                                                            "growth_pct_per_month": str(traffic.growth_pct_per_month),
                                                            "peak_factor": str(plan.traffic.peak_factor)}})


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
