"""The decision of a `tunewise run`, recomputed with what the deployment measured.

The plan stored in report.json is re-read with its traffic replaced by the actual requests per month,
tokens per request and peak factor; the same estimator (``runner.estimates.estimate_all``, which sizes
serving from the pilots' measurements) prices every candidate again, and the same decision code
(``runner.decide.decide``) picks again. When feedback measured the served candidate's quality, that
figure (with its interval) replaces the pilot's test-set figure for that candidate; the paired test-set
comparisons between candidates stay those of the pilot. Nothing here reads the store.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError


def plan_of(report: dict[str, Any], run_out: Path) -> Any:
    """The run's plan (``LoadedPlan``) rebuilt from report.json."""
    from pydantic import ValidationError

    from tunewise.plan.loader import LoadedPlan
    from tunewise.plan.schema import Plan

    try:
        plan = Plan.model_validate(report["plan"])
    except (KeyError, ValidationError) as exc:
        raise BadInputError("report.json holds no valid plan", where=str(run_out / "report.json"),
                            why=str(exc).splitlines()[0],
                            fix="Re-run `tunewise run` with this tunewise version to regenerate the report") from None
    plan_file = (report.get("meta") or {}).get("plan_file") or "plan.yaml"
    path = Path(plan_file)
    if not path.is_absolute():
        path = run_out.resolve().parent / path.name
    return LoadedPlan(plan=plan, path=path)


def with_traffic(lp: Any, *, requests_per_month: int, input_tokens: int | None, output_tokens: int | None,
                 peak_factor: Decimal | None) -> Any:
    """The same plan with the actual traffic (month 1, no growth: the review prices the month it saw)."""
    from tunewise.plan.loader import LoadedPlan

    t = lp.plan.traffic
    upd: dict[str, Any] = {"requests_per_month": max(1, int(requests_per_month)), "growth_per_month": Decimal(0)}
    if input_tokens:
        upd["input_tokens_per_request"] = max(1, int(input_tokens))
    if output_tokens:
        upd["output_tokens_per_request"] = max(1, int(output_tokens))
    if peak_factor is not None:
        upd["peak_factor"] = max(Decimal(1), peak_factor)
    plan = lp.plan.model_copy(update={"traffic": t.model_copy(update=upd)})
    return LoadedPlan(plan=plan, path=lp.path)


def with_quality(pilots: dict[str, Any], cid: str, metric: str, measured: dict[str, Any] | None,
                 n: int) -> dict[str, Any]:
    """Pilot records with ``cid``'s headline metric replaced by the feedback measurement."""
    out = copy.deepcopy(pilots)
    if measured is None or cid not in out:
        return out
    rec = out[cid]
    rec.setdefault("metrics", {})[metric] = {"value": measured["value"], "ci_low": measured["ci_low"],
                                             "ci_high": measured["ci_high"], "ci": measured.get("method")}
    rec["n_test"] = n
    return out


def redecide(report: dict[str, Any], run_out: Path, *, requests_per_month: int, input_tokens: int | None,
             output_tokens: int | None, peak_factor: Decimal | None, candidate: str,
             quality: dict[str, Any] | None, quality_n: int) -> dict[str, Any]:
    """Estimates and decision of the run, again, at the actual traffic (and measured quality)."""
    from tunewise.runner.decide import decide
    from tunewise.runner.estimates import estimate_all

    lp = with_traffic(plan_of(report, run_out), requests_per_month=requests_per_month, input_tokens=input_tokens,
                      output_tokens=output_tokens, peak_factor=peak_factor)
    pilots = with_quality(report.get("pilots") or {}, candidate, lp.plan.task.metric, quality, quality_n)
    estimates = estimate_all(lp, report.get("audit") or {}, pilots)
    decision = decide(lp.plan, pilots, estimates)
    return {"plan": lp.plan, "estimates": estimates, "decision": decision}


def monthly(estimates: dict[str, Any], cid: str) -> Decimal | None:
    """Month 1's expected cost of a candidate (training excluded), or None if not priced."""
    e = (estimates.get("candidates") or {}).get(cid) or {}
    if e.get("status") != "ok":
        return None
    months = e.get("months") or []
    return Decimal(months[0]["expected"]) if months else Decimal(e["monthly_usd"]["expected"])


def serving_of(estimates: dict[str, Any], cid: str) -> dict[str, Any] | None:
    """The sized offer of a served candidate: label, instances, hourly price, utilisation."""
    e = (estimates.get("candidates") or {}).get(cid) or {}
    chosen = (e.get("serving") or {}).get("chosen")
    if not chosen:
        return None
    price = (estimates.get("prices") or {}).get(chosen.get("offer")) or {}
    n = (chosen.get("instances") or {}).get("expected")
    monthly = (chosen.get("monthly_usd") or {}).get("expected")
    # the effective hourly price of one instance as the plan billed it: all its GPUs, any monthly cap
    hourly = (Decimal(monthly) / Decimal(n) / Decimal(730)).quantize(Decimal("1e-8")) if monthly and n and Decimal(n) \
        else (Decimal(price["usd"]) if price.get("usd") else None)
    return {"offer": chosen.get("offer"), "label": chosen.get("label"), "instances": n,
            "usd_per_hour": hourly, "list_usd_per_hour": Decimal(price["usd"]) if price.get("usd") else None,
            "unit": price.get("unit"),
            "utilisation_peak": chosen.get("utilisation_peak"), "latency_p95_ms": chosen.get("latency_p95_ms"),
            "feasible": chosen.get("feasible"),
            "monthly_cap": any("capped" in n for n in chosen.get("notes") or [])}
