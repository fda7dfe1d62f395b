"""notifications: partial index for the dispatcher's overdue-fallback query

Revision ID: 20261122_0014
Revises: 20261122_0013

``reroute_overdue`` runs after every dispatch batch and looks for sent messages whose
``deliver_by`` has passed. Without this index it walked every ``sent`` row (all SMS awaiting
a receipt); only rows that still have a channel to fall back to carry ``deliver_by``.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0014"
down_revision = "20261122_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notification_overdue", "notification", ["deliver_by"],
                    postgresql_where=sa.text("deliver_by IS NOT NULL"), sqlite_where=sa.text("deliver_by IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_notification_overdue", table_name="notification")
