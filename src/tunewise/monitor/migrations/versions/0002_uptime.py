"""uptime: start / heartbeat / stop rows per server replica (spend = instance-hours x hourly price);
reviews: the `tunewise review` documents (the dashboard's plan-vs-actual panel shows the latest)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from tunewise.monitor.schema import DecimalText, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uptime",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("replica_id", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("usd_per_hour", DecimalText(), nullable=True),
        sa.Column("price_source", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
    )
    op.create_index("ix_uptime_replica_ts", "uptime", ["replica_id", "ts"])
    op.create_index("ix_uptime_ts", "uptime", ["ts"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(64), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_reviews_ts", "reviews", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_reviews_ts", "reviews")
    op.drop_table("reviews")
    op.drop_index("ix_uptime_ts", "uptime")
    op.drop_index("ix_uptime_replica_ts", "uptime")
    op.drop_table("uptime")
