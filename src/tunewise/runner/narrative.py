"""Plain-language parts of the report: executive summary, findings (risks), what to monitor.

Only restates figures from the step results, each with its provenance; nothing new is computed
beyond picking and wording.
"""

from __future__ import annotations

from typing import Any

from tunewise.plan.schema import Plan
from tunewise._money import usd
from tunewise.runner.decide import D

HIGH, MEDIUM, INFO = "high", "medium", "info"


def _pct(x: float | None) -> str:
    return "unknown" if x is None else f"{x * 100:.1f}%"


def _tok(audit: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    toks = audit.get("tokens") or {}
    if not toks:
        return "", {}
    name = "o200k_base" if "o200k_base" in toks else next(iter(toks))
    return name, toks[name]


def findings(plan: Plan, audit: dict[str, Any], pilots: dict[str, dict[str, Any]],
             decision: dict[str, Any], estimates: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(sev: str, title: str, detail: str, source: str) -> None:
        out.append({"severity": sev, "title": title, "detail": detail, "source": source})

    if decision.get("budget_finding"):
        add(HIGH, "No candidate fits the budget", decision["budget_finding"], "estimated")
    lic = audit.get("license") or {}
    for w in lic.get("warnings", []) or []:
        add(HIGH, "Data license", str(w), "audit")
    pii = {k: v for k, v in (audit.get("pii") or {}).items() if isinstance(v, (int, float)) and v}
    if pii:
        add(MEDIUM, "Personal data in the training set",
            f"{sum(pii.values())} PII hits: " + ", ".join(f"{k} {v}" for k, v in sorted(pii.items()))
            + ". Redact before sending data to an API provider.", "audit (measured)")
    n = audit.get("examples") or 0
    dup = audit.get("duplicates") or {}
    ex, near = _count(dup.get("exact")), _count(dup.get("near"))
    if n and (ex or near):
        add(MEDIUM if (ex + near) / n > 0.01 else INFO, "Duplicates",
            f"{ex} exact and {near} near-duplicate examples out of {n}; duplicates inflate test scores "
            "when they cross the train/test split.", "audit (measured)")
    inv = audit.get("invalid") or []
    if inv:
        add(MEDIUM, "Invalid rows", f"{len(inv)} rows could not be used (first: line "
            f"{inv[0].get('line')}: {inv[0].get('error')}).", "audit (measured)")
    labels = audit.get("labels") or {}
    if len(labels) >= 2:
        counts = [v for v in labels.values() if isinstance(v, (int, float))]
        if counts and min(counts) > 0 and max(counts) / min(counts) > 3:
            add(MEDIUM, "Label imbalance", f"largest/smallest class = {max(counts) / min(counts):.1f}; "
                "prefer macro F1 over accuracy.", "audit (measured)")
    _, tk = _tok(audit)
    over = tk.get("over_limit")
    n_over = _count(over)
    if n_over:
        limit = over.get("limit") if isinstance(over, dict) else None
        src = over.get("limit_source") if isinstance(over, dict) else None
        add(MEDIUM, "Examples over the context limit", f"{n_over} examples exceed the "
            + (f"{limit:,}-token " if isinstance(limit, int) else "") + "limit and would be truncated"
            + (f" ({src})" if src else "") + ".", "audit (measured)")
    target = float(plan.task.target) if plan.task.target is not None else None
    rec = next((c for c in decision["candidates"] if c["id"] == decision.get("recommended")), None)
    if rec is not None:
        q = rec["quality"]
        if q["provenance"] == "user-given":
            add(HIGH, "Recommended on a user-given score", f"{rec['label']}'s score {_pct(q['value'])} comes "
                f"from the plan ({q['source']}), not from a measurement here. Run a pilot or a provider eval "
                "before committing.", "user-given")
        if target is not None and q.get("ci_low") is not None and q["ci_low"] < target <= q["value"]:
            add(MEDIUM, "Target met only at the point estimate", f"{rec['label']} scores {_pct(q['value'])}, "
                f"but the 95% interval reaches down to {_pct(q['ci_low'])}, below the target {_pct(target)}. "
                "A larger test set would settle it.", "measured")
    verdict = decision.get("verdict") or {}
    cheaper = [u for u in verdict.get("unknown_quality", []) if u.get("cheaper_than_recommended")]
    for u in cheaper:
        add(MEDIUM, f"Cheaper but unmeasured: {u['label']}", u["note"] or "", "estimated")
    unknown = [u["label"] for u in verdict.get("unknown_quality", []) if not u.get("cheaper_than_recommended")
               and u.get("provenance") != "user-given"]
    if unknown:
        add(INFO, "Quality unknown for some candidates", ", ".join(unknown) + ": quality not measured here; they "
            "are ranked on cost only and kept out of the decision (measure them with `tunewise eval` or an "
            "endpoint in the plan).", "plan")
    for note in verdict.get("notes", []) or []:
        add(INFO, "Paired comparison", note, "measured")
    for cid, why in (verdict.get("excluded") or {}).items():
        label = next((c["label"] for c in decision["candidates"] if c["id"] == cid), cid)
        add(MEDIUM, f"{label} left out of the decision", why, "estimated")
    for cid, p in pilots.items():
        if p.get("status", "ok") != "ok":
            add(MEDIUM if p.get("status") == "failed" else INFO, f"Pilot {cid} {p.get('status')}",
                p.get("reason", ""), "run")
        note = (p.get("model") or {}).get("note") if isinstance(p.get("model"), dict) else p.get("model_note")
        if note:
            add(INFO, f"Pilot {cid}: model caveat", note, "pilot")
        lc = p.get("learning_curve")
        if isinstance(lc, dict) and (lc.get("target") or {}).get("answer"):
            add(INFO, f"Pilot {cid}: examples needed for {_pct(lc['target']['score'])}",
                lc["target"]["answer"] + " (from the learning curve's refits; the report shows the points "
                "and intervals).", "estimated")
    stale = [pr for pr in estimates.get("prices", {}).values() if pr.get("stale")]
    if stale:
        add(MEDIUM, "Stale prices", f"{len(stale)} prices were checked more than {plan.prices.stale_after_days} "
            "days before the pricing date: " + ", ".join(sorted({p['id'] for p in stale})[:6]), "catalog")
    uncal = [c["label"] for c in decision["candidates"] if c["kind"] == "selfhost"
             and c["cost"].get("status") == "ok" and not c["cost"].get("calibrated")]
    if uncal:
        add(INFO, "Uncalibrated GPU estimates", ", ".join(uncal) + ": no local pilot of the same family, so the "
            "default MFU band is used; published uncalibrated estimates were off by 20-40%.", "estimated")
    for c in decision["candidates"]:
        if c["cost"].get("status") == "does-not-fit":
            add(MEDIUM, f"{c['label']} does not fit", c["cost"].get("reason") or "", "estimated")
        if c["cost"].get("status") == "error":
            add(MEDIUM, f"{c['label']} could not be priced", c["cost"].get("reason") or "", "estimated")
    for name, o in _overlap(pilots).items():
        if o.get("overlapping"):
            add(HIGH if not o.get("removed_from_scoring") else MEDIUM, f"{name.capitalize()} items seen in training",
                f"{o['overlapping']} of {o['examples']} {name} items ({o['share'] * 100:.1f}%) have the same text as a "
                "training example" + ("; they were left out of scoring (data.drop_test_overlap)."
                                      if o.get("removed_from_scoring") else ", so the measured scores are optimistic; "
                                      "set data.drop_test_overlap: true to score without them."), "measured (split)")
    for f in estimates.get("findings", []) or []:  # offer lifecycles: retired, end of new jobs, restrictions
        add(f["severity"], f["title"], f["detail"], f["source"])
    order = {HIGH: 0, MEDIUM: 1, INFO: 2}
    return sorted(out, key=lambda f: order[f["severity"]])


def _overlap(pilots: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The test/validation overlap with training that the pilots' shared split reported."""
    for p in pilots.values():
        split = (p.get("data") or {}).get("split") if isinstance(p.get("data"), dict) else None
        if isinstance(split, dict) and isinstance(split.get("overlap"), dict):
            return {k: v for k, v in split["overlap"].items() if isinstance(v, dict)}
    return {}


def _count(v: Any) -> int:
    if isinstance(v, dict):
        for k in ("count", "examples", "rows", "n"):
            if isinstance(v.get(k), int):
                return v[k]
        return 0
    if isinstance(v, list):
        return len(v)
    return int(v or 0)


def chosen_objective(row: dict[str, Any]) -> str:
    return str(((row.get("serving") or {}).get("latency_objective_ms")) or "?")


def executive_summary(plan: Plan, decision: dict[str, Any], found: list[dict[str, str]],
                      sens: list[dict[str, Any]]) -> dict[str, Any]:
    rows = {c["id"]: c for c in decision["candidates"]}
    verdict = decision.get("verdict") or {}
    rec = rows.get(decision.get("recommended") or "")
    base = rows.get(decision.get("baseline") or "")
    metric = plan.task.metric.replace("_", " ")
    h = plan.horizon_months
    recommendation = verdict.get("headline") or "No recommendation."
    serving = ""
    if rec is None:
        cost = quality = "n/a"
    else:
        c = rec["cost"]
        if c.get("status") == "ok":
            cost = (f"About {usd(D(c['tco_usd']['expected']))} over {h} months (range "
                    f"{usd(D(c['tco_usd']['low']))}–{usd(D(c['tco_usd']['high']))}; estimated): "
                    f"{usd(D(c['training_usd']['expected']))} to train and about "
                    f"{usd(D(c['monthly_usd']['expected']))} in the first month of traffic.")
        else:
            cost = f"Not estimated ({c.get('reason')})."
        be = rec.get("break_even")
        if base is not None and base["id"] != rec["id"] and base["cost"].get("status") == "ok" \
                and c.get("status") == "ok":
            saving = D(base["cost"]["tco_usd"]["expected"]) - D(c["tco_usd"]["expected"])
            word = "less" if saving >= 0 else "more"
            cost += f" That is {usd(abs(saving))} {word} than the prompting baseline {base['label']}"
            if be:
                cost += f" ({be['text']}" + ("" if be["claimed"] else f"; {be['quality']}") + ")."
            else:
                cost += "."
        chosen = ((rec.get("serving") or {}).get("chosen") or {}) if isinstance(rec.get("serving"), dict) else {}
        if chosen.get("feasible"):
            n = chosen["instances"]
            busy = float(chosen["utilisation_peak"]) * 100
            serving = (f"{chosen['label']}: {n['expected']} instance(s) up all month, at most "
                       f"{'under 0.1' if busy < 0.1 else f'{busy:.1f}'}% busy in the peak hour (headroom "
                       f"{float(chosen['headroom']) * 100:.0f}%), predicted p95 {chosen['latency_p95_ms']} ms vs the "
                       f"{chosen_objective(rec)} ms objective; sized from the pilot's measured latency and "
                       "throughput (estimated).")
        q = rec["quality"]
        quality = (f"{metric} {_pct(q['value'])}"
                   + (f" (95% interval {_pct(q.get('ci_low'))}–{_pct(q.get('ci_high'))})" if q.get("ci_low") is not None else "")
                   + f", {q['provenance']}; {q['source']}.")
    changed = [s["label"] for s in sens if s["changed"]]
    robustness = ("The recommendation holds under every sensitivity scenario." if sens and not changed else
                  ("It changes if: " + ", ".join(
                      f"{s['label']} (then {rows[s['recommended']]['label'] if s.get('recommended') in rows else 'none'})"
                      for s in sens if s["changed"]) + "." if changed else ""))
    risks = [f"{f['title']}: {f['detail']}" for f in found if f["severity"] in ("high", "medium")][:4]
    return {"recommendation": recommendation, "verdict": verdict.get("verdict", "none"), "cost": cost,
            "serving": serving, "quality": quality, "robustness": robustness,
            "reasons": verdict.get("reasons", []), "risks": risks,
            "prices_note": "All prices are estimates from a dated catalog; check them with "
            "the provider before you commit money."}


def monitoring(plan: Plan, audit: dict[str, Any], pilots: dict[str, dict[str, Any]],
               decision: dict[str, Any]) -> list[dict[str, str]]:
    rec_id = decision.get("recommended")
    rec = next((c for c in decision["candidates"] if c["id"] == rec_id), None)
    pilot = pilots.get(rec_id or "") or {}
    lat = pilot.get("latency_ms") or {}
    p95 = lat.get("p95") if isinstance(lat, dict) else None
    name, tk = _tok(audit)
    labels = audit.get("labels") or {}
    total = sum(v for v in labels.values() if isinstance(v, (int, float))) or 1
    shares = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(labels.items()) if isinstance(v, (int, float)))
    target = _pct(float(plan.task.target)) if plan.task.target is not None else "the target"
    items = [
        {"what": "Quality on a labelled sample", "why": "the only direct check that the model still works",
         "how": f"label a random sample of live requests every week; {plan.task.metric} with a 95% interval",
         "threshold": f"alert when the interval's upper end falls below {target}"},
        {"what": "Prediction mix", "why": "a shift in predicted labels is the earliest sign of drift",
         "how": f"compare predicted label shares with training ({shares or 'n/a'}): chi-square at alpha 0.05 "
                "(n <= 1000) or PSI", "threshold": "PSI >= 0.1 investigate, >= 0.25 act"},
        {"what": "Input drift", "why": "new topics, languages or formats the model never saw",
         "how": f"token length vs training (p50 {tk.get('p50', '?')}, p95 {tk.get('p95', '?')} {name} tokens); "
                "a TF-IDF domain classifier telling training from live text",
         "threshold": "domain-classifier ROC AUC > 0.55 or KS p < 0.05 on length"},
        {"what": "Confidence / estimated performance", "why": "performance without labels between samples",
         "how": "mean top-class probability and confidence-based performance estimation (assumes no concept drift)",
         "threshold": "estimate outside the reference mean +/- 3 standard errors"},
        {"what": "Latency", "why": "the service level users feel",
         "how": "p50/p95/p99 per hour, warm-up excluded",
         "threshold": (f"p95 above 2x the pilot's measured {p95:.1f} ms (measured on this machine)" if isinstance(p95, (int, float))
                       else "p95 above the agreed service level")},
        {"what": "Spend", "why": "estimates are estimates", "how": "actual monthly bill vs the estimate",
         "threshold": (f"above {usd(D(rec['cost']['monthly_usd']['high']))} in month 1 (the estimate's high end)"
                       if rec and rec["cost"].get("status") == "ok" else "above the monthly budget")},
        {"what": "Personal data and prompt injection in requests", "why": "abuse and leaks",
         "how": "the PII and prompt-injection detectors on every request; log counts, never the text",
         "threshold": "any PII in outputs; injection rate rising week over week"},
    ]
    return items
