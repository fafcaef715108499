"""Monitoring aggregates computed by the database: GROUP BY over time buckets, SQLite and Postgres.

``bucket_series(engine, start, end, count)`` splits ``[start, end)`` into ``count`` buckets exactly as
the dashboard always has: edge ``i`` is ``start + i * ((end - start) / count)``, a microsecond-exact
``timedelta``, so the last edge can fall a few microseconds either side of ``end``, and only rows in
``[start, end)`` count. Per bucket it returns the request count, served (status 200), blocked and
flagged counts, spend, input/output tokens, feedback n and correct count, and latency percentiles.
No request row reaches Python. A row's bucket is a balanced ``CASE`` tree of ``ts < edge``
comparisons: the same comparisons the store's window filter makes, so membership is the half-open
``b0 <= ts < b1`` on both backends, with no float epoch arithmetic. Everything else is ``GROUP BY``
on that index.

Spend is exact. Postgres sums ``CAST(cost_usd AS NUMERIC)``. SQLite has no decimal type, so its query
groups by bucket and by the stored value's scale (digits after the point) and sums the value's digits
with the point removed as a 64-bit integer (``CAST(replace(cost_usd, '.', '') AS INTEGER)``), which is
the value times 10^scale exactly; Python joins the few (bucket, scale) sums with ``Decimal.scaleb``.
A stored value longer than 18 characters, or a sum past 2^63 (SQLite raises "integer overflow"), makes
that query fall back to summing the window's cost strings in Python: still exact, still no row dicts.
The result has the exponent a Python ``sum(Decimal)`` over the same rows has (the largest stored
scale), so its string is the same as the row-by-row sum's; unlike that sum under Python's default
28-digit context, it never rounds.

Percentiles use the "linear" definition: numpy's default ``np.percentile(method="linear")``, Postgres'
``percentile_cont`` and Hyndman & Fan type 7. For ``n`` sorted values ``v[0..n-1]`` and fraction ``q``,
``h = (n - 1) * q`` and the result is ``v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])``.
Postgres computes it with ``percentile_cont``. SQLite has no percentile function: its query ranks the
served rows with ``ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value)`` and returns only the rows at
ranks ``floor(h) + 1`` and ``floor(h) + 2`` of each bucket (``n`` per bucket comes from the counts query,
in the same snapshot); Python interpolates between those two numbers as numpy does. Both agree with
numpy to floating-point rounding (tests allow a relative 1e-9). Means are ``SUM(value) / n``.
Percentiles and means are over served (status 200) requests.

Every query takes the same optional model filter next to its time window: ``models`` (ids of the
``model`` column) limits it to the requests those models answered, one run's rows in a store that
several served runs share; None counts every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

QUANTILES = (0.5, 0.9, 0.95, 0.99)
_MAX_CHARS = 18       # a decimal string this long has at most 18 digits: its integer form fits int64
_TIMINGS = ("latency_ms", "model_ms")


@dataclass(frozen=True)
class Timing:
    """Percentiles of one timing column over a bucket's served requests (None when there are none)."""

    n: int
    mean: float | None
    quantiles: dict[float, float | None]

    def at(self, q: float) -> float | None:
        return self.quantiles[q]

    def as_dict(self) -> dict[str, Any]:
        """``{"n", "p50", "p90", ..., "mean"}``: the shape ``tunewise monitor --json`` has always had."""
        out: dict[str, Any] = {"n": self.n}
        out.update({f"p{round(q * 100):d}": v for q, v in self.quantiles.items()})
        out["mean"] = self.mean
        return out


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    requests: int = 0
    served: int = 0
    blocked: int = 0
    flagged: int = 0
    spend_usd: Decimal = Decimal(0)
    tokens_in: int = 0
    tokens_out: int = 0
    feedback_n: int = 0
    feedback_correct: int = 0
    timings: dict[str, Timing] = field(default_factory=dict)


@dataclass(frozen=True)
class Series:
    """``buckets`` in time order; ``total`` covers all of ``[start, end)`` (counts, spend, tokens,
    feedback; its ``timings`` are filled only when there is one bucket, since percentiles do not add)."""

    buckets: list[Bucket]
    total: Bucket


def bucket_edges(start: datetime, end: datetime, count: int) -> list[datetime]:
    step = (end - start) / count
    return [start + i * step for i in range(count + 1)]


def bucket_series(engine: Any, *, start: datetime, end: datetime, count: int = 1,
                  quantiles: Sequence[float] = QUANTILES, timings: Sequence[str] = ("latency_ms",),
                  models: Sequence[str] | None = None) -> Series:
    """Per-bucket aggregates of the requests in ``[start, end)`` of ``models`` (None: all; see the
    module docstring)."""
    if count < 1:
        raise ValueError(f"bucket count must be >= 1 (got {count})")
    for name in timings:
        if name not in _TIMINGS:
            raise ValueError(f"unknown timing column {name!r}; expected one of {_TIMINGS}")
    edges = bucket_edges(start, end, count)
    with _snapshot(engine) as conn:
        totals = _totals(conn, edges, end, tuple(timings), models)
        fb = _feedback(conn, edges, end, models)
        served = {b: t["served"] for b, t in totals.items()}
        picked = {name: _percentiles(conn, name, edges, end, tuple(quantiles), served, models) for name in timings}

    def timing(name: str, t: dict[str, Any], i: int) -> Timing:
        n = t.get("served", 0)
        if not n:
            return _empty_timing(quantiles)
        return Timing(n, t[f"{name}_sum"] / n, picked[name][i])

    def bucket(i: int, b0: datetime, b1: datetime) -> Bucket:
        t = totals.get(i, {})
        n_fb, correct = fb.get(i, (0, 0))
        return Bucket(start=b0, end=b1, requests=t.get("requests", 0), served=t.get("served", 0),
                      blocked=t.get("blocked", 0), flagged=t.get("flagged", 0),
                      spend_usd=t.get("spend", Decimal(0)), tokens_in=t.get("tokens_in", 0),
                      tokens_out=t.get("tokens_out", 0), feedback_n=n_fb, feedback_correct=correct,
                      timings={name: timing(name, t, i) for name in timings})

    buckets = [bucket(i, edges[i], edges[i + 1]) for i in range(count)]
    # index `count` holds rows in [edges[count], end): a few microseconds when span / count rounds.
    parts = [*totals.values()]
    with localcontext() as ctx:
        ctx.prec = 1000   # the bucket sums are exact; their sum must not round to 28 digits
        spend = sum((p["spend"] for p in parts), Decimal(0))
    total = Bucket(start=start, end=end, requests=sum(p["requests"] for p in parts),
                   served=sum(p["served"] for p in parts), blocked=sum(p["blocked"] for p in parts),
                   flagged=sum(p["flagged"] for p in parts), spend_usd=spend,
                   tokens_in=sum(p["tokens_in"] for p in parts), tokens_out=sum(p["tokens_out"] for p in parts),
                   feedback_n=sum(v[0] for v in fb.values()), feedback_correct=sum(v[1] for v in fb.values()),
                   timings=buckets[0].timings if count == 1 else {})
    return Series(buckets, total)


def guardrail_counts(engine: Any, *, start: datetime, end: datetime,
                     models: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """``{"by_action": {action: n}, "by_rule": {rule: n}}`` for requests in ``[start, end)`` of ``models``
    (None: all); rules are counted once per decision (a request with two decisions of one rule counts
    twice), in SQL with SQLite's ``json_each`` or Postgres' ``json_array_elements``."""
    from sqlalchemy import JSON, cast, func, select, true, type_coerce
    from sqlalchemy.types import String, Text

    from tunewise.monitor.schema import requests

    window = (requests.c.ts >= start, requests.c.ts < end, *model_filter(requests, models))
    by_action = (select(requests.c.guard_action, func.count()).where(*window)
                 .group_by(requests.c.guard_action).order_by(requests.c.guard_action))
    decisions = type_coerce(requests.c.guard_decisions, Text)
    if engine.dialect.name == "postgresql":
        elems = func.json_array_elements(cast(decisions, JSON)).table_valued("value").alias("d")
        rule = elems.c.value.op("->>")("rule")
    else:
        elems = func.json_each(decisions).table_valued("value").alias("d")
        rule = func.json_extract(elems.c.value, "$.rule")
    rule = type_coerce(rule, String).label("rule")
    by_rule = (select(rule, func.count()).select_from(requests.join(elems, true())).where(*window)
               .group_by(rule).order_by(rule))
    with _snapshot(engine) as conn:
        actions = {a: int(n) for a, n in conn.execute(by_action)}
        rules = {r: int(n) for r, n in conn.execute(by_rule) if r is not None}
    return {"by_action": actions, "by_rule": rules}


# ---- the queries ---------------------------------------------------------------------------------
class _snapshot:  # noqa: N801 - a context manager used like a function
    """One connection whose statements all read one snapshot (Postgres REPEATABLE READ; SQLite a
    deferred read transaction in WAL), so a bucket's counts and its percentiles' n agree."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __enter__(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            self.conn = self.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        else:
            self.conn = self.engine.connect()
            self.conn.exec_driver_sql("BEGIN")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


def _bucket_index(ts: Any, edges: list[datetime], end: datetime) -> Any:
    """A CASE tree giving 0..len(edges)-1 for ``edges[0] <= ts < end``: index i for
    ``edges[i] <= ts < edges[i+1]``, the last index for ``edges[-1] <= ts < end``. log2(buckets) deep."""
    from sqlalchemy import case, literal_column

    last = len(edges) - 1

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal_column(str(lo))
        mid = (lo + hi + 1) // 2
        return case((ts < edges[mid], tree(lo, mid - 1)), else_=tree(mid, hi))

    return tree(0, last)


def model_filter(table: Any, models: Sequence[str] | None) -> tuple[Any, ...]:
    """The WHERE condition keeping the rows of ``table`` whose ``model`` is in ``models``; none for None."""
    if models is None:
        return ()
    if isinstance(models, str):
        raise TypeError(f"models must be a sequence of model ids, not the string {models!r}")
    return (table.c.model.in_(list(models)),)


def _windowed(edges: list[datetime], end: datetime, models: Sequence[str] | None) -> tuple[Any, ...]:
    from tunewise.monitor.schema import requests

    return (requests.c.ts >= edges[0], requests.c.ts < end, *model_filter(requests, models))


_COUNTS = ("requests", "served", "blocked", "flagged", "tokens_in", "tokens_out")


def _totals(conn: Any, edges: list[datetime], end: datetime, timings: tuple[str, ...],
            models: Sequence[str] | None) -> dict[int, dict[str, Any]]:
    """Per bucket: counts, token sums, sums of the timing columns over served rows, exact spend."""
    from sqlalchemy.exc import OperationalError

    pg = conn.dialect.name == "postgresql"
    try:
        rows = conn.execute(_totals_query(edges, end, timings, models, spend="numeric" if pg else "units")
                            ).mappings().all()
        fallback = not pg and any((r["chars"] or 0) > _MAX_CHARS for r in rows)
    except OperationalError as exc:   # SQLite: a units sum past 2^63
        if pg or "integer overflow" not in str(exc.orig):
            raise
        rows, fallback = None, True
    if fallback:
        rows = conn.execute(_totals_query(edges, end, timings, models, spend=None)).mappings().all()
    out: dict[int, dict[str, Any]] = {}
    units: dict[int, list[tuple[int, int]]] = {}
    for r in rows:
        b = int(r["b"])
        o = out.setdefault(b, {**dict.fromkeys(_COUNTS, 0), **{f"{t}_sum": 0.0 for t in timings}})
        for k in _COUNTS:
            o[k] += int(r[k] or 0)
        for t in timings:
            o[f"{t}_sum"] += float(r[f"{t}_sum"] or 0.0)
        if pg:
            o["spend"] = Decimal(r["spend"]) if r["spend"] is not None else Decimal(0)
        elif not fallback:
            units.setdefault(b, []).append((int(r["scale"]), int(r["units"])))
    if fallback:
        spends = _python_spend(conn, edges, end, models)
        for b, o in out.items():
            o["spend"] = spends.get(b, Decimal(0))
    elif not pg:
        for b, parts in units.items():
            out[b]["spend"] = _join_units(parts)
    return out


def _totals_query(edges: list[datetime], end: datetime, timings: tuple[str, ...], models: Sequence[str] | None, *,
                  spend: str | None) -> Any:
    from sqlalchemy import Integer, Numeric, Text, case, cast, func, select, type_coerce
    from sqlalchemy.types import String

    from tunewise.monitor.schema import requests

    c = requests.c
    served = c.status == 200
    cols = [_bucket_index(c.ts, edges, end).label("b"), case((served, 1), else_=0).label("served"),
            case((c.guard_action == "block", 1), else_=0).label("blocked"),
            case((c.guard_action == "flag", 1), else_=0).label("flagged"), c.tokens_in, c.tokens_out,
            *(case((served, c[t])).label(t) for t in timings)]           # NULL unless served
    cost = type_coerce(c.cost_usd, String)
    if spend == "numeric":
        cols.append(cost.label("cost"))
    elif spend == "units":
        dot = func.instr(cost, ".")
        cols += [case((dot == 0, 0), else_=func.length(cost) - dot).label("scale"),
                 cast(func.replace(cost, ".", ""), Integer).label("units"), func.length(cost).label("chars")]
    sub = select(*cols).where(*_windowed(edges, end, models)).subquery()
    keys = [sub.c.b, sub.c.scale] if spend == "units" else [sub.c.b]
    aggs = [*keys, func.count().label("requests"), *(func.sum(sub.c[k]).label(k) for k in _COUNTS[1:]),
            *(func.sum(sub.c[t]).label(f"{t}_sum") for t in timings)]
    if spend == "numeric":
        aggs.append(cast(func.sum(cast(sub.c.cost, Numeric)), Text).label("spend"))
    elif spend == "units":
        aggs += [func.sum(sub.c.units).label("units"), func.max(sub.c.chars).label("chars")]
    return select(*aggs).group_by(*keys)


def _join_units(parts: list[tuple[int, int]]) -> Decimal:
    """sum of units x 10^-scale over a bucket's scales, exactly, at the largest scale (as a Python
    Decimal sum over the rows would have it)."""
    with localcontext() as ctx:
        ctx.prec = 1000
        total = sum((Decimal(u).scaleb(-sc) for sc, u in parts), Decimal(0))
        return total.quantize(Decimal(1).scaleb(-max(sc for sc, _ in parts)))


def _python_spend(conn: Any, edges: list[datetime], end: datetime, models: Sequence[str] | None) -> dict[int, Decimal]:
    """The exact fallback for SQLite windows with a stored value too long for a 64-bit integer sum."""
    from sqlalchemy import select, type_coerce
    from sqlalchemy.types import String

    from tunewise.monitor.schema import requests

    q = select(_bucket_index(requests.c.ts, edges, end), type_coerce(requests.c.cost_usd, String)) \
        .where(*_windowed(edges, end, models))
    out: dict[int, Decimal] = {}
    with localcontext() as ctx:
        ctx.prec = 1000   # exact for any realistic stored value (the default 28 digits would round)
        for b, cost in conn.execute(q):
            out[int(b)] = out.get(int(b), Decimal(0)) + Decimal(cost)
    return out


def _feedback(conn: Any, edges: list[datetime], end: datetime,
              models: Sequence[str] | None) -> dict[int, tuple[int, int]]:
    """(n, correct) per bucket over served requests whose latest feedback carries a label."""
    from sqlalchemy import case, func, select

    from tunewise.monitor.schema import feedback, requests

    later = feedback.alias("later")   # a correction: the latest feedback row of a request counts
    latest = (select(func.max(later.c.id)).where(later.c.request_id == requests.c.id)
              .correlate(requests).scalar_subquery())
    sub = (select(_bucket_index(requests.c.ts, edges, end).label("b"),
                  case((feedback.c.label == requests.c.output, 1), else_=0).label("correct"))
           .select_from(requests.join(feedback, feedback.c.request_id == requests.c.id))
           .where(*_windowed(edges, end, models), requests.c.status == 200, feedback.c.id == latest,
                  feedback.c.label.is_not(None))
           .subquery())
    q = select(sub.c.b, func.count(), func.sum(sub.c.correct)).group_by(sub.c.b)
    return {int(b): (int(n), int(c or 0)) for b, n, c in conn.execute(q)}


def _percentiles(conn: Any, column: str, edges: list[datetime], end: datetime, quantiles: tuple[float, ...],
                 served: dict[int, int], models: Sequence[str] | None) -> dict[int, dict[float, float]]:
    """{bucket: {q: value}} for the buckets with served rows (``served``: their counts)."""
    from sqlalchemy import Float, func, literal, select

    from tunewise.monitor.schema import requests

    if not any(served.values()):
        return {}
    inner = (select(_bucket_index(requests.c.ts, edges, end).label("b"), requests.c[column].label("v"))
             .where(*_windowed(edges, end, models), requests.c.status == 200).subquery())
    if conn.dialect.name == "postgresql":
        q = select(inner.c.b, *(func.percentile_cont(literal(x, Float)).within_group(inner.c.v) for x in quantiles)
                   ).group_by(inner.c.b)
        return {int(b): {x: float(v) for x, v in zip(quantiles, vals, strict=True)} for b, *vals in conn.execute(q)}
    lows = {(b, x): int((n - 1) * x) for b, n in served.items() if n for x in quantiles}   # floor(h), 0-based
    wanted = sorted({lo + k for lo in lows.values() for k in (1, 2)})                     # 1-based ranks
    ranked = select(inner.c.b, inner.c.v, func.row_number().over(partition_by=inner.c.b, order_by=inner.c.v)
                    .label("rn")).subquery()
    q = select(ranked.c.b, ranked.c.rn, ranked.c.v).where(ranked.c.rn.in_(wanted))
    got = {(int(b), int(rn)): float(v) for b, rn, v in conn.execute(q)}
    return {b: {x: _lerp(n, x, got[(b, lows[(b, x)] + 1)], got.get((b, lows[(b, x)] + 2))) for x in quantiles}
            for b, n in served.items() if n}


def _lerp(n: int, q: float, a: float, b: float | None) -> float:
    """numpy's linear interpolation between v[floor(h)] = a and v[floor(h)+1] = b, h = (n-1)q."""
    h = (n - 1) * q
    t = h - int(h)
    if b is None or t == 0:
        return float(a)
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def _empty_timing(quantiles: Sequence[float]) -> Timing:
    return Timing(0, None, {q: None for q in quantiles})
