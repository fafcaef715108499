"""The store's tables (SQLAlchemy Core). The Alembic migrations in ``migrations/versions`` create
exactly these; ``tests/monitor`` checks that the migrated schema and this metadata agree.

Money is stored as a decimal string (``DecimalText``) so SQLite keeps it exact (SQLite has no decimal
type: SQLAlchemy's Numeric would round-trip through float there). Times are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class DecimalText(TypeDecorator):
    """A Decimal stored as its canonical string: exact on every backend."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        return format(value, "f")

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


requests = Table(
    "requests", metadata,
    Column("id", String(36), primary_key=True),            # request id returned to the client
    Column("ts", UTCDateTime(), nullable=False),            # when the response was decided
    Column("key_id", String(32), nullable=False),           # API key id, never the key
    Column("endpoint", String(32), nullable=False),         # classify | chat
    Column("status", Integer, nullable=False),              # HTTP status sent (200, or 400 when blocked)
    Column("item", Integer, nullable=False, default=0),     # index inside a batch request
    Column("input_redacted", Text, nullable=False),         # input after PII redaction
    Column("output", Text, nullable=True),                  # label or generated text (redacted)
    Column("scores", Text, nullable=True),                  # JSON {label: prob}
    Column("confidence", Float, nullable=True),             # max score
    Column("text_chars", Integer, nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),            # whole request, server side
    Column("model_ms", Float, nullable=False),              # this item's share of model compute
    Column("cost_usd", DecimalText(), nullable=False),      # self-hosted compute cost of this item
    Column("guard_action", String(8), nullable=False),      # allow | flag | block
    Column("guard_decisions", Text, nullable=False),        # JSON list of {stage, rule, action, detail}
    Column("model", String(200), nullable=False),
)
Index("ix_requests_ts", requests.c.ts)
Index("ix_requests_key_ts", requests.c.key_id, requests.c.ts)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), ForeignKey("requests.id"), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("label", String(200), nullable=True),
    Column("target", Text, nullable=True),
)
Index("ix_feedback_request", feedback.c.request_id)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("digest", String(64), nullable=False),          # hmac-sha256(salt, secret), hex
    Column("scopes", String(200), nullable=False),         # comma-separated
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("name", String(200), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("op", String(4), nullable=False),
    Column("threshold", String(64), nullable=False),
    Column("value", String(64), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("message", Text, nullable=False),
)
Index("ix_alerts_ts", alerts.c.ts)

monitor_reports = Table(
    "monitor_reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),                # the `tunewise monitor --json` document
)
Index("ix_monitor_reports_ts", monitor_reports.c.ts)

uptime = Table(
    "uptime", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("replica_id", String(64), nullable=False),       # one server process, one id per start
    Column("instance", String(200), nullable=False),        # the machine it runs on (billed once however many replicas)
    Column("event", String(16), nullable=False),            # start | heartbeat | stop
    Column("usd_per_hour", DecimalText(), nullable=True),   # the hourly price the replica was started with
    Column("price_source", String(200), nullable=True),
    Column("model", String(200), nullable=True),
)
Index("ix_uptime_replica_ts", uptime.c.replica_id, uptime.c.ts)
Index("ix_uptime_ts", uptime.c.ts)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("candidate", String(200), nullable=False),
    Column("verdict", String(64), nullable=False),           # still the right choice | cheaper option now | ...
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),                 # the `tunewise review --json` document
)
Index("ix_reviews_ts", reviews.c.ts)

dashboard_sessions = Table(
    "dashboard_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),     # sha256 of the random cookie token, hex
    Column("key_id", String(32), nullable=False),           # the API key that signed in
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
Index("ix_dashboard_sessions_expires", dashboard_sessions.c.expires_at)
