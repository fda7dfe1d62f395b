"""analytics: partial index of citizen confirmations, result (dossier_id, issued_at) index, forecast snapshots

Revision ID: 20261122_0013
Revises: 20261122_0012
"""

import sqlalchemy as sa
from alembic import op

from chudong.db import UTCDateTime

revision = "20261122_0013"
down_revision = "20261122_0012"
branch_labels = None
depends_on = None

CITIZEN_CONFIRMED = "kind = 'confirmed' AND actor LIKE 'citizen:%'"


def upgrade() -> None:
    op.create_index("ix_dossier_event_citizen_confirmed", "dossier_event", ["dossier_id"],
                    postgresql_where=sa.text(CITIZEN_CONFIRMED), sqlite_where=sa.text(CITIZEN_CONFIRMED))
    op.create_index("ix_dossier_result_dossier_issued", "dossier_result", ["dossier_id", "issued_at"])
    op.create_table(
        "analytics_forecast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("data_version", sa.String(length=300), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_forecast")),
    )
    op.create_index("ix_analytics_forecast_as_of_version", "analytics_forecast", ["as_of", "data_version"])


def downgrade() -> None:
    op.drop_index("ix_analytics_forecast_as_of_version", table_name="analytics_forecast")
    op.drop_table("analytics_forecast")
    op.drop_index("ix_dossier_result_dossier_issued", table_name="dossier_result")
    op.drop_index("ix_dossier_event_citizen_confirmed", table_name="dossier_event")
