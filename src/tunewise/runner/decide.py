"""From measured quality and estimated cost to a decision: Pareto set, budget fit, break-even, risks.

Inputs are the step results (audit dict, pilot dicts, normalised estimates); nothing is measured or
priced here. Every figure keeps its provenance: ``measured`` (a pilot on this machine), ``estimated``
(the estimator with dated catalog prices) or ``user-given`` (the plan, with its source).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tunewise._money import usd
from tunewise.plan.schema import CLASSIFICATION_METRICS, PROMPTING_LOCAL_METHODS, Plan

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
        checks.append((train <= b.training_usd, f"training {usd(train)} vs budget {usd(b.training_usd)}"))
    if b.monthly_usd is not None:
        peak = D(est.get("peak_monthly_usd", est["monthly_usd"])["expected"])
        checks.append((peak <= b.monthly_usd, f"peak month {usd(peak)} vs budget {usd(b.monthly_usd)}/month"))
    if b.total_usd is not None:
        tco = D(est["tco_usd"]["expected"])
        checks.append((tco <= b.total_usd, f"TCO {usd(tco)} vs budget {usd(b.total_usd)}"))
    if not checks:
        return {"fits": None, "reasons": ["no budget in the plan"]}
    return {"fits": all(ok for ok, _ in checks), "reasons": [("ok: " if ok else "over: ") + t for ok, t in checks]}


def pareto(points: dict[str, tuple[Decimal, float]]) -> set[str]:
    """Ids not dominated: no other point is at most as costly and at least as good, and better in one."""
    out = set()
    for a, (ca, qa) in points.items():
        dominated = any((cb <= ca and qb >= qa) and (cb < ca or qb > qa)
                        for b, (cb, qb) in points.items() if b != a)
        if not dominated:
            out.add(a)
    return out


def _load_predictions(path: str | None) -> dict[str, dict[str, Any]] | None:
    import json
    from pathlib import Path

    if not path or not Path(path).is_file():
        return None
    rows = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                rows[str(r["id"])] = r
    return rows


def paired_scores(plan: Plan, pilots: dict[str, dict[str, Any]], ids: list[str]) -> tuple[Any, list[str]]:
    """Bootstrap scores of the measured candidates on their shared test items (None if fewer than one),
    and notes on what was left out."""
    from tunewise.decision import classification_scores, item_scores

    metric = plan.task.metric
    notes: list[str] = []
    preds: dict[str, dict[str, dict[str, Any]]] = {}
    for cid in ids:
        rows = _load_predictions((pilots.get(cid) or {}).get("predictions"))
        if rows is None:
            notes.append(f"{cid}: its predictions file is missing, so it is not compared item by item")
        else:
            preds[cid] = rows
    if not preds:
        return None, notes
    common = set.intersection(*(set(r) for r in preds.values()))
    largest = max(len(r) for r in preds.values())
    if len(common) < largest:
        notes.append(f"compared on the {len(common)} test items every measured candidate has (of {largest})")
    order = sorted(common)
    if not order:
        return None, notes + ["the measured candidates share no test item"]
    cids = list(preds)
    d = plan.decision
    first = pilots[cids[0]]
    if metric in CLASSIFICATION_METRICS:
        labels = list(first.get("labels") or sorted({preds[cids[0]][i]["gold"] for i in order}))
        gold = [preds[cids[0]][i]["gold"] for i in order]
        return classification_scores(cids, gold, [[preds[c][i].get("prediction") for i in order] for c in cids],
                                     labels, metric, resamples=d.resamples, seed=plan.pilot.seed), notes
    per_item = [[float((preds[c][i].get("scores") or {}).get(metric) or 0.0) for i in order] for c in cids]
    return item_scores(cids, per_item, metric, resamples=d.resamples, seed=plan.pilot.seed), notes


def _trains(c: Any) -> bool:
    """Does the candidate fine-tune a model? (The floor, zero/few-shot and prompting do not.)"""
    if c.kind in ("api-finetune", "selfhost"):
        return True
    return c.kind == "local" and c.method not in PROMPTING_LOCAL_METHODS + ("baseline",)


def _m3(r: dict[str, Any] | None) -> tuple[Decimal, Decimal, Decimal] | None:
    if not r:
        return None
    return D(r["low"]), D(r["expected"]), D(r["high"])


def _measure_cost(plan: Plan, c: Any, est: dict[str, Any] | None, n_test: int | None) -> Decimal | None:
    """What measuring this candidate's quality on the test set would cost: the fine-tune (if any) plus
    n_test requests at its per-request price."""
    if est is None or est.get("status") != "ok" or not n_test:
        return None
    per_request = Decimal(0)
    months = est.get("months") or []
    if c.kind in ("prompting", "api-finetune") and months:
        per_request = D(months[0]["expected"]) / Decimal(plan.traffic.requests_per_month)
    train = D((est.get("training_usd") or {}).get("expected") or 0) if c.kind != "prompting" else Decimal(0)
    return (train + per_request * n_test).quantize(Decimal("0.01"))


def _options(plan: Plan, rows: list[dict[str, Any]], estimates: dict[str, Any], n_test: int | None,
             costs: dict[str, Any] | None = None, pilots: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    from tunewise.decision import Option

    est_c = estimates.get("candidates", {})
    out = []
    for r in rows:
        c = plan.candidate(r["id"])
        est = est_c.get(r["id"])
        fig = (costs or {}).get(r["id"]) if costs is not None else None
        if costs is not None:
            tco = _m3(fig.get("tco_range")) if fig else None
            series = [_m3(x) for x in fig.get("series", [])] if fig else []
            budget = _budget_fit(plan, {"status": "ok", "training_usd": {"expected": fig["training_usd"]},
                                        "monthly_usd": {"expected": fig["peak_monthly_usd"]},
                                        "peak_monthly_usd": {"expected": fig["peak_monthly_usd"]},
                                        "tco_usd": {"expected": fig["tco_usd"]}})["fits"] if fig else None
        else:
            tco = _m3(r["cost"].get("tco_usd")) if r["cost"]["status"] == "ok" else None
            series = [_m3(x) for x in (est or {}).get("series", [])] if tco else []
            budget = r["budget"]["fits"]
        q = r["quality"]
        serving_ok = None
        if c.kind == "local":
            serving_ok = tco is not None
        rec = (pilots or {}).get(r["id"]) or {}
        if rec.get("kind") == "endpoint" and isinstance(rec.get("latency_ms"), dict) and rec["latency_ms"].get("p95"):
            # an endpoint's latency was measured from here: it is held to the objective like a local model
            serving_ok = float(rec["latency_ms"]["p95"]) <= float(estimates.get("latency_objective_ms") or 500)
        out.append(Option(id=r["id"], label=r["label"], trains=_trains(c), quality=q["value"],
                          provenance=q["provenance"], ci=(q.get("ci_low"), q.get("ci_high")) if q.get("ci_low") is not None else None,
                          tco=tco, fits_budget=budget, serving_ok=serving_ok,
                          blocked=None if tco is not None or r["cost"]["status"] in ("ok", "not-priced")
                          else f"{r['cost']['status']}: {r['cost'].get('reason')}",
                          series=series, measure_cost=_measure_cost(plan, c, est, n_test), kind=c.kind))
    return out


def _settings(plan: Plan) -> Any:
    from tunewise.decision import Settings

    return Settings(metric=plan.task.metric, margin=float(plan.decision.equivalence_margin),
                    alpha=float(plan.decision.alpha),
                    target=float(plan.task.target) if plan.task.target is not None else None,
                    baseline=plan.baseline_id())


def decide(plan: Plan, pilots: dict[str, dict[str, Any]], estimates: dict[str, Any],
           labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Candidates with quality, cost, budget fit and Pareto flag; the verdict of ``tunewise.decision``."""
    from tunewise.decision import decide as rule

    est_c = estimates.get("candidates", {})
    baseline = plan.baseline_id()
    rows: list[dict[str, Any]] = []
    for c in plan.candidates:
        est = est_c.get(c.id)
        q = quality_of(plan, c, pilots.get(c.id))
        rows.append({
            "id": c.id, "label": c.label or c.id, "kind": c.kind, "description": describe(c),
            "is_baseline": c.id == baseline, "trains": _trains(c),
            "prompting": c.kind == "prompting" or (c.kind == "local" and c.method in PROMPTING_LOCAL_METHODS),
            "quality": q, "cost": _cost_view(est), "budget": _budget_fit(plan, est),
            "meets_target": None if (q["value"] is None or plan.task.target is None)
            else q["value"] >= float(plan.task.target),
        })
    tco_of = {r["id"]: D(r["cost"]["tco_usd"]["expected"]) for r in rows if r["cost"]["status"] == "ok"}
    pts = {r["id"]: (tco_of[r["id"]], r["quality"]["value"]) for r in rows
           if r["id"] in tco_of and r["quality"]["value"] is not None}
    front = pareto(pts)
    measured = [r["id"] for r in rows if r["quality"]["provenance"] == MEASURED]
    scores, notes = paired_scores(plan, pilots, measured)
    n_test = scores.n if scores is not None else next((p.get("n_test") for p in pilots.values() if p.get("n_test")), None)
    verdict = rule(_options(plan, rows, estimates, n_test, pilots=pilots), scores, _settings(plan))
    verdict["notes"] = notes
    for r in rows:
        r["pareto"] = r["id"] in front
        be = (verdict.get("break_even") or {}).get(r["id"])
        r["break_even"] = be
        r["break_even_month"] = be["expected"] if be and be["claimed"] else None
        r["break_even_note"] = (be["text"] + ("" if be["claimed"] else f" — {be['quality']}")) if be else None
        r["comparison"] = (verdict.get("comparisons") or {}).get(r["id"])
        r["p_best"] = (verdict.get("p_best") or {}).get(r["id"])
        r["in_quality_set"] = r["id"] in (verdict.get("quality_set") or [])
        r["serving"] = (est_c.get(r["id"]) or {}).get("serving")
        r["new_jobs_until"] = (est_c.get(r["id"]) or {}).get("new_jobs_until")
        r["retrains_not_priced"] = (est_c.get(r["id"]) or {}).get("retrains_not_priced") or []
    any_fits = any(r["budget"]["fits"] for r in rows)
    priced = [r for r in rows if r["cost"]["status"] == "ok"]
    budget_finding = None
    if plan.budget.training_usd is not None or plan.budget.monthly_usd is not None or plan.budget.total_usd is not None:
        if priced and not any_fits:
            cheapest = min(priced, key=lambda r: tco_of[r["id"]])
            budget_finding = ("No priced candidate fits the budget. The cheapest is "
                              f"{cheapest['label']} at {usd(tco_of[cheapest['id']])} over "
                              f"{plan.horizon_months} months ({'; '.join(cheapest['budget']['reasons'])}).")
    return {"candidates": rows, "recommended": verdict.get("recommended"), "rule": verdict.get("rule", "none"),
            "verdict": verdict, "baseline": baseline, "pareto": sorted(front), "budget_finding": budget_finding}


def _cost_view(est: dict[str, Any] | None) -> dict[str, Any]:
    if est is None:
        return {"status": "not-priced", "reason": "not estimated", "provenance": None}
    view = {k: est.get(k) for k in ("status", "reason", "training_usd", "monthly_usd", "peak_monthly_usd",
                                      "tco_usd", "calibrated", "calibration_note", "fits_memory")}
    view["provenance"] = ESTIMATED if est.get("status") == "ok" else None
    return view


def sensitivity(plan: Plan, pilots: dict[str, dict[str, Any]], decision: dict[str, Any],
                estimates: dict[str, Any]) -> list[dict[str, Any]]:
    """Per scenario (traffic x10 and /10 with serving re-sized, prices -50%, MFU at its band edges):
    each candidate's TCO, and the decision re-run on it with the same measured quality."""
    from tunewise.decision import decide as rule

    rows = decision["candidates"]
    measured = [r["id"] for r in rows if r["quality"]["provenance"] == MEASURED]
    scores, _ = paired_scores(plan, pilots, measured)
    n_test = decision["verdict"].get("n_test")
    base = decision.get("recommended")
    out = []
    for sc in estimates.get("sensitivity", []):
        figs = sc.get("candidates", {})
        v = rule(_options(plan, rows, estimates, n_test, costs=figs, pilots=pilots), scores, _settings(plan))
        out.append({"id": sc["id"], "label": sc["label"], "description": sc.get("description", ""),
                    "tco_usd": {cid: f["tco_usd"] for cid, f in figs.items()},
                    "serving": {cid: (f.get("serving") or {}).get("chosen", {}).get("label")
                                for cid, f in figs.items() if f.get("serving")},
                    "recommended": v.get("recommended"), "verdict": v.get("verdict"),
                    "changed": v.get("recommended") != base})
    return out
