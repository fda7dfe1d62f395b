"""operations: worker lanes

Revision ID: 20261205_0020
Revises: 20261204_0016

``worker_lane``: what each lane of each running worker is doing, for ``/metrics``.
"""

import sqlalchemy as sa
from alembic import op

from chudong.db import UTCDateTime

revision = "20261205_0020"
down_revision = "20261204_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_lane",
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("lane", sa.String(40), nullable=False),
        sa.Column("jobs", sa.String(400), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("running_job", sa.String(80)),
        sa.Column("running_since", UTCDateTime()),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_job", sa.String(80)),
        sa.Column("last_did", sa.Integer()),
        sa.Column("last_error", sa.String(300)),
        sa.PrimaryKeyConstraint("worker", "lane", name="pk_worker_lane"),
    )


def downgrade() -> None:
    op.drop_table("worker_lane")
