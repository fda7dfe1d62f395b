"""portal: the officer queue's index — a unit's open dossiers in deadline order

The queue page reads 50 open dossiers of one unit: earliest deadline first, then highest
risk. With this partial index PostgreSQL walks the unit's open dossiers in due-date order,
sorts only within a due date (incremental sort) and stops after the page, instead of
fetching and sorting every open dossier of the unit. Closed dossiers, most of the table,
are not in the index at all.

Revision ID: 20261122_0011
Revises: 20261122_0010
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0011"
down_revision = "20261122_0010"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('confirmed', 'in_processing', 'supplement_requested')")


def upgrade() -> None:
    op.create_index("ix_dossier_open_queue", "dossier", ["handling_unit_code", "due_on"],
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_dossier_open_queue", table_name="dossier")
