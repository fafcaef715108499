"""One store contract suite, run on SQLite and on PostgreSQL (the `store` fixture is parametrized)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from tunewise.errors import BadInputError
from tunewise.monitor.schema import metadata, utcnow


def row(i: int, *, ts: datetime | None = None, cost: str = "0.000000000001", status: int = 200, **kw) -> dict:
    base = {"id": f"req-{i:05d}", "ts": ts or utcnow(), "key_id": "k1", "endpoint": "classify", "status": status,
            "item": 0, "input_redacted": f"text {i} [email]", "output": "fresh", "scores": {"fresh": 0.7, "rotten": 0.3},
            "confidence": 0.7, "text_chars": 12, "tokens_in": 5, "tokens_out": 0, "latency_ms": 12.5, "model_ms": 4.0,
            "cost_usd": Decimal(cost), "guard_action": "allow", "guard_decisions": [{"rule": "pii.email"}], "model": "m"}
    base.update(kw)
    return base


def _head() -> str:
    from tunewise.monitor.store import head_revision

    return head_revision()


def test_migrations_applied_and_schema_matches_metadata(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tunewise.monitor.store import head_revision

    assert store.schema_revision() == head_revision() and head_revision() >= "0003"
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "tunewise_alembic_version"})
        diffs = [d for d in compare_metadata(ctx, metadata) if "tunewise_alembic_version" not in str(d)]
    assert diffs == []


def test_reopen_is_idempotent_and_keeps_data(store):
    from tunewise.monitor.store import head_revision, open_store

    store.insert_requests([row(1)])
    again = open_store(store.url)
    try:
        assert again.schema_revision() == head_revision()
        assert again.count_requests() == 1
    finally:
        again.close()


def test_roundtrip_money_exact_times_utc_json(store):
    t = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    store.insert_requests([row(i, ts=t + timedelta(seconds=i), cost="0.000000000001") for i in range(3)])
    got = store.fetch_requests()
    assert [r["id"] for r in got] == ["req-00000", "req-00001", "req-00002"]
    assert got[0]["ts"] == t and got[0]["ts"].tzinfo is not None
    assert sum((r["cost_usd"] for r in got), Decimal(0)) == Decimal("0.000000000003")
    assert all(isinstance(r["cost_usd"], Decimal) for r in got)
    assert got[0]["scores"] == {"fresh": 0.7, "rotten": 0.3}
    assert got[0]["guard_decisions"] == [{"rule": "pii.email"}]


def test_float_money_is_refused(store):
    with pytest.raises(Exception, match="Decimal"):
        store.insert_requests([row(1, cost_usd=0.1)])
    assert store.count_requests() == 0


def test_batch_insert_is_all_or_nothing(store):
    store.insert_requests([row(1)])
    with pytest.raises(IntegrityError):
        store.insert_requests([row(2), row(3), row(1)])  # duplicate id in the batch
    assert store.request_ids() == {"req-00001"}


def test_windows_are_half_open(store):
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    store.insert_requests([row(i, ts=t0 + timedelta(minutes=i)) for i in range(10)])
    assert store.count_requests(start=t0, end=t0 + timedelta(minutes=5)) == 5
    assert store.count_requests(start=t0 + timedelta(minutes=5)) == 5
    assert [r["id"] for r in store.fetch_requests(start=t0 + timedelta(minutes=9))] == ["req-00009"]
    lo, hi = store.time_range()
    assert (lo, hi) == (t0, t0 + timedelta(minutes=9))


def test_feedback_joins_latest_and_unknown_id_is_refused(store):
    store.insert_requests([row(1), row(2)])
    assert store.add_feedback("req-00001", key_id="k1", label="rotten")
    assert store.add_feedback("req-00001", key_id="k1", label="fresh")   # a correction
    assert not store.add_feedback("nope", key_id="k1", label="fresh")
    by_id = {r["id"]: r for r in store.fetch_requests()}
    assert by_id["req-00001"]["feedback_label"] == "fresh"
    assert by_id["req-00002"]["feedback_label"] is None
    assert len(by_id) == 2


def test_concurrent_writers_lose_nothing(store):
    def work(k: int) -> None:
        for j in range(20):
            store.insert_requests([row(k * 1000 + j)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_requests() == 120


def test_keys_hashed_verified_revoked(store):
    from sqlalchemy import text

    from tunewise.serve.keys import create_key, list_keys, lookup_key, revoke_key

    info, plain = create_key(store, "svc", ["classify"])
    assert plain.startswith(f"tw_{info.key_id}_")
    assert lookup_key(store, plain)[0] == "ok"
    assert lookup_key(store, plain[:-1] + ("A" if plain[-1] != "A" else "B"))[0] == "invalid"
    assert lookup_key(store, "tw_000000000000_" + "x" * 43)[0] == "invalid"
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for r in conn.execute(text("SELECT * FROM api_keys")) for v in r)
    assert plain.split("_", 2)[2] not in dump
    revoke_key(store, info.key_id)
    assert lookup_key(store, plain)[0] == "revoked"
    assert [k.active for k in list_keys(store)] == [False]
    with pytest.raises(BadInputError, match="no API key"):
        revoke_key(store, "doesnotexist")


def test_alerts_and_reports_roundtrip(store):
    t = utcnow()
    store.add_alerts([{"ts": t, "name": "p95", "metric": "latency_ms.p95", "op": ">", "threshold": "100",
                       "value": "150.5", "window_start": t - timedelta(hours=1), "window_end": t, "message": "p95 high"}])
    assert store.list_alerts()[0]["message"] == "p95 high"
    store.save_report({"a": 1}, window_start=t - timedelta(hours=1), window_end=t)
    store.save_report({"a": 2}, window_start=t - timedelta(hours=1), window_end=t)
    assert store.latest_report() == {"a": 2}


def test_bad_urls_are_clear(tmp_path):
    from tunewise.monitor.store import open_store

    with pytest.raises(BadInputError, match="unsupported store URL scheme 'mysql'"):
        open_store("mysql://x@y/z")
    with pytest.raises(BadInputError, match="store directory does not exist"):
        open_store(f"sqlite:///{tmp_path}/missing/dir/x.db")
    from tunewise_serve_testkit import free_port  # noqa: PLC0415 - loaded by conftest

    port = free_port()
    with pytest.raises(BadInputError) as exc:
        open_store(f"postgresql://u:s3cret@127.0.0.1:{port}/db")
    assert "cannot open the store" in str(exc.value) and "s3cret" not in str(exc.value)


def test_store_is_the_redaction_boundary_on_every_backend(store):
    """Whatever the caller did, PII and characters a column cannot hold never reach the database: a raw
    dump of the tables (SQL on every backend) holds redactions only, and NUL is stored as U+FFFD on
    PostgreSQL instead of failing the write forever."""
    from sqlalchemy import text

    raw = "mail lucinda.farrow@bluecap.example, call 4155550139, key AKIAQ2W3E4R5T6Y7U8I9, nul \x00 here \ud801"
    store.insert_requests([row(7, input_redacted=raw, output="reply to lucinda.farrow@bluecap.example",
                               guard_decisions=[{"stage": "input", "rule": "x", "action": "flag",
                                                 "detail": "seen 4155550139"}])])
    assert store.add_feedback("req-00007", key_id="k1", target="fixed: call 4155550139 \x00")
    assert store.add_feedback("req-00007", key_id="k1", label="lucinda.farrow@bluecap.example")
    assert not store.add_feedback("req-00007", key_id="someone-else", label="x", same_key=True)
    with store.engine.connect() as conn:
        dump = "\n".join(str(v) for t in ("requests", "feedback") for r in conn.execute(text(f"SELECT * FROM {t}"))
                          for v in r)
    for secret in ("lucinda", "bluecap", "4155550139", "AKIAQ2W3", "\x00", "\ud801"):
        assert secret not in dump, secret
    got = store.get_request("req-00007")
    assert "[EMAIL]" in got["input_redacted"] and "[PHONE]" in got["input_redacted"] and "[SECRET]" in got["input_redacted"]
