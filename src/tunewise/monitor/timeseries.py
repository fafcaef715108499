"""Cheap per-bucket series for the dashboard (volume, latency, spend, guardrail blocks, feedback
accuracy), aggregated by the store's database (SQL GROUP BY over time buckets, no request rows loaded;
see ``tunewise.monitor.aggregate``); drift comes from the latest saved `tunewise monitor` report.
``models`` limits the request figures to those model ids (None: every stored request); uptime spend
is the machines', whichever models they served."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tunewise.monitor.analyze import _jsonable
from tunewise.monitor.quality import wilson
from tunewise.monitor.schema import utcnow
from tunewise.monitor.uptime import spend


def dashboard_data(store: Any, *, span: timedelta = timedelta(hours=1), buckets: int = 30,
                   end: datetime | None = None, models: Sequence[str] | None = None) -> dict[str, Any]:
    end = end or utcnow()
    start = end - span
    step = span / buckets
    agg = store.bucket_series(start=start, end=end, buckets=buckets, quantiles=(0.5, 0.95), timings=("latency_ms",),
                              models=models)
    series = []
    for b in agg.buckets:
        lat, n_fb, correct = b.timings["latency_ms"], b.feedback_n, b.feedback_correct
        lo, hi = wilson(correct, n_fb) if n_fb else (None, None)
        series.append({
            "start": b.start, "requests": b.requests, "blocked": b.blocked, "flagged": b.flagged,
            "p50_ms": lat.at(0.5), "p95_ms": lat.at(0.95), "spend_usd": b.spend_usd,
            "feedback_n": n_fb, "accuracy": correct / n_fb if n_fb else None, "accuracy_low": lo, "accuracy_high": hi,
        })
    report = store.latest_report(models=models)
    drift = None
    if report:
        cur = report.get("current", {})
        drift = {"generated_at": report.get("generated_at"),
                 "windows": [{"start": w["start"], "share": w["drift"]["share"], "dataset_drift": w["drift"]["dataset_drift"],
                              "domain_auc": w["drift"]["domain_classifier"].get("statistic")}
                             for w in report.get("windows", [])],
                 "features": cur.get("drift", {}).get("features", []),
                 "embedding": cur.get("drift", {}).get("embedding"),
                 "cbpe": cur.get("quality", {}).get("cbpe")}
    return _jsonable({"generated_at": utcnow(), "span_s": span.total_seconds(), "bucket_s": step.total_seconds(),
                      "series": series, "totals": {"requests": agg.total.requests, "spend_usd": agg.total.spend_usd,
                                                   "uptime_usd": spend(store.uptime_intervals(start=start, end=end))["usd"]},
                      "drift": drift, "plan": _plan_panel(store),
                      "alerts": store.list_alerts(since=end - timedelta(days=1))[-20:]})


def _plan_panel(store: Any) -> dict[str, Any] | None:
    from tunewise.monitor.review import panel

    doc = store.latest_review()
    try:
        return panel(doc) if doc else None
    except (KeyError, TypeError):   # a review saved by another tunewise version
        return None
