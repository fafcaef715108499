"""`tunewise review`: is the deployed candidate still paying off? Planned vs actual, and the decision
recomputed with the actuals.

Actuals come from the store for the window ``[end - window, end)``:

* **requests per month** = requests seen / hours the service was up in the window x 730, with an
  exact 95% Poisson (Garwood) interval on the count. "Up" is the union of the replicas' uptime
  intervals; a store without uptime rows falls back to the window from its first request.
* tokens in / out per request, the **peak hour** (busiest whole hour / mean hourly rate; fewer than
  two observed hours keep the plan's peak factor), latency p95 vs the objective;
* **spend**: instance-hours x the hourly price of the offer the plan sized (self-hosted), the
  per-request allocation beside it, both per month; API candidates are priced per token by the
  estimator at the actual token mix;
* **quality** on feedback (95% CI) and the label-free estimate, vs the pilot's test-set figure; drift.

Request figures are the served candidate's alone (the store's rows of its ``scope.served_names``, or
the ids given): other runs served into the same store do not mix in. Uptime is the machines' and is not
split; the spend says so when its uptime rows name other models too.

Then ``redecide`` prices every candidate of the run again at the actual traffic and re-runs the
decision, and the verdict says whether the served candidate is still the one to run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError

SCHEMA_VERSION = 1
HOURS_PER_MONTH = Decimal(730)
STILL, CHEAPER, QUALITY, OTHER = "still the right choice", "cheaper option now", "quality below target", "switch"
MIN_FEEDBACK = 30           # feedback labels below which the measured quality does not replace the pilot's


def load_report(run_out: Path) -> dict[str, Any]:
    path = Path(run_out) / "report.json"
    if not Path(run_out).is_dir():
        raise BadInputError(f"run output directory not found: {run_out}", where="RUN_OUT",
                            fix="Pass the --out directory of a finished `tunewise run`")
    if not path.is_file():
        raise BadInputError(f"no report.json in {run_out}", where=str(path),
                            why="RUN_OUT must be the output of `tunewise run` (it writes report.json)",
                            fix="Pass the --out directory of a finished `tunewise run`, or run the plan first")
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError("report.json is not valid JSON", where=str(path), why=str(exc),
                            fix="Re-run `tunewise run` to regenerate it") from None
    if not isinstance(rep, dict) or "decision" not in rep or "estimates" not in rep:
        raise BadInputError("report.json has no decision or estimates", where=str(path),
                            fix="Re-run `tunewise run` with this tunewise version")
    return rep


def check_candidate(report: dict[str, Any], cid: str) -> dict[str, Any]:
    from tunewise.errors import did_you_mean

    rows = {c["id"]: c for c in report["decision"].get("candidates", [])}
    if cid not in rows:
        raise BadInputError(f"unknown candidate '{cid}'", where="--candidate",
                            fix=did_you_mean(cid, list(rows)) if rows else "The report lists no candidates")
    return rows[cid]


def garwood(k: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean given ``k`` events."""
    from scipy.stats import chi2

    lo = 0.0 if k == 0 else float(chi2.ppf(alpha / 2, 2 * k)) / 2
    hi = float(chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return lo, hi


def exposure(store: Any, start: datetime, end: datetime, *,
             models: Sequence[str] | None = None) -> tuple[Decimal, str]:
    """Hours the service was up in ``[start, end)`` and how that was found (without uptime rows: from the
    first stored request of ``models``)."""
    from tunewise.monitor.uptime import _union, hours

    spans = _union([(i.start, i.end) for i in store.uptime_intervals(start=start, end=end)])
    if spans:
        return sum((hours(b - a) for a, b in spans), Decimal(0)), "uptime rows (union of replica intervals)"
    rng = store.time_range(models=models)
    if rng is None:
        return hours(end - start), "the whole window (no uptime rows, no requests)"
    first = max(start, rng[0])
    return max(hours(end - first), Decimal("0.000001")), "from the first stored request (no uptime rows)"


def peak_hour(store: Any, start: datetime, end: datetime, up_hours: Decimal, *,
              models: Sequence[str] | None = None) -> dict[str, Any]:
    whole = int((end - start).total_seconds() // 3600)
    if up_hours < 2 or whole < 2:
        return {"per_hour": None, "factor": None,
                "note": "fewer than two hours observed: the plan's peak factor is kept"}
    whole = min(whole, 24 * 92)
    s = store.bucket_series(start=end - timedelta(hours=whole), end=end, buckets=whole, models=models)
    counts = [b.requests for b in s.buckets]
    mean = sum(counts) / float(up_hours) if up_hours else 0.0
    peak = max(counts) if counts else 0
    return {"per_hour": peak, "factor": round(peak / mean, 3) if mean else None,
            "note": f"busiest of {whole} whole hours / the mean hourly rate while up"}


def _q(metric: dict[str, Any] | None) -> dict[str, Any] | None:
    if not metric:
        return None
    return {k: metric.get(k) for k in ("value", "ci_low", "ci_high", "method")}


def actuals(store: Any, run_out: Path, report: dict[str, Any], cid: str, start: datetime, end: datetime,
            *, drift: bool = True, models: Sequence[str] | None = None) -> dict[str, Any]:
    """The actual figures of ``cid`` from the requests of ``models`` (default: its pilot's served names)."""
    from tunewise.monitor.analyze import operational_summary, quality_summary
    from tunewise.monitor.scope import served_names
    from tunewise.monitor.uptime import spend

    models = list(models) if models is not None else served_names(Path(run_out) / "pilots" / cid)
    ops = operational_summary(store, start, end, models=models)
    n = ops["volume"]["requests"]
    served = ops["volume"]["served"]
    up_h, how = exposure(store, start, end, models=models)
    per_month = float(n / up_h * HOURS_PER_MONTH) if up_h else 0.0
    lo, hi = garwood(n)
    scale = float(HOURS_PER_MONTH / up_h) if up_h else 0.0
    tok_in = ops["tokens"]["input"] / served if served else None
    tok_out = ops["tokens"]["output"] / served if served else None
    from tunewise.monitor.redecide import serving_of

    sized = serving_of(report["estimates"], cid)
    planned_price = sized["usd_per_hour"] if sized else None
    ivals = store.uptime_intervals(start=start, end=end)
    up_spend = spend(ivals, usd_per_hour=planned_price)
    up_month = (up_spend["usd"] / up_h * HOURS_PER_MONTH).quantize(Decimal("0.01")) if up_h and ivals else None
    req_usd = ops["spend_usd"]["total"]
    req_month = (req_usd / up_h * HOURS_PER_MONTH).quantize(Decimal("0.01")) if up_h else None
    pilot = (report.get("pilots") or {}).get(cid) or {}
    labels = list(pilot.get("labels") or []) or None
    rows = store.fetch_requests(start=start, end=end, models=models)
    from tunewise.monitor.quality import load_calibration

    pilot_dir = Path(run_out) / "pilots" / cid
    quality = quality_summary(rows, labels=labels,
                              calibration=load_calibration(pilot_dir) if pilot_dir.is_dir() else None)
    doc: dict[str, Any] = {
        "requests": {"count": n, "served": served, "up_hours": up_h.quantize(Decimal("0.000001")), "up_from": how,
                     "per_month": round(per_month, 1), "per_month_low": round(lo * scale, 1),
                     "per_month_high": round(hi * scale, 1),
                     "interval": "exact Poisson (Garwood) 95% on the count, scaled to 730 h"},
        "tokens_per_request": {"input": None if tok_in is None else round(tok_in, 2),
                               "output": None if tok_out is None else round(tok_out, 2)},
        "peak_hour": peak_hour(store, start, end, up_h, models=models),
        "latency_ms": ops["latency_ms"],
        "spend": {"uptime_window_usd": up_spend["usd"], "instance_hours": up_spend["instance_hours"],
                  "instances": len(up_spend["instances"]), "uptime_per_month_usd": up_month,
                  "uptime_price": (f"{sized['label']} at ${planned_price}/h per instance (the offer the plan "
                                   "sized, as it billed it: all its GPUs, any monthly cap)"
                                   if planned_price is not None else up_spend["price"]),
                  "per_request_window_usd": req_usd, "per_request_per_month_usd": req_month,
                  "note": "uptime spend is what the machines cost; per-request spend allocates compute seconds"},
        "quality": quality,
        "drift": None,
    }
    on_machines = sorted({m for iv in ivals for m in iv.models})
    if any(m not in models for m in on_machines):
        doc["spend"]["shared_note"] = (
            f"the machines' cost is shared by the models served with them ({', '.join(on_machines)}, from the "
            "uptime rows): the uptime spend is the whole machines' cost, not split between those models")
    run_dir = Path(run_out) / "pilots" / cid
    if drift and (run_dir / "COMPLETE").exists() and (run_dir / "reference.jsonl").exists() and served:
        from tunewise.monitor.analyze import run_monitor

        mon = run_monitor(run_dir, store, window=end - start, windows=1, end=end, embeddings=False, save=False,
                          models=models)
        d = mon["current"]["drift"]
        doc["drift"] = {"dataset_drift": d.get("dataset_drift"), "features_drifted": d.get("features_drifted"),
                        "features_tested": d.get("features_tested"),
                        "domain_auc": (d.get("domain_classifier") or {}).get("statistic")}
    return doc


def _d(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def verdict(report: dict[str, Any], cid: str, act: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The review's verdict from the planned figures, the actuals and the recomputed decision."""
    from tunewise._money import usd
    from tunewise.monitor.redecide import monthly, serving_of

    plan, est0, est1 = new["plan"], report["estimates"], new["estimates"]
    metric, target = plan.task.metric, plan.task.target
    reasons: list[str] = []
    fb = (act["quality"].get("feedback") or {})
    fbm = fb.get(metric) if metric in ("accuracy", "macro_f1") else None
    if fbm and target is not None and fb.get("n", 0) >= MIN_FEEDBACK and fbm["ci_high"] < float(target):
        kind = QUALITY
        reasons.append(f"{metric} on {fb['n']} feedback labels is {fbm['value']:.3f} (95% CI {fbm['ci_low']:.3f}-"
                       f"{fbm['ci_high']:.3f}), all of it below the target {float(target):.3f}: retrain or switch")
    else:
        kind = STILL
    rec = new["decision"].get("recommended")
    cur_m, rec_m = monthly(est1, cid), monthly(est1, rec) if rec else None
    alt = None
    if kind == STILL and rec and rec != cid:
        if cur_m is not None and rec_m is not None and rec_m < cur_m:
            kind, alt = CHEAPER, {"id": rec, "saves_per_month_usd": (cur_m - rec_m).quantize(Decimal("0.01"))}
            reasons.append(f"at the actual traffic the decision picks {rec}: {usd(rec_m)}/month vs "
                           f"{usd(cur_m)}/month for {cid} (saves {usd(cur_m - rec_m)}/month)")
        else:
            kind, alt = OTHER, {"id": rec, "saves_per_month_usd": None}
            reasons.append(f"at the actual traffic the decision picks {rec} instead of {cid}: "
                           + (new["decision"]["verdict"].get("headline") or ""))
    if act["requests"]["count"] == 0:
        reasons.append("no request was stored in the window: the actual figures are empty; check --db and --window")
    dr = act.get("drift") or {}
    if dr.get("dataset_drift") or (dr.get("domain_auc") or 0) > 0.8:
        feats = ", ".join(dr.get("features_drifted") or []) or "none"
        reasons.append(f"the inputs drifted from the training data (features: {feats}; domain AUC "
                       f"{dr.get('domain_auc') or 0:.2f}): label a sample to check the quality")
    if kind == STILL:
        reasons.append(f"at the actual traffic the decision still picks {cid}"
                       + (f" ({usd(cur_m)}/month)" if cur_m is not None else ""))
    planned_n = _d((est0.get("traffic") or {}).get("requests_per_month"))
    r = act["requests"]
    if planned_n:
        reasons.append(f"traffic: {r['per_month']:,.0f} requests/month (95% {r['per_month_low']:,.0f}-"
                       f"{r['per_month_high']:,.0f}) vs {planned_n:,.0f} planned (x{r['per_month'] / float(planned_n):,.1f})")
    s0, s1 = serving_of(est0, cid), serving_of(est1, cid)
    if s0 and s1:
        same = s0["offer"] == s1["offer"] and s0["instances"] == s1["instances"]
        reasons.append(f"serving {cid}: {s1['instances']}x {s1['label']} at {float(s1['utilisation_peak'] or 0):.1%} "
                       f"busy in the peak hour" + (" (as planned)" if same else
                                                    f" (planned: {s0['instances']}x {s0['label']})"))
    headline = {STILL: STILL, QUALITY: "quality below target: retrain or switch",
                CHEAPER: f"cheaper option now: {alt['id']} (saves {usd(alt['saves_per_month_usd'])}/month)"
                if alt else CHEAPER, OTHER: f"switch: the decision now picks {alt['id']}" if alt else OTHER}[kind]
    changes = []
    for c in new["decision"]["candidates"]:
        a, b = monthly(est0, c["id"]), monthly(est1, c["id"])
        if a is not None and b is not None and a != b:
            changes.append({"candidate": c["id"], "monthly_planned_usd": a, "monthly_actual_usd": b,
                            "ratio": float(b / a) if a else None})
    return {"kind": kind, "headline": headline, "changed": kind != STILL, "alternative": alt,
            "recommended_planned": report["decision"].get("recommended"), "recommended_now": rec,
            "reasons": reasons, "cost_changes": changes}


def run_review(run_out: Path, store: Any, *, candidate: str, window: timedelta, end: datetime | None = None,
               drift: bool = True, save: bool = True, models: Sequence[str] | None = None) -> dict[str, Any]:
    """The review document; saved to the store (``reviews``) unless ``save`` is False, so the
    dashboard's plan-vs-actual panel shows the latest. Only the requests of ``models`` are read
    (default: ``scope.served_names`` of the candidate's pilot, ``RUN_OUT/pilots/ID``)."""
    from tunewise.monitor.analyze import _jsonable
    from tunewise.monitor.redecide import monthly, redecide, serving_of
    from tunewise.monitor.schema import utcnow
    from tunewise.monitor.scope import served_names

    run_out = Path(run_out)
    report = load_report(run_out)
    row = check_candidate(report, candidate)
    end = end or utcnow()
    start = end - window
    models = list(models) if models is not None else served_names(run_out / "pilots" / candidate)
    act = actuals(store, run_out, report, candidate, start, end, drift=drift, models=models)
    plan_t = report["estimates"].get("traffic") or {}
    metric = (report["plan"].get("task") or {}).get("metric")
    fb = act["quality"].get("feedback") or {}
    measured = fb.get(metric) if fb.get("n", 0) >= MIN_FEEDBACK else None
    peak = act["peak_hour"]["factor"]
    new = redecide(report, run_out, requests_per_month=max(1, round(act["requests"]["per_month"])),
                   input_tokens=round(act["tokens_per_request"]["input"]) if act["tokens_per_request"]["input"] else None,
                   output_tokens=round(act["tokens_per_request"]["output"]) if act["tokens_per_request"]["output"] else None,
                   peak_factor=Decimal(str(peak)) if peak else None, candidate=candidate,
                   quality=measured, quality_n=fb.get("n", 0))
    objective = _d(report["estimates"].get("latency_objective_ms"))
    p95 = act["latency_ms"].get("p95")
    est0 = report["estimates"]
    planned = {
        "requests_per_month": _d(plan_t.get("requests_per_month")),
        "tokens_per_request": {"input": _d(plan_t.get("input_tokens")), "output": _d(plan_t.get("output_tokens"))},
        "peak_factor": _d(plan_t.get("peak_factor")),
        "latency_p95_objective_ms": objective,
        "monthly_usd": monthly(est0, candidate),
        "serving": serving_of(est0, candidate),
        "quality": {"metric": metric, **(row.get("quality") or {})},
        "pilot_accuracy": ((((report.get("pilots") or {}).get(candidate) or {}).get("metrics") or {})
                           .get("accuracy") or {}).get("value"),
    }
    ratio = (act["requests"]["per_month"] / float(planned["requests_per_month"])
             if planned["requests_per_month"] else None)
    doc = {
        "schema_version": SCHEMA_VERSION, "generated_at": utcnow(), "run_out": str(run_out), "candidate": candidate,
        "models": models, "store": _safe(store.url),
        "window": {"start": start, "end": end, "length_s": window.total_seconds()},
        "planned": planned, "actual": act,
        "traffic_ratio": None if ratio is None else round(ratio, 3),
        "latency_ok": None if (p95 is None or objective is None) else p95 <= float(objective),
        "recomputed": {"monthly_usd": {c["id"]: monthly(new["estimates"], c["id"]) for c in new["decision"]["candidates"]},
                       "serving": serving_of(new["estimates"], candidate),
                       "recommended": new["decision"].get("recommended"),
                       "headline": new["decision"]["verdict"].get("headline"),
                       "quality_source": (f"feedback on {fb['n']} served requests" if measured
                                          else "the pilot's test set (fewer than "
                                               f"{MIN_FEEDBACK} feedback labels)")},
        "verdict": verdict(report, candidate, act, new),
    }
    doc = _jsonable(doc)
    if save:
        store.save_review(doc, candidate=candidate, verdict=doc["verdict"]["kind"], window_start=start,
                          window_end=end)
    return doc


def _safe(url: str) -> str:
    from tunewise.monitor.store import safe_url

    return safe_url(url)


def panel(doc: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's "plan vs actual" panel from a saved review: rows of (what, planned, actual) text."""
    from tunewise._money import usd

    def num(v: Any, d: int = 0) -> str:
        return "–" if v is None else f"{float(v):,.{d}f}"

    p, a, v = doc["planned"], doc["actual"], doc["verdict"]
    r, sp = a["requests"], a["spend"]
    fb = a["quality"].get("feedback") or {}
    metric = (p.get("quality") or {}).get("metric")
    fq = fb.get(metric) if fb.get("n") else None
    rows = [["requests / month", num(p["requests_per_month"]),
             f"{num(r['per_month'])} [{num(r['per_month_low'])}, {num(r['per_month_high'])}]"],
            ["input tokens / request", num(p["tokens_per_request"]["input"]), num(a["tokens_per_request"]["input"], 1)],
            ["latency p95 (ms)", f"≤ {num(p['latency_p95_objective_ms'])}", num(a["latency_ms"].get("p95"), 1)],
            ["spend / month", usd(p["monthly_usd"]), f"{usd(sp['uptime_per_month_usd'])} uptime, "
                                                     f"{usd(sp['per_request_per_month_usd'])} compute time"],
            [f"quality ({metric})", num((p.get("quality") or {}).get("value"), 3),
             f"{fq['value']:.3f} [{fq['ci_low']:.3f}, {fq['ci_high']:.3f}], n={fb['n']}" if fq else "no feedback"]]
    return {"generated_at": doc.get("generated_at"), "candidate": doc.get("candidate"),
            "window": doc.get("window"), "headline": v["headline"], "changed": v["changed"],
            "reasons": v["reasons"], "rows": rows}
