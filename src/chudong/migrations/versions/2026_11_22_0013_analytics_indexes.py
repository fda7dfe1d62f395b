"""analytics: partial index of citizen confirmations, result (dossier_id, issued_at) index

Revision ID: 20261122_0013
Revises: 20261121_0009
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0013"
down_revision = "20261121_0009"
branch_labels = None
depends_on = None

CITIZEN_CONFIRMED = "kind = 'confirmed' AND actor LIKE 'citizen:%'"


def upgrade() -> None:
    op.create_index("ix_dossier_event_citizen_confirmed", "dossier_event", ["dossier_id"],
                    postgresql_where=sa.text(CITIZEN_CONFIRMED), sqlite_where=sa.text(CITIZEN_CONFIRMED))
    op.create_index("ix_dossier_result_dossier_issued", "dossier_result", ["dossier_id", "issued_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_result_dossier_issued", table_name="dossier_result")
    op.drop_index("ix_dossier_event_citizen_confirmed", table_name="dossier_event")
