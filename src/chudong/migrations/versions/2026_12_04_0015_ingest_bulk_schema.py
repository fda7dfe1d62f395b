"""registry: what a bulk registry load pays per record — three per-row constraint checks, two index entries

Revision ID: 20261204_0015
Revises: 20261122_0014

Measured on a 200,000-record registry load (docs/feeds.md, "Ingest performance"): every
foreign key costs PostgreSQL a trigger and a parent look-up per inserted row (~5 µs), every
index an insertion. Dropped here:

* ``source_record.agency_code`` → agency and ``source_record.run_id`` → ingest_run: the same
  value for every record of a run, written only by the ingest pipeline, which loads the agency
  and creates the run before the first record; agencies and runs are never deleted.
* ``person.source_record_id`` → source_record (deferred): the provenance pointer, written by the
  pipeline together with the record it points at, in one transaction. It was also what made
  SQLite loads quadratic: SQLite checks a deferred key's child rows on every parent insert,
  and the column has no index.
* ``ix_person_name_key``: nothing looks persons up by name key (linkage blocks in memory).
* ``ix_person_phone_hash`` / ``ix_person_email_hash`` become partial (NOT NULL): look-ups are by
  a value, and most persons have no e-mail address.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261204_0015"
down_revision = "20261122_0014"
branch_labels = None
depends_on = None

_NOT_NULL = {"phone_hash": sa.text("phone_hash IS NOT NULL"), "email_hash": sa.text("email_hash IS NOT NULL")}


def upgrade() -> None:
    with op.batch_alter_table("source_record") as batch:
        batch.drop_constraint("fk_source_record_agency_code_agency", type_="foreignkey")
        batch.drop_constraint("fk_source_record_run_id_ingest_run", type_="foreignkey")
    with op.batch_alter_table("person") as batch:
        batch.drop_constraint("fk_person_source_record_id_source_record", type_="foreignkey")
        batch.drop_index("ix_person_name_key")
        for column, where in _NOT_NULL.items():
            batch.drop_index(f"ix_person_{column}")
            batch.create_index(f"ix_person_{column}", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        for column in _NOT_NULL:
            batch.drop_index(f"ix_person_{column}")
            batch.create_index(f"ix_person_{column}", [column])
        batch.create_index("ix_person_name_key", ["name_key"])
        batch.create_foreign_key("fk_person_source_record_id_source_record", "source_record", ["source_record_id"],
                                 ["id"], deferrable=True, initially="DEFERRED")
    with op.batch_alter_table("source_record") as batch:
        batch.create_foreign_key("fk_source_record_run_id_ingest_run", "ingest_run", ["run_id"], ["id"])
        batch.create_foreign_key("fk_source_record_agency_code_agency", "agency", ["agency_code"], ["code"])
