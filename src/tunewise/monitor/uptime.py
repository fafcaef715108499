"""Uptime of the serving replicas and the spend it implies: a self-hosted deployment costs the hours it
is up, not only the seconds it computes.

Each `tunewise serve` process (a replica) writes a ``start`` row, a ``heartbeat`` row every
``heartbeat_s`` seconds and a ``stop`` row on a clean shutdown. A replica is up from its first row to
its ``stop`` row, or to its last heartbeat when it died without one (a crash, SIGKILL, a lost machine):
at most one heartbeat interval of uptime is missed, never invented. Replicas on the same ``instance``
(one machine running several processes) are billed once: an instance is up during the union of its
replicas' intervals. Spend = sum over instances of up-hours x the hourly price its replicas were
started with (or a price the caller gives, e.g. the offer the plan sized). Per-request cost stays an
allocation of compute seconds; the difference is idle capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

EVENTS = ("start", "heartbeat", "stop")
LOOKBACK = timedelta(hours=1)   # = the longest heartbeat interval `tunewise serve` accepts
_Q = Decimal("1e-12")


@dataclass(frozen=True)
class Interval:
    replica_id: str
    instance: str
    start: datetime
    end: datetime
    stopped: bool                     # ended by a stop row (False: ended at the last heartbeat)
    usd_per_hour: Decimal | None
    models: tuple[str, ...] = ()      # the model ids its rows name (the machine's cost is theirs together)


def _q(x: Decimal) -> Decimal:
    """Quantized to 1e-12 USD; zero stays plain 0 (not 0E-12) in JSON."""
    return x.quantize(_Q) if x else Decimal(0)


def hours(td: timedelta) -> Decimal:
    """Exact hours of a timedelta (microsecond resolution)."""
    micros = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    return Decimal(micros) / Decimal(3_600_000_000)


def record(engine: Any, *, event: str, replica_id: str, instance: str, ts: datetime,
           usd_per_hour: Decimal | None = None, price_source: str | None = None, model: str | None = None) -> None:
    from tunewise.monitor.schema import uptime

    if event not in EVENTS:
        raise ValueError(f"uptime event must be one of {EVENTS}, got {event!r}")
    with engine.begin() as conn:
        conn.execute(uptime.insert(), {"ts": ts, "replica_id": replica_id, "instance": instance, "event": event,
                                       "usd_per_hour": usd_per_hour, "price_source": price_source, "model": model})


def intervals(engine: Any, *, start: datetime | None = None, end: datetime | None = None) -> list[Interval]:
    """Each replica's up interval, clipped to ``[start, end)``; replicas outside it are left out.
    Computed by GROUP BY in the database (one row per replica, not per heartbeat)."""
    from sqlalchemy import case, func, select

    from tunewise.monitor.schema import UTCDateTime, uptime

    u = uptime.c
    q = (select(u.replica_id, u.instance, func.min(u.ts), func.max(u.ts),
                func.sum(case((u.event == "stop", 1), else_=0)))
         .group_by(u.replica_id, u.instance))
    names = select(u.replica_id, u.model).where(u.model.is_not(None)).distinct()
    if start is not None:
        # a replica up at ``start`` wrote a heartbeat in the hour before it (heartbeats are at most an hour
        # apart), so older rows need not be read: the index on ts keeps this cheap on a long history
        q = q.where(u.ts >= start - LOOKBACK).having(func.max(u.ts) > start)
        names = names.where(u.ts >= start - LOOKBACK)
    if end is not None:
        q = q.where(u.ts < end + LOOKBACK).having(func.min(u.ts) < end)
        names = names.where(u.ts < end + LOOKBACK)
    prices = select(u.replica_id, u.usd_per_hour).where(u.event == "start")
    conv = UTCDateTime().process_result_value
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        price = {r[0]: r[1] for r in conn.execute(prices)}
        models: dict[str, set[str]] = {}
        for rid, model in conn.execute(names):   # a server of several runs writes their ids comma-joined
            models.setdefault(rid, set()).update(m for m in (model or "").split(",") if m)
    out = []
    for rid, inst, lo, hi, stops in rows:
        lo, hi = conv(lo, engine.dialect), conv(hi, engine.dialect)
        if start is not None:
            lo = max(lo, start)
        if end is not None:
            hi = min(hi, end)
        if hi > lo:
            out.append(Interval(rid, inst, lo, hi, bool(stops), price.get(rid), tuple(sorted(models.get(rid, ())))))
    return sorted(out, key=lambda i: (i.instance, i.start, i.replica_id))


def _union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def spend(ivals: list[Interval], *, usd_per_hour: Decimal | None = None) -> dict[str, Any]:
    """Instance-hours (union of each instance's replica intervals) x hourly price, exactly.

    ``usd_per_hour`` overrides the recorded prices (the offer a plan sized); otherwise each instance is
    billed at the highest price its replicas recorded. An instance with no price is counted in hours
    and listed in ``unpriced``."""
    by_inst: dict[str, list[Interval]] = {}
    for iv in ivals:
        by_inst.setdefault(iv.instance, []).append(iv)
    total_h, total_usd, per, unpriced = Decimal(0), Decimal(0), [], []
    for inst, group in sorted(by_inst.items()):
        h = sum((hours(b - a) for a, b in _union([(i.start, i.end) for i in group])), Decimal(0))
        recorded = [i.usd_per_hour for i in group if i.usd_per_hour is not None]
        rate = usd_per_hour if usd_per_hour is not None else (max(recorded) if recorded else None)
        usd = _q(h * rate) if rate is not None else None
        total_h += h
        if usd is None:
            unpriced.append(inst)
        else:
            total_usd += usd
        per.append({"instance": inst, "replicas": len(group), "hours": _q(h), "usd_per_hour": rate,
                    "usd": usd, "crashed": sum(1 for i in group if not i.stopped)})
    return {"instance_hours": _q(total_h), "usd": _q(total_usd), "instances": per,
            "unpriced": unpriced, "replicas": len(ivals),
            "price": ("the offer the plan sized" if usd_per_hour is not None
                      else "the hourly price each replica was started with"),
            "rule": "instance-hours (union of each machine's replica up intervals; a replica without a stop row "
                    "ends at its last heartbeat) x hourly price"}


def uptime_summary(store: Any, start: datetime, end: datetime, *, requests_usd: Decimal | None = None,
                   usd_per_hour: Decimal | None = None) -> dict[str, Any]:
    """Uptime spend for ``[start, end)`` next to the per-request (compute-time) allocation."""
    s = spend(intervals(store.engine, start=start, end=end), usd_per_hour=usd_per_hour)
    if requests_usd is not None:
        s["per_request_usd"] = requests_usd
        s["idle_usd"] = _q(s["usd"] - requests_usd) if not s["unpriced"] else None
        s["allocated_share"] = (float(requests_usd / s["usd"]) if s["usd"] > 0 and not s["unpriced"] else None)
    return s
