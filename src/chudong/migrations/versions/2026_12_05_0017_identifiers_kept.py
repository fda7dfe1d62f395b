"""registry: the old identity card number (CMND) of a person, sealed, with its search hash

Revision ID: 20261205_0017
Revises: 20261204_0016

Agencies still send the old 9-digit (or 12-digit) CMND instead of the personal ID number; such a
record is kept and linked by matching its old number against the old numbers the population
registry holds. The column is sealed like ``person.pid`` (kind ``pid``) and looked up by its search
hash (a partial index: most persons have none). Added empty, so there is nothing to seal.

Such a record raises a data-quality issue (kind ``identifier``) pointing at it; a re-sent record
looks its issues up by ``quality_issue.source_b``, hence the index.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0017"
down_revision = "20261204_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("old_id", sa.Text(), nullable=True))
    op.add_column("person", sa.Column("old_id_hash", sa.String(32), nullable=True))
    op.create_index("ix_person_old_id_hash", "person", ["old_id_hash"],
                    postgresql_where=sa.text("old_id_hash IS NOT NULL"), sqlite_where=sa.text("old_id_hash IS NOT NULL"))
    op.create_index("ix_quality_issue_source_b", "quality_issue", ["source_b"])


def downgrade() -> None:
    op.drop_index("ix_quality_issue_source_b", table_name="quality_issue")
    op.drop_index("ix_person_old_id_hash", table_name="person")
    op.drop_column("person", "old_id_hash")
    op.drop_column("person", "old_id")
