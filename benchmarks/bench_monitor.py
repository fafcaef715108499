"""Monitoring aggregates over a large request store: tunewise's SQL GROUP BY against loading the rows.

Baseline (named "pandas read_sql"): ``pandas.read_sql`` of the columns the figures need (id, ts, status,
guard_action, cost_usd, latency_ms, output; and feedback request_id, id, label) from the same store,
then the same figures in pandas: 30 equal buckets over the whole span, per bucket request / blocked /
flagged counts, exact Decimal spend, served-latency p50 and p95 (``quantile``, linear = the store's
definition), feedback n and accuracy, and the totals. That is the stronger form of the baseline: a
``SELECT *`` would also load the texts. Measured against it: ``tunewise.monitor.dashboard_data`` (the
dashboard's 30-bucket series, computed by the database; see tunewise/monitor/aggregate.py).
For sizes up to 250,000 rows (or with TUNEWISE_BENCH_MONITOR_LEGACY=1) also the previous tunewise
path, "rows into Python" (``Store.fetch_requests`` then a Python loop per bucket), as a second baseline.

Each method runs in a fresh Python process, so its peak RSS is its own: the process's high-water mark,
``VmHWM`` in /proc/self/status, read at its end (``ru_maxrss`` where there is no /proc). "seconds"
times the aggregation only (after imports and opening the store), best of
``TUNEWISE_BENCH_MONITOR_REPEATS`` (default 2) runs. Every method's figures are checked equal (counts
and spend exactly, percentiles within a relative 1e-9) before any number is printed. On PostgreSQL
the tunewise figure is the client's: the database server's own CPU and memory are not in it.

Store: a SQLite file of ``TUNEWISE_BENCH_MONITOR_ROWS`` requests (default 1,000,000) over 24 hours,
generated once under benchmarks/out/ (bulk ``executemany`` in 50,000-row transactions) with real Rotten
Tomatoes snippets as stored texts, 7% blocked, 5% flagged, 5% of served requests with feedback. Also
PostgreSQL at ``TUNEWISE_BENCH_MONITOR_PG_ROWS`` rows (default 200,000; 0 skips) when a server can be
started (Debian's binaries, as the tests do) or ``TUNEWISE_BENCH_PG_URL`` names one (its tables are
emptied). Results go to benchmarks/out/monitor.json.
"""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
END = datetime(2026, 6, 1, tzinfo=UTC)
SPAN = timedelta(hours=24)
BUCKETS = 30
REL = 1e-9
_COLS = ("id", "ts", "key_id", "endpoint", "status", "item", "input_redacted", "output", "scores", "confidence",
         "text_chars", "tokens_in", "tokens_out", "latency_ms", "model_ms", "cost_usd", "guard_action",
         "guard_decisions", "model")


# ---- the synthetic store -------------------------------------------------------------------------
def _rows(n: int, seed: int = 0):  # noqa: ANN202 - yields (request tuple, feedback label or None)
    from tunewise.data.bundled import iter_rows

    texts = [r["text"] for r in iter_rows("rotten-tomatoes")]
    rng = random.Random(seed)
    start_us = int((END - SPAN).timestamp() * 1_000_000)
    span_us = int(SPAN.total_seconds() * 1_000_000)
    stamps = sorted(rng.randrange(span_us) for _ in range(n))
    pii = json.dumps([{"stage": "input", "rule": "pii.email", "action": "redact", "detail": "1 match"}])
    inj = json.dumps([{"stage": "input", "rule": "injection.override", "action": "block", "detail": "pattern"}])
    for i, off in enumerate(stamps):
        ts = datetime.fromtimestamp((start_us + off) / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        text = texts[i % len(texts)]
        blocked = rng.random() < 0.07
        if blocked:
            req = (f"{i:032x}", ts, f"key{i % 5}", "classify", 400, 0, text, None, None, None, len(text), 0, 0,
                   round(rng.uniform(0.3, 3.0), 3), 0.0, "0.000000000000", "block", inj, "minilm-full")
            yield req, None
            continue
        label = "fresh" if rng.random() < 0.5 else "rotten"
        p = round(rng.uniform(0.5, 0.99), 4)
        other = "rotten" if label == "fresh" else "fresh"
        action = "flag" if rng.random() < 0.05 else "allow"
        latency = round(rng.lognormvariate(3.0, 0.5), 3)
        model_ms = round(latency * rng.uniform(0.3, 0.8), 3)
        cost = f"0.{round(model_ms / 1000 * 0.35 / 3600 * 1e12):012d}"    # $0.35/h x model time, 1e-12 quantum
        req = (f"{i:032x}", ts, f"key{i % 5}", "classify", 200, 0, text, label,
               json.dumps({label: p, other: round(1 - p, 4)}), p, len(text), len(text) // 4, 0, latency, model_ms,
               cost, action, pii if i % 10 == 0 else "[]", "minilm-full")
        fb = None
        if rng.random() < 0.05:
            fb = label if rng.random() < 0.85 else other
        yield req, fb


def build_sqlite(path: Path, n: int) -> Path:
    from tunewise.monitor.store import open_store

    if path.exists():
        return path
    tmp = path.with_suffix(".partial")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    open_store(f"sqlite:///{tmp}").close()     # the real schema, migrated
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA synchronous=OFF")
    ins = f"INSERT INTO requests ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"
    batch, fbs = [], []
    fb_ts = (END - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    for req, fb in _rows(n):
        batch.append(req)
        if fb is not None:
            fbs.append((req[0], fb_ts, "key0", fb, None))
        if len(batch) >= 50_000:
            with conn:
                conn.executemany(ins, batch)
            batch = []
    with conn:
        conn.executemany(ins, batch)
        conn.executemany("INSERT INTO feedback (request_id, ts, key_id, label, target) VALUES (?, ?, ?, ?, ?)", fbs)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    return path


def fill_postgres(url: str, n: int) -> None:
    import psycopg

    from tunewise.monitor.store import open_store

    open_store(url).close()
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE feedback, requests, api_keys, alerts, monitor_reports RESTART IDENTITY")
        fbs = []
        with conn.cursor() as cur, cur.copy(f"COPY requests ({', '.join(_COLS)}) FROM STDIN") as copy:
            for req, fb in _rows(n):
                copy.write_row((*req[:1], req[1] + "+00", *req[2:]))
                if fb is not None:
                    fbs.append((req[0], fb))
        with conn.cursor() as cur, cur.copy("COPY feedback (request_id, ts, key_id, label) FROM STDIN") as copy:
            for rid, fb in fbs:
                copy.write_row((rid, (END - timedelta(minutes=1)).isoformat(), "key0", fb))
        conn.execute("ANALYZE")


# ---- the methods, each run in a fresh process -----------------------------------------------------
_CHILD = r'''
import json, resource, sys, time
from datetime import datetime, timedelta
from decimal import Decimal

method, url, end_s, span_s, buckets, out = sys.argv[1:7]
end, span, buckets = datetime.fromisoformat(end_s), timedelta(seconds=float(span_s)), int(buckets)
start, step = end - span, span / buckets
def rss():
    # VmHWM: this process's own peak. ru_maxrss would not do: Linux carries the parent's peak RSS
    # over fork + exec into the child's ru_maxrss, and the parent here holds the generated rows.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def emit(series, totals, seconds, rss_before):
    json.dump({"seconds": seconds, "peak_rss_mb": rss(), "rss_before_mb": rss_before,
               "series": series, "totals": totals}, open(out, "w"))

if method == "tunewise":
    from tunewise.monitor.store import open_store
    from tunewise.monitor.timeseries import dashboard_data
    store = open_store(url)
    before = rss(); t0 = time.perf_counter()
    doc = dashboard_data(store, span=span, buckets=buckets, end=end)
    secs = time.perf_counter() - t0
    series = [{"requests": b["requests"], "blocked": b["blocked"], "flagged": b["flagged"], "p50": b["p50_ms"],
               "p95": b["p95_ms"], "spend": b["spend_usd"], "feedback_n": b["feedback_n"], "accuracy": b["accuracy"]}
              for b in doc["series"]]
    emit(series, doc["totals"], secs, before)

elif method == "pandas":
    import pandas as pd
    import sqlalchemy
    from tunewise.monitor.store import normalise_url
    engine = sqlalchemy.create_engine(normalise_url(url))
    sqlite = engine.dialect.name == "sqlite"
    bind = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d)
    before = rss(); t0 = time.perf_counter()
    df = pd.read_sql(sqlalchemy.text("SELECT id, ts, status, guard_action, cost_usd, latency_ms, output FROM requests "
                                     "WHERE ts >= :start AND ts < :end"), engine,
                     params={"start": bind(start), "end": bind(end)})
    fb = pd.read_sql("SELECT request_id, id, label FROM feedback", engine)
    latest = fb.sort_values("id").drop_duplicates("request_id", keep="last")[["request_id", "label"]]
    df = df.merge(latest, how="left", left_on="id", right_on="request_id")
    ts = pd.to_datetime(df["ts"], utc=True)
    df["b"] = (ts - pd.Timestamp(start)) // pd.Timedelta(step)
    df["served"] = df["status"] == 200
    df["blocked"] = df["guard_action"] == "block"
    df["flagged"] = df["guard_action"] == "flag"
    df["cost"] = df["cost_usd"].map(Decimal)
    g = df.groupby("b")
    counts = g.agg(requests=("id", "size"), blocked=("blocked", "sum"), flagged=("flagged", "sum"))
    spend = g["cost"].sum()
    served = df[df["served"]]
    q = served.groupby("b")["latency_ms"].quantile([0.5, 0.95]).unstack()
    fbk = served[served["label"].notna()]
    fbn = fbk.groupby("b").size()
    correct = (fbk["label"] == fbk["output"]).groupby(fbk["b"]).sum()
    secs = time.perf_counter() - t0
    series = []
    for i in range(buckets):
        has = i in counts.index
        n_fb = int(fbn.get(i, 0))
        series.append({"requests": int(counts["requests"].get(i, 0)), "blocked": int(counts["blocked"].get(i, 0)),
                       "flagged": int(counts["flagged"].get(i, 0)),
                       "p50": float(q.loc[i, 0.5]) if i in q.index else None,
                       "p95": float(q.loc[i, 0.95]) if i in q.index else None,
                       "spend": str(spend.get(i, Decimal(0))) if has else "0", "feedback_n": n_fb,
                       "accuracy": int(correct.get(i, 0)) / n_fb if n_fb else None})
    emit(series, {"requests": int(len(df)), "spend_usd": str(sum(df["cost"], Decimal(0)))}, secs, before)

elif method == "legacy":
    import numpy as np
    from tunewise.monitor.store import open_store
    store = open_store(url)
    before = rss(); t0 = time.perf_counter()
    rows = store.fetch_requests(start=start, end=end)
    series = []
    for i in range(buckets):
        b0, b1 = start + i * step, start + (i + 1) * step
        part = [r for r in rows if b0 <= r["ts"] < b1]
        served = [r["latency_ms"] for r in part if r["status"] == 200]
        p = np.percentile(served, [50, 95]) if served else [None, None]
        fb = [r for r in part if r["status"] == 200 and r.get("feedback_label") is not None]
        correct = sum(r["feedback_label"] == r["output"] for r in fb)
        series.append({"requests": len(part), "blocked": sum(r["guard_action"] == "block" for r in part),
                       "flagged": sum(r["guard_action"] == "flag" for r in part),
                       "p50": None if p[0] is None else float(p[0]), "p95": None if p[1] is None else float(p[1]),
                       "spend": str(sum((r["cost_usd"] for r in part), Decimal(0))), "feedback_n": len(fb),
                       "accuracy": correct / len(fb) if fb else None})
    totals = {"requests": len(rows), "spend_usd": str(sum((r["cost_usd"] for r in rows), Decimal(0)))}
    secs = time.perf_counter() - t0
    emit(series, totals, secs, before)
'''


def _run(method: str, url: str, repeats: int) -> dict:
    best: dict | None = None
    for _ in range(repeats):
        with tempfile.NamedTemporaryFile(suffix=".json", dir=OUT, delete=False) as fh:
            out = Path(fh.name)
        try:
            subprocess.run([sys.executable, "-c", _CHILD, method, url, END.isoformat(), str(SPAN.total_seconds()),
                            str(BUCKETS), str(out)], check=True)
            got = json.loads(out.read_text())
        finally:
            out.unlink(missing_ok=True)
        if best is None or got["seconds"] < best["seconds"]:
            best = {**got, "peak_rss_mb": max(got["peak_rss_mb"], (best or got)["peak_rss_mb"])}
    return best


def _same(a: dict, b: dict, what: str) -> None:
    from decimal import Decimal

    assert a["totals"]["requests"] == b["totals"]["requests"], (what, "totals.requests")
    assert Decimal(a["totals"]["spend_usd"]) == Decimal(b["totals"]["spend_usd"]), (what, "totals.spend")
    for i, (x, y) in enumerate(zip(a["series"], b["series"], strict=True)):
        for k in ("requests", "blocked", "flagged", "feedback_n"):
            assert x[k] == y[k], (what, i, k, x[k], y[k])
        assert Decimal(x["spend"]) == Decimal(y["spend"]), (what, i, "spend", x["spend"], y["spend"])
        for k in ("p50", "p95", "accuracy"):
            assert (x[k] is None) == (y[k] is None) and (x[k] is None or math.isclose(x[k], y[k], rel_tol=REL)), \
                (what, i, k, x[k], y[k])


def _compare(label: str, url: str, n: int, repeats: int, legacy: bool) -> dict:
    methods = {"tunewise": "tunewise: SQL GROUP BY in the database (dashboard_data)",
               "pandas": "baseline: pandas read_sql + groupby",
               "legacy": "previous tunewise: fetch_requests rows + Python loop"}
    if not legacy:
        methods.pop("legacy")
    res = {m: _run(m, url, repeats) for m in methods}
    for m in methods:
        if m != "tunewise":
            _same(res["tunewise"], res[m], f"{label}: tunewise vs {m}")
    assert res["tunewise"]["totals"]["requests"] == n, (res["tunewise"]["totals"], n)
    tw = res["tunewise"]
    print(f"\n{label}: {n:,} stored requests, {BUCKETS} buckets over {SPAN.total_seconds() / 3600:g} h "
          f"(figures equal across methods)")
    print(f"{'method':<58} {'s':>8} {'peak RSS MiB':>13} {'time / tunewise':>16} {'RSS / tunewise':>15}")
    rows = {}
    for m, name in methods.items():
        r = res[m]
        rows[name] = {"seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"], "rss_before_mb": r["rss_before_mb"],
                      "time_ratio_vs_tunewise": r["seconds"] / tw["seconds"],
                      "rss_ratio_vs_tunewise": r["peak_rss_mb"] / tw["peak_rss_mb"]}
        ratios = rows[name]
        print(f"{name:<58} {r['seconds']:>8.2f} {r['peak_rss_mb']:>13,.0f} {ratios['time_ratio_vs_tunewise']:>15.2f}x "
              f"{ratios['rss_ratio_vs_tunewise']:>14.2f}x")
    return {"rows": n, "methods": rows}


def _postgres() -> tuple[str, object] | str:
    if os.environ.get("TUNEWISE_BENCH_PG_URL"):
        return os.environ["TUNEWISE_BENCH_PG_URL"], lambda: None
    import importlib.util

    name = "tunewise_serve_testkit"
    if name not in sys.modules:   # the tests' throwaway-cluster helper, loaded by path
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "tests" / "serve" / "kit.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    pg = sys.modules[name].start_postgres(Path(tempfile.gettempdir()))
    return pg if isinstance(pg, str) else (pg.url, pg.stop)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    n = int(os.environ.get("TUNEWISE_BENCH_MONITOR_ROWS", "1000000"))
    pg_n = int(os.environ.get("TUNEWISE_BENCH_MONITOR_PG_ROWS", "200000"))
    repeats = int(os.environ.get("TUNEWISE_BENCH_MONITOR_REPEATS", "2"))
    legacy_env = os.environ.get("TUNEWISE_BENCH_MONITOR_LEGACY")
    legacy = (n <= 250_000) if legacy_env is None else legacy_env == "1"
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    db = build_sqlite(OUT / f"bench_monitor_{n}.db", n)
    print(f"store: {db.name}, {db.stat().st_size / 1e6:,.0f} MB")
    result = {"cpus": os.cpu_count(), "buckets": BUCKETS, "span_h": SPAN.total_seconds() / 3600,
              "sqlite": _compare("SQLite", f"sqlite:///{db}", n, repeats, legacy)}
    if not legacy:
        print("(previous tunewise path skipped above 250,000 rows; TUNEWISE_BENCH_MONITOR_LEGACY=1 runs it)")
    if pg_n > 0:
        pg = _postgres()
        if isinstance(pg, str):
            print(f"\nPostgreSQL skipped: {pg}")
            result["postgres"] = {"skipped": pg}
        else:
            url, stop = pg
            try:
                fill_postgres(url, pg_n)
                result["postgres"] = _compare("PostgreSQL", url, pg_n, repeats, legacy=pg_n <= 250_000)
            finally:
                stop()
    (OUT / "monitor.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
