"""registry: the person index's foreign keys checked once per statement on PostgreSQL; two indexes

Revision ID: 20261204_0015
Revises: 20261122_0014

A registry load writes two rows per record (person, source_record). PostgreSQL checks an
ordinary foreign key with a trigger per inserted row that looks the parent up and locks it:
five keys cost ~35 µs of a ~75 µs record (docs/feeds.md, "Ingest performance").

On PostgreSQL those five keys become statement-level triggers over the statement's transition
table: one set-based look-up of the distinct values a statement wrote (an index probe each),
raising ``foreign_key_violation`` with the table, column and value; and on the parent side,
deleting or re-keying a row that is still referred to is refused the same way. Every writer
is covered (the pipeline's COPY, ORM inserts and updates), as before. What is not: parents
are not row-locked, so a parent deleted by a concurrent transaction while a child is being
inserted could slip through; chudong never deletes wards, households, persons, agencies or
runs, and a database restore runs the triggers after the data is in. SQLite keeps them as
ordinary foreign keys (its checks are cheap).

Also:
* ``person.source_record_id`` → source_record (deferred) is dropped on both: the provenance
  pointer, written by the pipeline together with the record it points at. On SQLite it made
  loads quadratic (a deferred key's children are counted on every parent insert, and the
  column has no index).
* ``ix_person_name_key`` is dropped: nothing looks persons up by name key.
* ``ix_person_phone_hash`` / ``ix_person_email_hash`` become partial (NOT NULL): look-ups are
  by a value, and most persons have no e-mail address.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261204_0015"
down_revision = "20261122_0014"
branch_labels = None
depends_on = None

_NOT_NULL = {"phone_hash": sa.text("phone_hash IS NOT NULL"), "email_hash": sa.text("email_hash IS NOT NULL")}
# child table → [(column, parent table, parent column)]
_KEYS = {
    "person": [("ward_code", "ward", "code"), ("household_id", "household", "id")],
    "source_record": [("agency_code", "agency", "code"), ("run_id", "ingest_run", "id"), ("person_id", "person", "id")],
}

# TG_ARGV: (column, parent table, parent column) triples. One query per key and statement: the
# distinct values written, each probed in the parent's key index (OFFSET 0 keeps the planner
# from turning NOT EXISTS into a join that would read the whole parent table).
_CHECK_REFERENCES = """
CREATE FUNCTION chudong_check_references() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    i int := 0;
    missing text;
BEGIN
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT n.v::text FROM (SELECT DISTINCT %1$I AS v FROM new_rows WHERE %1$I IS NOT NULL) n '
                       'WHERE NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.%3$I = n.v OFFSET 0) LIMIT 1',
                       TG_ARGV[i], TG_ARGV[i + 1], TG_ARGV[i + 2]) INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = TG_ARGV[i],
                MESSAGE = format('%s.%s = %s refers to no %s (%s.%s)', TG_TABLE_NAME, TG_ARGV[i], missing,
                                 TG_ARGV[i + 1], TG_ARGV[i + 1], TG_ARGV[i + 2]);
        END IF;
        i := i + 3;
    END LOOP;
    RETURN NULL;
END
$fn$
"""

# TG_ARGV: the parent's key column, then (child table, child column) pairs. The keys that went
# away (deleted, or changed by an update) must not be referred to any more.
_CHECK_REFERENCED = """
CREATE FUNCTION chudong_check_referenced() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    i int := 1;
    gone text;
    still text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        gone := format('SELECT DISTINCT %1$I AS k FROM old_rows', TG_ARGV[0]);
    ELSE
        gone := format('SELECT DISTINCT o.%1$I AS k FROM old_rows o '
                       'WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.%1$I = o.%1$I)', TG_ARGV[0]);
    END IF;
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT g.k::text FROM (%s) g WHERE EXISTS (SELECT 1 FROM %I c WHERE c.%I = g.k OFFSET 0) '
                       'LIMIT 1', gone, TG_ARGV[i], TG_ARGV[i + 1]) INTO still;
        IF still IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = TG_ARGV[0],
                MESSAGE = format('%s %s = %s is still referred to from %s.%s', TG_TABLE_NAME, TG_ARGV[0], still,
                                 TG_ARGV[i], TG_ARGV[i + 1]);
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END
$fn$
"""


def _quote(*args: str) -> str:
    return ", ".join(f"'{a}'" for a in args)


def _parents() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(parent table, key column) → [(child table, child column)]."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for child, keys in _KEYS.items():
        for column, parent, key in keys:
            out.setdefault((parent, key), []).append((child, column))
    return out


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        for child, keys in _KEYS.items():
            for column, parent, _ in keys:
                op.drop_constraint(f"fk_{child}_{column}_{parent}", child, type_="foreignkey")
        op.execute(_CHECK_REFERENCES)
        op.execute(_CHECK_REFERENCED)
        for child, keys in _KEYS.items():
            args = _quote(*(part for key in keys for part in key))
            for event in ("INSERT", "UPDATE"):
                op.execute(f"CREATE TRIGGER {child}_references_{event.lower()} AFTER {event} ON {child} "
                           f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                           f"EXECUTE FUNCTION chudong_check_references({args})")
        for (parent, key), children in _parents().items():
            args = _quote(key, *(part for ref in children for part in ref))
            op.execute(f"CREATE TRIGGER {parent}_referenced_delete AFTER DELETE ON {parent} "
                       f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION chudong_check_referenced({args})")
            op.execute(f"CREATE TRIGGER {parent}_referenced_update AFTER UPDATE ON {parent} "
                       f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION chudong_check_referenced({args})")
    with op.batch_alter_table("person") as batch:
        batch.drop_constraint("fk_person_source_record_id_source_record", type_="foreignkey")
        batch.drop_index("ix_person_name_key")
        for column, where in _NOT_NULL.items():
            batch.drop_index(f"ix_person_{column}")
            batch.create_index(f"ix_person_{column}", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("person") as batch:
        for column in _NOT_NULL:
            batch.drop_index(f"ix_person_{column}")
            batch.create_index(f"ix_person_{column}", [column])
        batch.create_index("ix_person_name_key", ["name_key"])
        batch.create_foreign_key("fk_person_source_record_id_source_record", "source_record", ["source_record_id"],
                                 ["id"], deferrable=True, initially="DEFERRED")
    if pg:
        for child in _KEYS:
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER {child}_references_{event} ON {child}")
        for parent, _ in _parents():
            for event in ("delete", "update"):
                op.execute(f"DROP TRIGGER {parent}_referenced_{event} ON {parent}")
        op.execute("DROP FUNCTION chudong_check_references()")
        op.execute("DROP FUNCTION chudong_check_referenced()")
        for child, keys in _KEYS.items():
            for column, parent, key in keys:
                op.create_foreign_key(f"fk_{child}_{column}_{parent}", child, parent, [column], [key])
