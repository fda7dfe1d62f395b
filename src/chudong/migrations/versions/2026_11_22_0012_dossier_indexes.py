"""dossiers: drop the timeline's dossier_id index, which the (dossier_id, seq) unique index covers

Every dossier step appends timeline events (two per dossier opened, one to three per
officer action); each insert also updated this index, which nothing needs: look-ups and
foreign-key checks by dossier_id use the leading column of uq_dossier_event_dossier_id_seq.

Revision ID: 20261122_0012
Revises: 20261122_0011
"""

from alembic import op

revision = "20261122_0012"
down_revision = "20261122_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_dossier_event_dossier_id", table_name="dossier_event")


def downgrade() -> None:
    op.create_index("ix_dossier_event_dossier_id", "dossier_event", ["dossier_id"], unique=False)
