"""registry: index the provenance column of the linked domain tables

Revision ID: 20261204_0016
Revises: 20261204_0015

Linking a run sets the person of the licence, utility account or household written from each
linked source record, found by ``source_record_id``. Without an index every look-up read the
whole table: linking the ~1.4 million licences of a 1-million-person province did not finish in
minutes (PostgreSQL at 100% on one ``UPDATE licence … WHERE source_record_id = …`` per record).
"""

from alembic import op

revision = "20261204_0016"
down_revision = "20261204_0015"
branch_labels = None
depends_on = None

TABLES = ("household", "licence", "utility_customer")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_source_record_id", table, ["source_record_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_source_record_id", table_name=table)
