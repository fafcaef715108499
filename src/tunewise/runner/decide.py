"""From measured quality and estimated cost to a decision: Pareto set, budget fit, break-even, risks.

Inputs are the step results (audit dict, pilot dicts, normalised estimates); nothing is measured or
priced here. Every figure keeps its provenance: ``measured`` (a pilot on this machine), ``estimated``
(the estimator with dated catalog prices) or ``user-given`` (the plan, with its source).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tunewise.plan.schema import PROMPTING_LOCAL_METHODS, Plan

MEASURED, ESTIMATED, USER = "measured", "estimated", "user-given"


def D(x: Any) -> Decimal | None:  # noqa: N802 - short on purpose
    return None if x is None else Decimal(str(x))


def describe(c: Any) -> str:
    if c.kind == "local":
        return f"local pilot: {c.model} ({c.method})"
    if c.kind == "api-finetune":
        return f"API fine-tune: {c.provider}/{c.model}" + (f", {c.epochs} epochs" if c.epochs else "")
    if c.kind == "selfhost":
        return f"self-hosted {c.method} fine-tune of {c.family} on {c.gpus}x {c.gpu}"
    return f"prompting: {c.provider}/{c.model}, {c.shots}-shot"


def quality_of(plan: Plan, c: Any, pilot: dict[str, Any] | None) -> dict[str, Any]:
    metric = plan.task.metric
    # A measured record counts for any kind: a local pilot, or an endpoint evaluation (tunewise.endpoint) of a
    # prompting / api-finetune candidate, which only has a record in `pilots` when the plan gives it an endpoint.
    if c.kind == "local" or pilot is not None:
        if pilot and pilot.get("status", "ok") == "ok":
            m = (pilot.get("metrics") or {}).get(metric)
            if isinstance(m, dict) and m.get("value") is not None:
                ep = pilot.get("endpoint") if pilot.get("kind") == "endpoint" else None
                where = f"endpoint {ep['model']} at {ep['base_url']}" if ep else "pilot on this machine"
                return {"metric": metric, "value": float(m["value"]), "ci_low": _f(m.get("ci_low")),
                        "ci_high": _f(m.get("ci_high")), "provenance": MEASURED,
                        "source": f"{where}, n={pilot.get('n_test', pilot.get('test_examples', '?'))} held-out examples"}
            return {"metric": metric, "value": None, "provenance": None,
                    "source": f"the pilot did not report {metric}"}
        reason = (pilot or {}).get("reason") or "the pilot did not run"
        return {"metric": metric, "value": None, "provenance": None, "source": reason}
    exp = getattr(c, "expected_score", None)
    if exp is not None:
        return {"metric": metric, "value": float(exp.value), "ci_low": None, "ci_high": None,
                "provenance": USER, "source": exp.source}
    return {"metric": metric, "value": None, "provenance": None,
            "source": "quality unknown: cannot be measured offline and the plan gives no expected score"}


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _budget_fit(plan: Plan, est: dict[str, Any] | None) -> dict[str, Any]:
    b = plan.budget
    if est is None or est.get("status") != "ok":
        return {"fits": None, "reasons": ["cost not estimated"]}
    checks = []
    if b.training_usd is not None:
        train = D(est["training_usd"]["expected"])
        checks.append((train <= b.training_usd, f"training ${_money(train)} vs budget ${_money(b.training_usd)}"))
    if b.monthly_usd is not None:
        peak = D(est.get("peak_monthly_usd", est["monthly_usd"])["expected"])
        checks.append((peak <= b.monthly_usd, f"peak month ${_money(peak)} vs budget ${_money(b.monthly_usd)}/month"))
    if b.total_usd is not None:
        tco = D(est["tco_usd"]["expected"])
        checks.append((tco <= b.total_usd, f"TCO ${_money(tco)} vs budget ${_money(b.total_usd)}"))
    if not checks:
        return {"fits": None, "reasons": ["no budget in the plan"]}
    return {"fits": all(ok for ok, _ in checks), "reasons": [("ok: " if ok else "over: ") + t for ok, t in checks]}


def _money(x: Decimal | None) -> str:
    if x is None:
        return "?"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def pareto(points: dict[str, tuple[Decimal, float]]) -> set[str]:
    """Ids not dominated: no other point is at most as costly and at least as good, and better in one."""
    out = set()
    for a, (ca, qa) in points.items():
        dominated = any((cb <= ca and qb >= qa) and (cb < ca or qb > qa)
                        for b, (cb, qb) in points.items() if b != a)
        if not dominated:
            out.add(a)
    return out


def choose(cands: list[dict[str, Any]], target: float | None, tco_of: dict[str, Decimal]) -> tuple[str | None, str]:
    """The recommendation rule, stated in the report: cheapest TCO among candidates that fit the budget
    and meet the target (known quality); else the best known quality within budget; else none."""
    fit = [c for c in cands if c["budget"]["fits"] is not False and c["id"] in tco_of]
    known = [c for c in fit if c["quality"]["value"] is not None]
    if target is not None:
        good = [c for c in known if c["quality"]["value"] >= target]
        if good:
            best = min(good, key=lambda c: (tco_of[c["id"]], -c["quality"]["value"]))
            return best["id"], "meets-target"
    if known:
        best = max(known, key=lambda c: (c["quality"]["value"], -tco_of[c["id"]]))
        return best["id"], "best-below-target" if target is not None else "best-known"
    return None, "none"


def decide(plan: Plan, pilots: dict[str, dict[str, Any]], estimates: dict[str, Any],
           labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Candidates with quality, cost, budget fit and Pareto flag; the recommendation and why."""
    est_c = estimates.get("candidates", {})
    baseline = plan.baseline_id()
    rows: list[dict[str, Any]] = []
    for c in plan.candidates:
        est = est_c.get(c.id)
        q = quality_of(plan, c, pilots.get(c.id))
        row: dict[str, Any] = {
            "id": c.id, "label": c.label or c.id, "kind": c.kind, "description": describe(c),
            "is_baseline": c.id == baseline,
            "prompting": c.kind == "prompting" or (c.kind == "local" and c.method in PROMPTING_LOCAL_METHODS),
            "quality": q, "cost": _cost_view(est), "budget": _budget_fit(plan, est),
            "meets_target": None if (q["value"] is None or plan.task.target is None)
            else q["value"] >= float(plan.task.target),
        }
        rows.append(row)
    tco_of = {r["id"]: D(r["cost"]["tco_usd"]["expected"]) for r in rows if r["cost"]["status"] == "ok"}
    pts = {r["id"]: (tco_of[r["id"]], r["quality"]["value"]) for r in rows
           if r["id"] in tco_of and r["quality"]["value"] is not None}
    front = pareto(pts)
    for r in rows:
        r["pareto"] = r["id"] in front
        e = est_c.get(r["id"]) or {}
        # the estimator's break-even against the baseline (searched beyond the horizon, says so)
        r["break_even_month"] = e.get("break_even_month") if r["id"] != baseline else None
        r["break_even_note"] = e.get("break_even_note") if r["id"] != baseline else None
    target = float(plan.task.target) if plan.task.target is not None else None
    rec, why = choose(rows, target, tco_of)
    any_fits = any(r["budget"]["fits"] for r in rows)
    priced = [r for r in rows if r["cost"]["status"] == "ok"]
    budget_finding = None
    if plan.budget.training_usd is not None or plan.budget.monthly_usd is not None or plan.budget.total_usd is not None:
        if priced and not any_fits:
            cheapest = min(priced, key=lambda r: tco_of[r["id"]])
            budget_finding = ("No priced candidate fits the budget. The cheapest is "
                              f"{cheapest['label']} at ${_money(tco_of[cheapest['id']])} over "
                              f"{plan.horizon_months} months ({'; '.join(cheapest['budget']['reasons'])}).")
    return {"candidates": rows, "recommended": rec, "rule": why, "baseline": baseline,
            "pareto": sorted(front), "budget_finding": budget_finding}


def _cost_view(est: dict[str, Any] | None) -> dict[str, Any]:
    if est is None:
        return {"status": "not-priced", "reason": "no serving offer in the plan, so no cost is estimated",
                "provenance": None}
    view = {k: est.get(k) for k in ("status", "reason", "training_usd", "monthly_usd", "peak_monthly_usd",
                                      "tco_usd", "calibrated", "calibration_note", "fits_memory")}
    view["provenance"] = ESTIMATED if est.get("status") == "ok" else None
    return view


def sensitivity(plan: Plan, rows: list[dict[str, Any]], estimates: dict[str, Any]) -> list[dict[str, Any]]:
    """Per scenario (traffic x10, prices -50%, MFU at its band edges): each candidate's TCO and
    whether the recommendation would change."""
    out = []
    target = float(plan.task.target) if plan.task.target is not None else None
    base_rec, _ = choose(rows, target, {r["id"]: D(r["cost"]["tco_usd"]["expected"])
                                        for r in rows if r["cost"]["status"] == "ok"})
    for sc in estimates.get("sensitivity", []):
        figs = sc.get("candidates", {})
        tco_of = {cid: D(v["tco_usd"]) for cid, v in figs.items() if v.get("tco_usd") is not None}
        alt_rows = []
        for r in rows:
            v = figs.get(r["id"])
            r2 = dict(r)
            if v is not None and r["cost"]["status"] == "ok":
                scenario_est = {"status": "ok", "training_usd": {"expected": v["training_usd"]},
                            "monthly_usd": {"expected": v["peak_monthly_usd"]},
                            "peak_monthly_usd": {"expected": v["peak_monthly_usd"]},
                            "tco_usd": {"expected": v["tco_usd"]}}
                r2["budget"] = _budget_fit(plan, scenario_est)
            alt_rows.append(r2)
        rec, _ = choose(alt_rows, target, tco_of)
        out.append({"id": sc["id"], "label": sc["label"], "description": sc.get("description", ""),
                    "tco_usd": {cid: str(t) for cid, t in tco_of.items()},
                    "recommended": rec, "changed": rec != base_rec})
    return out
