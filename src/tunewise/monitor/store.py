"""The request/feedback store: SQLAlchemy, SQLite (WAL) by default, Postgres by URL.

``open_store(url)`` creates the database if needed and applies the packaged Alembic migrations before
returning, so every process sees the same schema. Writes are transactional: a batch of request
records is committed all together or not at all, so a killed server never leaves half a request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_UPGRADE_LOCK = threading.Lock()
_MIGRATION_LOCK_KEY = 0x7475_6E65_7769_7365 & 0x7FFF_FFFF_FFFF_FFFF   # "tunewise": pg advisory lock id


def normalise_url(url: str | Path) -> str:
    """A SQLAlchemy URL from what a user types: a file path, sqlite:///..., or postgresql://..."""
    text = str(url).strip()
    if not text:
        raise BadInputError("empty store URL", fix="Pass --db sqlite:///requests.db or a postgresql:// URL")
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    scheme = text.split("://", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
        return text
    raise BadInputError(f"unsupported store URL scheme '{scheme}'", where="--db",
                        why="the store speaks SQLite and PostgreSQL",
                        fix="Use sqlite:///path/to/requests.db or postgresql://user@host:port/db")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")       # readers never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")     # durable across process crashes (SIGKILL) in WAL mode
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """One database. Thread-safe (a connection pool); create with ``open_store``."""

    def __init__(self, url: str, engine) -> None:  # noqa: ANN001
        self.url = url
        self.engine = engine

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_revision(self) -> str | None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM tunewise_alembic_version")).scalar()

    # ---- requests --------------------------------------------------------------------------
    def insert_requests(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert request records in one transaction (all or nothing). Every free-text field passes the
        PII redactor first (``tunewise.monitor.privacy``), whatever the caller did."""
        if not rows:
            return
        from tunewise.monitor.privacy import scrub_request_row
        from tunewise.monitor.schema import requests

        with self.engine.begin() as conn:
            conn.execute(requests.insert(), [_encode_request(scrub_request_row(r)) for r in rows])

    def count_requests(self, *, status: int | None = None, start: datetime | None = None,
                       end: datetime | None = None, models: Sequence[str] | None = None) -> int:
        """Requests in [start, end) (of ``models`` only, when given: ids in the ``model`` column)."""
        from sqlalchemy import func, select

        from tunewise.monitor.schema import requests

        q = select(func.count()).select_from(requests)
        q = _window(q, requests, start, end, models)
        if status is not None:
            q = q.where(requests.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def request_ids(self) -> set[str]:
        from sqlalchemy import select

        from tunewise.monitor.schema import requests

        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(requests.c.id))}

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        from sqlalchemy import select

        from tunewise.monitor.schema import requests

        with self.engine.connect() as conn:
            rows = conn.execute(select(requests).where(requests.c.id == request_id)).mappings().all()
        return _decode_request(dict(rows[0])) if rows else None

    def fetch_requests(self, *, start: datetime | None = None, end: datetime | None = None,
                       limit: int | None = None, models: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Requests in [start, end) (of ``models`` only, when given), oldest first, with feedback
        label/target joined in."""
        from sqlalchemy import and_, select

        from tunewise.monitor.schema import feedback, requests

        # The latest feedback row of each request, found through ix_feedback_request per request: a
        # join against a GROUP BY over the whole feedback table made SQLite scan it once per request.
        fb, later = feedback.alias("fb"), feedback.alias("later")
        latest = (select(_max_id(later)).where(later.c.request_id == fb.c.request_id)
                  .correlate(fb).scalar_subquery())
        q = (select(requests, fb.c.label.label("feedback_label"), fb.c.target.label("feedback_target"))
             .select_from(requests.outerjoin(fb, and_(fb.c.request_id == requests.c.id, fb.c.id == latest)))
             .order_by(requests.c.ts, requests.c.id))
        q = _window(q, requests, start, end, models)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [_decode_request(dict(r)) for r in conn.execute(q).mappings()]

    def time_range(self, *, models: Sequence[str] | None = None) -> tuple[datetime, datetime] | None:
        from sqlalchemy import func, select

        from tunewise.monitor.schema import requests

        q = _window(select(func.min(requests.c.ts), func.max(requests.c.ts)), requests, None, None, models)
        with self.engine.connect() as conn:
            lo, hi = conn.execute(q).one()
        if lo is None:
            return None
        from tunewise.monitor.schema import UTCDateTime

        conv = UTCDateTime().process_result_value
        return conv(lo, self.engine.dialect), conv(hi, self.engine.dialect)

    def model_ids(self) -> dict[str, int]:
        """``{model id: stored requests}`` for every id in the ``model`` column, most requests first."""
        from sqlalchemy import func, select

        from tunewise.monitor.schema import requests

        n = func.count().label("n")
        q = select(requests.c.model, n).group_by(requests.c.model).order_by(n.desc(), requests.c.model)
        with self.engine.connect() as conn:
            return {m: int(k) for m, k in conn.execute(q)}

    # ---- aggregates (computed by the database; see tunewise.monitor.aggregate) -------------
    def bucket_series(self, *, start: datetime, end: datetime, buckets: int = 1,
                      quantiles: Sequence[float] | None = None,
                      timings: Sequence[str] = ("latency_ms",), models: Sequence[str] | None = None) -> Any:
        """Per-bucket counts, exact spend, tokens, feedback accuracy counts and percentiles of
        ``timings`` ("latency_ms", "model_ms") for ``[start, end)`` split into ``buckets`` equal buckets,
        by SQL GROUP BY (no request row is loaded), over the requests of ``models`` only when given.
        Returns an ``aggregate.Series``."""
        from tunewise.monitor.aggregate import QUANTILES, bucket_series

        return bucket_series(self.engine, start=start, end=end, count=buckets, quantiles=quantiles or QUANTILES,
                             timings=timings, models=models)

    def guardrail_counts(self, *, start: datetime, end: datetime,
                         models: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        """``{"by_action": {...}, "by_rule": {...}}`` for requests in ``[start, end)`` (of ``models`` only,
        when given), counted in SQL."""
        from tunewise.monitor.aggregate import guardrail_counts

        return guardrail_counts(self.engine, start=start, end=end, models=models)

    # ---- uptime (see tunewise.monitor.uptime) -----------------------------------------------
    def record_uptime(self, event: str, *, replica_id: str, instance: str, ts: datetime | None = None,
                      usd_per_hour: Any = None, price_source: str | None = None, model: str | None = None) -> None:
        """One start / heartbeat / stop row of a serving replica."""
        from tunewise.monitor import uptime
        from tunewise.monitor.schema import utcnow

        uptime.record(self.engine, event=event, replica_id=replica_id, instance=instance, ts=ts or utcnow(),
                      usd_per_hour=usd_per_hour, price_source=price_source, model=model)

    def uptime_intervals(self, *, start: datetime | None = None, end: datetime | None = None) -> list[Any]:
        """Each replica's up interval clipped to ``[start, end)`` (``uptime.Interval``)."""
        from tunewise.monitor import uptime

        return uptime.intervals(self.engine, start=start, end=end)

    # ---- feedback --------------------------------------------------------------------------
    def add_feedback(self, request_id: str, *, key_id: str, label: str | None = None,
                     target: str | None = None, same_key: bool = False) -> bool:
        """Record a true label/target for a stored request. False if the request id is unknown (or, with
        ``same_key``, was made with another API key).
        Label and target are PII-redacted before they are written (``tunewise.monitor.privacy``)."""
        from sqlalchemy import select

        from tunewise.monitor.privacy import scrub
        from tunewise.monitor.schema import feedback, requests, utcnow

        label, target = scrub(label), scrub(target)

        with self.engine.begin() as conn:
            found = conn.execute(select(requests.c.id, requests.c.key_id).where(requests.c.id == request_id)).first()
            if found is None or (same_key and found.key_id != key_id):
                return False
            conn.execute(feedback.insert(), {"request_id": request_id, "ts": utcnow(), "key_id": key_id,
                                             "label": label, "target": target})
        return True

    # ---- alerts and monitor reports ---------------------------------------------------------
    def add_alerts(self, rows: Iterable[dict[str, Any]]) -> None:
        from tunewise.monitor.schema import alerts

        rows = list(rows)
        if rows:
            with self.engine.begin() as conn:
                conn.execute(alerts.insert(), rows)

    def list_alerts(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from tunewise.monitor.schema import alerts

        q = select(alerts).order_by(alerts.c.ts, alerts.c.id)
        if since is not None:
            q = q.where(alerts.c.ts >= since)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def save_report(self, payload: dict[str, Any], *, window_start: datetime, window_end: datetime) -> None:
        from tunewise.monitor.schema import monitor_reports, utcnow

        text = json.dumps(payload, default=str)
        with self.engine.begin() as conn:
            conn.execute(monitor_reports.insert(), {"ts": utcnow(), "window_start": window_start,
                                                    "window_end": window_end, "payload": text})

    def latest_report(self, *, models: Sequence[str] | None = None) -> dict[str, Any] | None:
        """The newest saved monitor report; with ``models``, the newest of the last 200 whose run's ids
        (its ``models``, or its ``model`` in reports older than that field) meet them."""
        from sqlalchemy import select

        from tunewise.monitor.schema import monitor_reports

        q = select(monitor_reports.c.payload).order_by(monitor_reports.c.id.desc()).limit(1 if models is None else 200)
        with self.engine.connect() as conn:
            for (payload,) in conn.execute(q):
                doc = json.loads(payload)
                if models is None or set(doc.get("models") or [doc.get("model")]) & set(models):
                    return doc
        return None


    # ---- reviews ---------------------------------------------------------------------------
    def save_review(self, payload: dict[str, Any], *, candidate: str, verdict: str, window_start: datetime,
                    window_end: datetime) -> None:
        from tunewise.monitor.schema import reviews, utcnow

        with self.engine.begin() as conn:
            conn.execute(reviews.insert(), {"ts": utcnow(), "candidate": candidate[:200], "verdict": verdict[:64],
                                            "window_start": window_start, "window_end": window_end,
                                            "payload": json.dumps(payload, default=str)})

    def latest_review(self) -> dict[str, Any] | None:
        from sqlalchemy import select

        from tunewise.monitor.schema import reviews

        q = select(reviews.c.payload).order_by(reviews.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return json.loads(row[0]) if row else None


def _max_id(table):  # noqa: ANN001, ANN202
    from sqlalchemy import func

    return func.max(table.c.id)


def _window(q, table, start, end, models=None):  # noqa: ANN001, ANN202
    """``q`` limited to ``start <= ts < end`` and to the rows whose ``model`` is in ``models`` (None: all)."""
    from tunewise.monitor.aggregate import model_filter

    if start is not None:
        q = q.where(table.c.ts >= start)
    if end is not None:
        q = q.where(table.c.ts < end)
    return q.where(*model_filter(table, models))


def _encode_request(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in ("scores", "guard_decisions"):
        if out.get(name) is not None and not isinstance(out[name], str):
            out[name] = json.dumps(out[name], ensure_ascii=False)
    out.setdefault("item", 0)
    return out


def _decode_request(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("scores", "guard_decisions"):
        if isinstance(row.get(name), str):
            row[name] = json.loads(row[name])
    return row


def open_store(url: str | Path, *, migrate: bool = True) -> Store:
    """Open (and create/migrate) the store at ``url``: a path, sqlite:///file, or postgresql://..."""
    from tunewise.errors import require

    sqlalchemy = require("sqlalchemy", "serve")
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    norm = normalise_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if norm.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        db_path = norm.split(":///", 1)[1] if ":///" in norm else ""
        if db_path and db_path != ":memory:":
            parent = Path(db_path).parent
            if not parent.is_dir():
                raise BadInputError(f"store directory does not exist: {parent}", where="--db",
                                    fix="Create the directory first or pass another sqlite path")
    else:
        kwargs.update(pool_size=8, max_overflow=8)
    engine = sqlalchemy.create_engine(norm, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(norm, engine)
    try:
        if migrate:
            _upgrade(engine)
        else:
            with engine.connect():
                pass
    except OperationalError as exc:
        engine.dispose()
        raise BadInputError("cannot open the store", where=safe_url(norm),
                            why=str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc),
                            fix="Check the --db URL, that the server is running and the credentials") from None
    except SQLAlchemyError:
        engine.dispose()
        raise
    return store


def _upgrade(engine) -> None:  # noqa: ANN001
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _UPGRADE_LOCK, engine.begin() as conn:
        # Replicas starting together against a new database must not both create the tables: the
        # first takes a database-wide lock for its migration transaction, the others wait for it and
        # then find the schema at head (the thread lock above only covers one process).
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        elif engine.dialect.name == "sqlite" and not _at_head(conn, cfg):
            # SQLite's write lock (waited for up to busy_timeout), only when there is something to
            # migrate, so opening an up-to-date store never queues behind a busy writer
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str:
    """The newest packaged migration (what ``open_store`` upgrades every store to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def _at_head(conn, cfg) -> bool:  # noqa: ANN001
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(cfg).get_current_head()
    ctx = MigrationContext.configure(conn, opts={"version_table": "tunewise_alembic_version"})
    return ctx.get_current_revision() == head


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]
