"""Uptime rows and the spend they imply, against hand arithmetic, on SQLite and PostgreSQL (the
``store`` fixture runs this suite on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
Q = Decimal("1e-12")


def _replica(store, rid: str, instance: str, start: timedelta, last: timedelta, *, stop: bool, price: str) -> None:
    """start row, heartbeats every 30 s, and a stop row at ``last`` (or just the last heartbeat: a crash)."""
    store.record_uptime("start", replica_id=rid, instance=instance, ts=T0 + start, usd_per_hour=Decimal(price),
                        price_source="--cost-per-hour", model="m")
    t = start + timedelta(seconds=30)
    while t < last:
        store.record_uptime("heartbeat", replica_id=rid, instance=instance, ts=T0 + t, usd_per_hour=Decimal(price))
        t += timedelta(seconds=30)
    store.record_uptime("stop" if stop else "heartbeat", replica_id=rid, instance=instance, ts=T0 + last,
                        usd_per_hour=Decimal(price))


def _fleet(store) -> None:
    m = timedelta(minutes=1)
    _replica(store, "a", "host-1", 0 * m, 10 * m, stop=True, price="0.35")       # 12:00-12:10
    _replica(store, "b", "host-1", 5 * m, 20 * m, stop=False, price="0.35")      # 12:05-12:20, then died
    _replica(store, "c", "host-2", 60 * m, 120 * m, stop=True, price="2.50")     # 13:00-14:00


def test_uptime_spend_is_instance_hours_times_price(store):
    from tunewise.monitor.uptime import spend

    _fleet(store)
    s = spend(store.uptime_intervals())
    # host-1: the union of 12:00-12:10 and 12:05-12:20 = 20 minutes (two workers, one machine, billed once)
    # host-2: one hour
    per = {i["instance"]: i for i in s["instances"]}
    assert per["host-1"]["hours"] == (Decimal(1) / 3).quantize(Q) and per["host-1"]["replicas"] == 2
    assert per["host-1"]["usd"] == (Decimal("0.35") / 3).quantize(Q) == Decimal("0.116666666667")
    assert per["host-1"]["crashed"] == 1          # b has no stop row: it ends at its last heartbeat, 12:20
    assert per["host-2"]["usd"] == Decimal("2.500000000000") and per["host-2"]["crashed"] == 0
    assert s["usd"] == Decimal("2.616666666667")
    assert s["instance_hours"] == (Decimal(4) / 3).quantize(Q) and s["unpriced"] == []


def test_uptime_spend_is_clipped_to_the_window_and_takes_the_planned_price(store):
    from tunewise.monitor.uptime import spend

    _fleet(store)
    ivals = store.uptime_intervals(start=T0 + timedelta(minutes=15), end=T0 + timedelta(minutes=75))
    s = spend(ivals)
    # host-1 12:15-12:20 (5 min at $0.35/h), host-2 13:00-13:15 (15 min at $2.50/h)
    assert s["usd"] == ((Decimal("0.35") / 12).quantize(Q) + Decimal("0.625")).quantize(Q)
    assert {i.replica_id for i in ivals} == {"b", "c"}         # a ended before the window
    planned = spend(ivals, usd_per_hour=Decimal("0.09"))        # the offer the plan sized, not the recorded price
    assert planned["usd"] == (Decimal("0.09") / 3).quantize(Q)  # 20 minutes in all
    assert store.uptime_intervals(start=T0 + timedelta(hours=3)) == []


def test_operational_summary_shows_uptime_spend_next_to_request_spend(store):
    from tunewise.monitor.analyze import operational_summary

    _fleet(store)
    s = operational_summary(store, T0, T0 + timedelta(hours=2))
    up = s["spend_uptime"]
    assert up["usd"] == Decimal("2.616666666667")
    assert up["per_request_usd"] == s["spend_usd"]["total"] == Decimal(0)   # no request was served
    assert up["idle_usd"] == up["usd"]


def test_dashboard_totals_carry_both_spends(store):
    from tunewise.monitor.timeseries import dashboard_data

    _fleet(store)
    d = dashboard_data(store, span=timedelta(hours=2), end=T0 + timedelta(hours=2))
    assert d["totals"]["uptime_usd"] == "2.616666666667" and d["totals"]["spend_usd"] == "0"


def test_a_long_running_replica_counts_the_whole_window_from_its_heartbeats(store):
    from tunewise.monitor.uptime import spend

    store.record_uptime("start", replica_id="long", instance="vm", ts=T0, usd_per_hour=Decimal("2"))
    for k in range(1, 13):                               # heartbeats every 40 minutes for 8 hours
        store.record_uptime("heartbeat", replica_id="long", instance="vm", ts=T0 + k * timedelta(minutes=40))
    ivals = store.uptime_intervals(start=T0 + timedelta(hours=3, minutes=5), end=T0 + timedelta(hours=4, minutes=5))
    assert [(i.start - T0, i.end - T0) for i in ivals] == [(timedelta(hours=3, minutes=5), timedelta(hours=4, minutes=5))]
    assert spend(ivals)["usd"] == Decimal("2.000000000000")   # one hour at the price of its start row
