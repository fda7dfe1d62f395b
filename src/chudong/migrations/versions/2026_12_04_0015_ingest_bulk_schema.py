"""registry: the person index's foreign keys checked once per statement on PostgreSQL; two indexes

Revision ID: 20261204_0015
Revises: 20261122_0014

A registry load writes two rows per record (person, source_record). PostgreSQL checks an
ordinary foreign key with a trigger per inserted row that looks the parent up and locks it:
five keys cost ~35 µs of a ~75 µs record (docs/feeds.md, "Ingest performance").

On PostgreSQL those five keys become triggers: an insert statement is checked once, over its
transition table (an index probe per distinct value written); an update only for the rows
whose key changed; on the parent side, deleting (per statement) or re-keying (per row) a row
that is still referred to is refused. Each raises ``foreign_key_violation`` naming the table,
the column and the value. Every writer
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

def _raise(table: str, column: str, message: str) -> str:
    return (f"RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = '{table}', COLUMN = '{column}', "
            f"MESSAGE = {message};")


def _trigger(table: str, name: str, event: str, level: str, declare: str, body: list[str]) -> list[str]:
    """Return the plpgsql function ``chudong_<name>`` and the trigger ``<name>`` running it.

    ``event`` is what follows AFTER (with its REFERENCING clause for a statement trigger, its
    WHEN clause after the table for a row trigger: ``level`` is what follows ``ON <table>``).
    """
    lines = "\n    ".join(body)
    return [
        f"CREATE FUNCTION chudong_{name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\nDECLARE {declare}\nBEGIN\n    "
        f"{lines}\n    RETURN NULL;\nEND\n$fn$",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} {level} EXECUTE FUNCTION chudong_{name}()",
    ]


def _child_sql(child: str, keys: list[tuple[str, str, str]]) -> list[str]:
    """Inserts: one probe per distinct value of the statement; updates: the rows whose key changed."""
    inserted, updated = [], []
    for column, parent, key in keys:
        def message(value: str) -> str:
            return f"'{child}.{column} = ' || {value} || ' refers to no {parent} ({parent}.{key})'"
        # (OFFSET 0 keeps NOT EXISTS a probe of the parent's key index: as a join the planner
        # could read the whole parent table for every statement)
        inserted += [
            f"SELECT n.v::text INTO missing FROM (SELECT DISTINCT {column} AS v FROM new_rows "
            f"WHERE {column} IS NOT NULL) n WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = n.v OFFSET 0) "
            "LIMIT 1;",
            f"IF missing IS NOT NULL THEN {_raise(child, column, message('missing'))} END IF;",
        ]
        updated.append(
            f"IF NEW.{column} IS DISTINCT FROM OLD.{column} AND NEW.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.{key} = NEW.{column}) THEN "
            f"{_raise(child, column, message(f'NEW.{column}'))} END IF;")
    columns = [c for c, _, _ in keys]
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return [
        *_trigger(child, f"{child}_references_insert", "INSERT",
                  "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT", "missing text;", inserted),
        *_trigger(child, f"{child}_references_update", f"UPDATE OF {', '.join(columns)}",
                  f"FOR EACH ROW WHEN ({changed})", "", updated),
    ]


def _parent_sql(parent: str, key: str, children: list[tuple[str, str]]) -> list[str]:
    """Deletes: one probe per distinct deleted key; updates: the rows whose key changed."""
    deleted, updated = [], []
    for child, column in children:
        def message(value: str) -> str:
            return f"'{parent} {key} = ' || {value} || ' is still referred to from {child}.{column}'"
        deleted += [
            f"SELECT o.k::text INTO still FROM (SELECT DISTINCT {key} AS k FROM old_rows) o "
            f"WHERE EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.k OFFSET 0) LIMIT 1;",
            f"IF still IS NOT NULL THEN {_raise(parent, key, message('still'))} END IF;",
        ]
        updated.append(f"IF EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = OLD.{key}) THEN "
                       f"{_raise(parent, key, message(f'OLD.{key}'))} END IF;")
    return [
        *_trigger(parent, f"{parent}_referenced_delete", "DELETE",
                  "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT", "still text;", deleted),
        *_trigger(parent, f"{parent}_referenced_update", f"UPDATE OF {key}",
                  f"FOR EACH ROW WHEN (OLD.{key} IS DISTINCT FROM NEW.{key})", "", updated),
    ]


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
            for statement in _child_sql(child, keys):
                op.execute(statement)
        for (parent, key), children in _parents().items():
            for statement in _parent_sql(parent, key, children):
                op.execute(statement)
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
        triggers = [(child, f"{child}_references_{event}") for child in _KEYS for event in ("insert", "update")]
        triggers += [(parent, f"{parent}_referenced_{event}") for parent, _ in _parents()
                     for event in ("delete", "update")]
        for table, name in triggers:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION chudong_{name}()")
        for child, keys in _KEYS.items():
            for column, parent, key in keys:
                op.create_foreign_key(f"fk_{child}_{column}_{parent}", child, parent, [column], [key])
