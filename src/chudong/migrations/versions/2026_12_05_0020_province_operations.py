"""operations: worker lanes; dossier contents, life-event reasons, receipts and message bodies sealed

Revision ID: 20261205_0020
Revises: 20261205_0019

``worker_lane``: what each lane of each running worker is doing, for ``/metrics``.

Sealed whole (``privacy.service.PROTECTED_0020``): ``dossier.fields``, ``dossier_event.data``,
``dossier_result.data``, ``life_event.reason``, ``delivery_receipt.payload`` and
``notification.rendered`` become text holding the sealed JSON document; ``quality_issue.detail``
is sealed in place; ``notification.body_purged_at`` records the retention purge. Existing rows are sealed in batches with the configured keys; the downgrade
opens them (it needs the same keys) and gives the JSON columns back.
"""

import sqlalchemy as sa
from alembic import op

from chudong.db import UTCDateTime
from chudong.privacy.service import PROTECTED_0020, run

revision = "20261205_0020"
down_revision = "20261205_0019"
branch_labels = None
depends_on = None

DOCUMENTS = [(s.table, s.column) for s in PROTECTED_0020 if (s.table, s.column) != ("quality_issue", "detail")]


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
    for table, column in DOCUMENTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_type=sa.JSON(), postgresql_using=f"{column}::text")
    run(op.get_bind(), "seal", specs=PROTECTED_0020)
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("body_purged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("body_purged_at")
    run(op.get_bind(), "open", specs=PROTECTED_0020)
    for table, column in DOCUMENTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.JSON(), existing_type=sa.Text(), postgresql_using=f"{column}::json")
    op.drop_table("worker_lane")
