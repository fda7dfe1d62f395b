"""Bulk SQL for hot paths: id lists as one array parameter, COPY and ``unnest`` inserts.

The COPY and ``unnest`` helpers write exactly what a Core insert would: every value goes
through its column type's bind processing (JSON, UTC timestamps, and the sealed columns of
``chudong.privacy``), so raw SQL here never bypasses encryption at rest. They are for
PostgreSQL; callers keep a Core path for SQLite.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from sqlalchemy import Column, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_LENGTH = re.compile(r"\([\d, ]+\)$")


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


def _processor(column: Column, dialect: Dialect) -> Callable[[Any], Any] | None:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _array_type(column: Column, dialect: Dialect) -> str:
    # no length: an over-long value must fail on insert as it would with Core, not be cut by the cast
    return _LENGTH.sub("", column.type.compile(dialect=dialect)) + "[]"


def unnest(dialect: Dialect, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
           prefix: str) -> tuple[str, dict[str, list[Any]]]:
    """Return ``unnest(%(p0)s::type[], ...)`` and its parameters: one array per column, in column order.

    ``rows`` hold one value per column; values are converted as the column's type would
    convert them for a Core insert. Use as ``INSERT INTO t (...) SELECT * FROM <unnest>``.
    """
    params: dict[str, list[Any]] = {}
    parts = []
    for j, column in enumerate(columns):
        values = [row[j] for row in rows]
        process = _processor(column, dialect)
        if process is not None:
            values = [process(v) for v in values]
        params[f"{prefix}{j}"] = values
        parts.append(f"%({prefix}{j})s::{_array_type(column, dialect)}")
    return f"unnest({', '.join(parts)})", params


def copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows by COPY (PostgreSQL), each value converted as its column's type would.

    Every row must carry the same keys; columns left out get NULL or their server default,
    so callers give every column that has a Python-side default.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    convert = [(n, _processor(table.c[n], dialect)) for n in names]
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
