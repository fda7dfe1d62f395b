"""SQL for hot paths: id lists as one array parameter, COPY, statements compiled once.

COPY and precompiled statements write exactly what a Core insert would: every value goes
through its type's bind processing (JSON, UTC timestamps, and the sealed columns of
``chudong.privacy``), so the raw SQL here never bypasses encryption at rest. COPY is for
PostgreSQL; callers keep a Core path for SQLite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sqlalchemy import JSON, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    """Return True when the session's database is PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """Return ``column IN values`` as one array parameter on PostgreSQL (``= ANY(:values)``).

    An IN list of thousands of bind parameters makes a statement the driver must parse and
    adapt placeholder by placeholder; one array parameter costs next to nothing.
    """
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _processor(typed: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """Return the bind processor of a column's (or bind parameter's) type on ``dialect``."""
    return typed.type.dialect_impl(dialect).bind_processor(dialect)


@dataclass(frozen=True)
class Precompiled:
    """A statement SQLAlchemy cannot cache (multi-row VALUES, an INSERT inside a CTE), compiled once.

    SQLAlchemy compiles such statements again at every execution, which costs more CPU than
    the round trip they save. Build one per shape (e.g. per row count) and keep it; ``execute``
    sends the SQL with named parameters, each converted by its bind's type exactly as
    SQLAlchemy would.
    """

    sql: str
    processors: dict[str, Callable[[Any], Any] | None]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> Precompiled:
        """Compile ``statement``, whose parameters are all named ``bindparam`` objects, for ``dialect``."""
        compiled = statement.compile(dialect=dialect)
        return cls(str(compiled), {name: _processor(bind, dialect) for name, bind in compiled.binds.items()})

    def execute(self, session: Session, params: dict[str, Any]) -> Any:
        """Run on the session's connection with ``params`` (one value per bind name); return the result."""
        values = {name: params[name] if process is None else process(params[name])
                  for name, process in self.processors.items()}
        return session.connection().exec_driver_sql(self.sql, values)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _copy_processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    # A plain JSON column's processor wraps each value for the driver to serialise; COPY takes
    # the text directly (same document, Vietnamese unescaped; None is SQL NULL, as when the ORM
    # leaves the attribute unset). Decorated types (sealed JSON) keep their own processing.
    if type(column.type) is JSON:
        return _json_text
    return _processor(column, dialect)


def copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows by COPY (PostgreSQL), each value converted as its column's type would.

    Every row must carry the same keys; columns left out get NULL or their server default,
    so callers give every column that has a Python-side default.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    convert = [(n, _copy_processor(table.c[n], dialect)) for n in names]
    quote = dialect.identifier_preparer.quote
    raw = session.connection().connection.driver_connection
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[n] if fn is None else fn(row[n]) for n, fn in convert])
    except dialect.loaded_dbapi.Error as exc:
        # the driver's error as SQLAlchemy would raise it (IntegrityError, DataError, ...), so callers
        # and the request boundary treat a failed COPY like any failed statement
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
