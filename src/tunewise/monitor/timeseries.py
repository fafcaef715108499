"""Cheap per-bucket series for the dashboard (volume, latency, spend, guardrail blocks, feedback
accuracy) straight from the store; drift comes from the latest saved `tunewise monitor` report."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tunewise.monitor.analyze import _jsonable, percentiles
from tunewise.monitor.quality import wilson
from tunewise.monitor.schema import utcnow


def dashboard_data(store: Any, *, span: timedelta = timedelta(hours=1), buckets: int = 30,
                   end: datetime | None = None) -> dict[str, Any]:
    end = end or utcnow()
    start = end - span
    step = span / buckets
    rows = store.fetch_requests(start=start, end=end)
    series = []
    for i in range(buckets):
        b0, b1 = start + i * step, start + (i + 1) * step
        part = [r for r in rows if b0 <= r["ts"] < b1]
        served = [r for r in part if r["status"] == 200]
        lat = percentiles([r["latency_ms"] for r in served])
        fb = [r for r in served if r.get("feedback_label") is not None]
        correct = sum(r["feedback_label"] == r["output"] for r in fb)
        lo, hi = wilson(correct, len(fb)) if fb else (None, None)
        series.append({
            "start": b0, "requests": len(part), "blocked": sum(r["guard_action"] == "block" for r in part),
            "flagged": sum(r["guard_action"] == "flag" for r in part),
            "p50_ms": lat["p50"], "p95_ms": lat["p95"],
            "spend_usd": sum((r["cost_usd"] for r in part), Decimal(0)),
            "feedback_n": len(fb), "accuracy": correct / len(fb) if fb else None, "accuracy_low": lo, "accuracy_high": hi,
        })
    report = store.latest_report()
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
                      "series": series, "totals": {"requests": len(rows),
                                                   "spend_usd": sum((r["cost_usd"] for r in rows), Decimal(0))},
                      "drift": drift, "alerts": store.list_alerts(since=end - timedelta(days=1))[-20:]})
