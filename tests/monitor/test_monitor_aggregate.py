"""The store's SQL aggregates against a straightforward Python computation over the same rows, on
SQLite and on PostgreSQL (the `store` fixture is parametrized).

Percentiles: the store's definition is numpy's default linear method (= Postgres percentile_cont); the
Python reference here is `percentiles` below (numpy), compared within a relative
1e-9 (floating-point rounding of the interpolation; a wrong rank is off by far more). Counts and money
are compared exactly, money also by its string (what the JSON carries).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

import pytest

from tunewise.monitor.analyze import operational_summary
from tunewise.monitor.quality import wilson
from tunewise.monitor.timeseries import dashboard_data

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def percentiles(values: list[float]) -> dict[str, Any]:
    """The in-Python reference for the store's SQL percentiles (numpy's linear method)."""
    import numpy as np

    if not values:
        return {"n": 0, "p50": None, "p90": None, "p95": None, "p99": None, "mean": None}
    a = np.asarray(values, dtype=float)
    p = np.percentile(a, [50, 90, 95, 99])
    return {"n": len(a), "p50": float(p[0]), "p90": float(p[1]), "p95": float(p[2]), "p99": float(p[3]),
            "mean": float(a.mean())}
SPAN = timedelta(hours=2)
GAP = (2400.0, 3600.0)      # seconds after T0 with no traffic at all: empty buckets
N = 3000
REL = 1e-9


def _cost(rng: random.Random) -> Decimal:
    kind = rng.random()
    if kind < 0.8:
        return Decimal(rng.randint(0, 10**7)).scaleb(-12)     # what `tunewise serve` writes (1e-12 quantum)
    if kind < 0.95:
        return Decimal(rng.randint(1, 999)).scaleb(-15)       # a finer price
    return Decimal(rng.randint(1, 300)).scaleb(-2)            # whole cents


def synth(n: int = N, seed: int = 11) -> tuple[list[dict[str, Any]], list[tuple[str, str | None, str | None]]]:
    """Requests over SPAN (none in GAP, some exactly on 4-minute edges, one 2 us before T0 + SPAN, one at
    T0 + SPAN: outside the window) and feedback events (request id, label, target) in the order they are sent."""
    rng = random.Random(seed)
    stamps = [T0 + timedelta(minutes=4 * k) for k in range(0, 10)] + [T0 + SPAN - timedelta(microseconds=2), T0 + SPAN]
    while len(stamps) < n:
        off = rng.uniform(0, SPAN.total_seconds())
        if not GAP[0] <= off < GAP[1]:
            stamps.append(T0 + timedelta(microseconds=round(off * 1e6)))
    rows = []
    for i, ts in enumerate(stamps):
        status = 200 if rng.random() < 0.88 else 400
        action = "block" if status == 400 else ("flag" if rng.random() < 0.2 else "allow")
        decisions = [{"stage": "input", "rule": r, "action": "flag", "detail": ""}
                     for r in rng.sample(["pii.email", "pii.phone", "injection.override"], rng.randint(0, 2))]
        rows.append({
            "id": f"req-{i:05d}", "ts": ts, "key_id": "k1", "endpoint": "classify", "status": status, "item": 0,
            "input_redacted": f"text {i}", "output": rng.choice(["fresh", "rotten"]) if status == 200 else None,
            "scores": None, "confidence": None, "text_chars": 10, "tokens_in": rng.randint(3, 60),
            "tokens_out": rng.randint(0, 5), "model": "m" if i % 4 else "m2",   # two served runs, one store
            # ties on purpose (every 7th latency is 25.0 ms): ranks, not values, decide the percentile
            "latency_ms": 25.0 if i % 7 == 0 else round(rng.lognormvariate(3.2, 0.7), 3),
            "model_ms": round(rng.uniform(0.5, 40.0), 4), "cost_usd": _cost(rng),
            "guard_action": action, "guard_decisions": decisions})
    events: list[tuple[str, str | None, str | None]] = []
    for r in rng.sample(rows, min(700, len(rows))):
        events.append((r["id"], rng.choice(["fresh", "rotten"]), None))
        roll = rng.random()
        if roll < 0.2:
            events.append((r["id"], rng.choice(["fresh", "rotten"]), None))   # a correction: the latest counts
        elif roll < 0.3:
            events.append((r["id"], None, "a target, no label"))              # latest has no label: not counted
    return rows, events


@pytest.fixture
def filled(store):
    rows, events = synth()
    store.insert_requests(rows)
    from tunewise.monitor.schema import feedback

    with store.engine.begin() as conn:   # feedback rows as add_feedback writes them, in one transaction
        conn.execute(feedback.insert(), [{"request_id": rid, "ts": T0 + SPAN, "key_id": "k1", "label": label,
                                          "target": target} for rid, label, target in events])
    latest: dict[str, str | None] = {}
    for rid, label, _ in events:
        latest[rid] = label
    for r in rows:
        r["feedback_label"] = latest.get(r["id"])
    return store, rows


# ---- the Python reference ------------------------------------------------------------------------
def py_bucket(rows: list[dict[str, Any]], b0: datetime, b1: datetime) -> dict[str, Any]:
    part = [r for r in rows if b0 <= r["ts"] < b1]
    served = [r for r in part if r["status"] == 200]
    fb = [r for r in served if r["feedback_label"] is not None]
    return {"requests": len(part), "served": len(served),
            "blocked": sum(r["guard_action"] == "block" for r in part),
            "flagged": sum(r["guard_action"] == "flag" for r in part),
            "spend_usd": sum((r["cost_usd"] for r in part), Decimal(0)),
            "tokens_in": sum(r["tokens_in"] for r in part), "tokens_out": sum(r["tokens_out"] for r in part),
            "feedback_n": len(fb), "feedback_correct": sum(r["feedback_label"] == r["output"] for r in fb),
            "latency_ms": percentiles([r["latency_ms"] for r in served]),
            "model_ms": percentiles([r["model_ms"] for r in served])}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=REL)


def assert_bucket(got: Any, want: dict[str, Any], timings: tuple[str, ...]) -> None:
    for name in ("requests", "served", "blocked", "flagged", "tokens_in", "tokens_out", "feedback_n",
                 "feedback_correct"):
        assert getattr(got, name) == want[name], (name, got.start)
    assert isinstance(got.spend_usd, Decimal)
    assert got.spend_usd == want["spend_usd"] and str(got.spend_usd) == str(want["spend_usd"]), got.start
    for t in timings:
        g, w = got.timings[t].as_dict(), want[t]
        assert g.keys() == w.keys() and g["n"] == w["n"], (t, got.start)
        assert all(close(g[k], w[k]) for k in ("p50", "p90", "p95", "p99", "mean")), (t, got.start, g, w)


# ---- the contract --------------------------------------------------------------------------------
def test_thirty_buckets_equal_python_including_empty_ones(filled):
    store, rows = filled
    agg = store.bucket_series(start=T0, end=T0 + SPAN, buckets=30, timings=("latency_ms", "model_ms"))
    edges = [T0 + i * (SPAN / 30) for i in range(31)]
    assert [b.start for b in agg.buckets] == edges[:-1] and [b.end for b in agg.buckets] == edges[1:]
    empty = 0
    for b, b0, b1 in zip(agg.buckets, edges[:-1], edges[1:], strict=True):
        want = py_bucket(rows, b0, b1)
        assert_bucket(b, want, ("latency_ms", "model_ms"))
        empty += want["requests"] == 0
    assert empty == 5    # minutes 40-60 of the synthetic traffic: no rows, zeros and None percentiles
    gap = agg.buckets[10]
    assert gap.spend_usd == Decimal(0) and gap.timings["latency_ms"].as_dict() == percentiles([])
    total = py_bucket(rows, T0, T0 + SPAN)
    assert agg.total.requests == total["requests"] == N - 1          # the row at T0 + SPAN is outside
    assert agg.total.spend_usd == total["spend_usd"] and str(agg.total.spend_usd) == str(total["spend_usd"])
    assert (agg.total.feedback_n, agg.total.feedback_correct) == (total["feedback_n"], total["feedback_correct"])
    # one model's rows: every bucket (counts, spend, feedback, percentiles) is that model's alone
    mine = [r for r in rows if r["model"] == "m2"]
    agg = store.bucket_series(start=T0, end=T0 + SPAN, buckets=30, timings=("latency_ms", "model_ms"), models=["m2"])
    for b, b0, b1 in zip(agg.buckets, edges[:-1], edges[1:], strict=True):
        assert_bucket(b, py_bucket(mine, b0, b1), ("latency_ms", "model_ms"))
    assert 0 < agg.total.requests == py_bucket(mine, T0, T0 + SPAN)["requests"] < N // 3


def test_edges_are_half_open_and_uneven_steps_keep_every_row_in_the_total(filled):
    store, rows = filled
    # 4-minute buckets: the rows stamped exactly on an edge belong to the bucket that starts there
    agg = store.bucket_series(start=T0, end=T0 + timedelta(minutes=40), buckets=10)
    for i, b in enumerate(agg.buckets):
        want = py_bucket(rows, b.start, b.end)
        assert b.requests == want["requests"] and any(r["ts"] == b.start for r in rows if b.start <= r["ts"] < b.end)
        assert_bucket(b, want, ("latency_ms",))
        assert b.start == T0 + timedelta(minutes=4 * i)
    # 2 h / 14 and 2 h / 7 are not whole numbers of microseconds: the rounded edges decide membership,
    # only rows in the window [start, end) count, and rows after a last edge that rounds down still count
    # in the totals. (The row stamped exactly at T0 + SPAN is outside the window either way.)
    window = [r for r in rows if T0 <= r["ts"] < T0 + SPAN]
    for count, last_edge_before_end in ((14, True), (7, False)):
        agg = store.bucket_series(start=T0, end=T0 + SPAN, buckets=count)
        for b in agg.buckets:
            assert_bucket(b, py_bucket(window, b.start, b.end), ("latency_ms",))
        assert (agg.buckets[-1].end < T0 + SPAN) is last_edge_before_end
        assert agg.total.requests == len(window) == N - 1
        in_buckets = sum(b.requests for b in agg.buckets)
        assert in_buckets == len(window) - (1 if last_edge_before_end else 0)   # the row 2 us before the end


def test_empty_window_and_empty_store(store):
    agg = store.bucket_series(start=T0, end=T0 + SPAN, buckets=30)
    assert len(agg.buckets) == 30
    assert all(b.requests == 0 and b.spend_usd == Decimal(0) and b.feedback_n == 0 for b in agg.buckets)
    assert agg.buckets[0].timings["latency_ms"].as_dict() == percentiles([])
    assert agg.total.requests == 0 and str(agg.total.spend_usd) == "0"
    assert store.guardrail_counts(start=T0, end=T0 + SPAN) == {"by_action": {}, "by_rule": {}}


def test_window_before_the_traffic_is_empty(filled):
    store, _ = filled
    agg = store.bucket_series(start=T0 - SPAN, end=T0, buckets=30, timings=("latency_ms", "model_ms"))
    assert agg.total.requests == 0 and all(b.requests == 0 for b in agg.buckets)
    assert all(b.timings["model_ms"].n == 0 and b.timings["model_ms"].at(0.95) is None for b in agg.buckets)


def test_spend_exact_for_any_decimal(store):
    """More than 36 fractional digits (the SQLite path's limit in SQL), large and negative values."""
    values = [Decimal("0." + "0" * 39 + "7"), Decimal("12345678901.000000000001"), Decimal("-0.5"),
              Decimal("0.000000000003"), Decimal("3")]
    base = synth(5, seed=3)[0][:5]
    store.insert_requests([{**r, "ts": T0 + timedelta(seconds=i), "cost_usd": v}
                           for i, (r, v) in enumerate(zip(base, values, strict=True))])
    agg = store.bucket_series(start=T0, end=T0 + timedelta(seconds=10), buckets=2)
    with localcontext() as ctx:
        ctx.prec = 100    # the default 28 digits would round this sum; the store's must not
        exact = sum(values, Decimal(0))
    assert agg.total.spend_usd == exact == Decimal("12345678903.5000000000040000000000000000000000000007")
    assert agg.buckets[0].spend_usd == exact and agg.buckets[1].spend_usd == Decimal(0)
    small = store.bucket_series(start=T0 + timedelta(seconds=2), end=T0 + timedelta(seconds=5))
    assert str(small.total.spend_usd) == str(sum(values[2:], Decimal(0))) == "2.500000000003"


def test_spend_exact_past_a_64_bit_sum(store):
    """Ten 18-digit values in one bucket: their digit sum passes 2^63 (SQLite's integer sum overflows)."""
    big = Decimal("999999999999999999")
    base = synth(12, seed=4)[0][:12]
    stamps = [T0 + timedelta(milliseconds=100 * i) for i in range(10)] + [T0 + timedelta(seconds=s) for s in (5, 6)]
    store.insert_requests([{**r, "ts": ts, "cost_usd": big if i < 10 else Decimal("0.25")}
                           for i, (r, ts) in enumerate(zip(base, stamps, strict=True))])
    agg = store.bucket_series(start=T0, end=T0 + timedelta(seconds=9), buckets=3)
    assert [str(b.spend_usd) for b in agg.buckets] == ["9999999999999999990", "0.25", "0.25"]
    assert agg.total.spend_usd == Decimal("9999999999999999990.50") and agg.total.requests == 12


def test_guardrail_counts_equal_python(filled):
    store, rows = filled
    start, end = T0 + timedelta(minutes=10), T0 + timedelta(minutes=100)
    part = [r for r in rows if start <= r["ts"] < end]
    got = store.guardrail_counts(start=start, end=end)
    assert got["by_action"] == dict(Counter(r["guard_action"] for r in part))
    assert got["by_rule"] == dict(Counter(d["rule"] for r in part for d in r["guard_decisions"]))
    assert set(got["by_rule"]) == {"pii.email", "pii.phone", "injection.override"}


# ---- the callers keep their JSON shapes and values -----------------------------------------------
def legacy_dashboard_series(rows: list[dict[str, Any]], start: datetime, end: datetime, buckets: int) -> list[dict]:
    """The row-by-row loop `dashboard_data` ran before the aggregates moved into SQL."""
    step = (end - start) / buckets
    series = []
    for i in range(buckets):
        b0, b1 = start + i * step, start + (i + 1) * step
        part = [r for r in rows if b0 <= r["ts"] < b1]
        served = [r for r in part if r["status"] == 200]
        lat = percentiles([r["latency_ms"] for r in served])
        fb = [r for r in served if r.get("feedback_label") is not None]
        correct = sum(r["feedback_label"] == r["output"] for r in fb)
        lo, hi = wilson(correct, len(fb)) if fb else (None, None)
        series.append({"start": b0.isoformat(), "requests": len(part),
                       "blocked": sum(r["guard_action"] == "block" for r in part),
                       "flagged": sum(r["guard_action"] == "flag" for r in part),
                       "p50_ms": lat["p50"], "p95_ms": lat["p95"],
                       "spend_usd": str(sum((r["cost_usd"] for r in part), Decimal(0))),
                       "feedback_n": len(fb), "accuracy": correct / len(fb) if fb else None,
                       "accuracy_low": lo, "accuracy_high": hi})
    return series


def test_dashboard_data_equals_the_row_by_row_dashboard(filled):
    store, rows = filled
    doc = dashboard_data(store, span=SPAN, buckets=30, end=T0 + SPAN)
    want = legacy_dashboard_series(rows, T0, T0 + SPAN, 30)
    assert len(doc["series"]) == 30
    for got, exp in zip(doc["series"], want, strict=True):
        assert got.keys() == exp.keys()
        for k, v in exp.items():
            assert close(got[k], v) if isinstance(v, float) else got[k] == v, (k, got["start"], got[k], v)
    window = [r for r in rows if T0 <= r["ts"] < T0 + SPAN]
    spend = sum((r["cost_usd"] for r in window), Decimal(0))
    assert doc["totals"] == {"requests": len(window), "spend_usd": str(spend), "uptime_usd": "0"}  # no uptime rows
    assert doc["span_s"] == 7200 and doc["bucket_s"] == 240 and doc["drift"] is None


def test_operational_summary_equals_python(filled):
    store, rows = filled
    start, end = T0 + timedelta(minutes=60), T0 + timedelta(minutes=120)
    got = operational_summary(store, start, end)
    part = [r for r in rows if start <= r["ts"] < end]
    served = [r for r in part if r["status"] == 200]
    cost = sum((r["cost_usd"] for r in part), Decimal(0))
    assert got["volume"] == {"requests": len(part), "served": len(served),
                             "blocked": sum(r["guard_action"] == "block" for r in part),
                             "flagged": sum(r["guard_action"] == "flag" for r in part), "per_hour": float(len(part))}
    for name in ("latency_ms", "model_ms"):
        want = percentiles([r[name] for r in served])
        assert got[name].keys() == want.keys() and got[name]["n"] == want["n"] > 0
        assert all(close(got[name][k], want[k]) for k in ("p50", "p90", "p95", "p99", "mean")), name
    assert got["spend_usd"]["total"] == cost and isinstance(got["spend_usd"]["total"], Decimal)
    assert got["spend_usd"]["per_1k_requests"] == (cost / len(part) * 1000).quantize(Decimal("1e-12"))
    assert got["spend_usd"]["per_hour"] == cost.quantize(Decimal("1e-12"))
    assert got["tokens"] == {"input": sum(r["tokens_in"] for r in part), "output": sum(r["tokens_out"] for r in part)}
    assert got["guardrails"]["by_action"] == dict(Counter(r["guard_action"] for r in part))
    empty = operational_summary(store, T0 - SPAN, T0)
    assert empty["volume"]["requests"] == 0 and empty["latency_ms"] == percentiles([])
    assert empty["spend_usd"]["total"] == Decimal(0) and empty["spend_usd"]["per_1k_requests"] is None


def test_row_path_joins_the_same_latest_feedback(filled):
    """`fetch_requests` (still what drift and quality read) sees the feedback the aggregates count."""
    store, rows = filled
    start, end = T0, T0 + SPAN
    got = {r["id"]: r["feedback_label"] for r in store.fetch_requests(start=start, end=end)}
    assert got == {r["id"]: r["feedback_label"] for r in rows if start <= r["ts"] < end}
    agg = store.bucket_series(start=start, end=end)
    fetched = [r for r in store.fetch_requests(start=start, end=end) if r["status"] == 200 and r["feedback_label"]]
    assert agg.total.feedback_n == len(fetched)
    assert agg.total.feedback_correct == sum(r["feedback_label"] == r["output"] for r in fetched)


def test_aggregates_do_not_load_request_rows(filled, monkeypatch):
    """The dashboard and the operational summary work from the aggregates alone."""
    store, _ = filled

    def refuse(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("fetch_requests called: rows loaded into Python")

    monkeypatch.setattr(store, "fetch_requests", refuse)
    assert dashboard_data(store, span=SPAN, end=T0 + SPAN)["totals"]["requests"] == N - 1
    assert operational_summary(store, T0, T0 + SPAN)["volume"]["requests"] == N - 1
