"""Staging tables for set-based writes: COPY on PostgreSQL, executemany on SQLite.

A run loads each chunk of validated records into a temporary table and then moves
them into the real tables with a handful of ``INSERT … SELECT … ON CONFLICT`` statements,
so the cost per record is one COPY row, never an ORM object or a round trip.

On PostgreSQL the COPY data is built here as text (format ``text``: tab-separated,
``\\N`` for NULL): one ``str.join`` per row is several times cheaper than psycopg's
per-value adaptation in ``write_row``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from chudong.kit.bulk import is_postgres

# column type → (PostgreSQL, SQLite) DDL type. SQLite stores dates as ISO text, which is
# what SQLAlchemy's Date type reads back; PostgreSQL needs real types for INSERT … SELECT.
_TYPES = {
    "text": ("TEXT", "TEXT"),
    "int": ("BIGINT", "INTEGER"),
    "date": ("DATE", "TEXT"),
    "json": ("JSON", "TEXT"),
    "float": ("DOUBLE PRECISION", "REAL"),
}
# characters that COPY's text format gives a meaning (escaped with a backslash)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BATCH = 1 << 20  # bytes handed to the driver at a time


def copy_field(value: object) -> str:
    """Return ``value`` as one field of COPY's text format (``\\N`` for None)."""
    if value is None:
        return "\\N"
    if value.__class__ is str:
        s: str = value  # type: ignore[assignment]
        # the common case (no special character) costs four C-level scans, no copy
        if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
            return s.translate(_COPY_ESCAPES)
        return s
    return str(value)


def copy_line(row: Sequence[object]) -> str:
    """Return ``row`` as one line of COPY's text format, without the newline."""
    # fast path: join first, then check the whole line once; a field holding a tab,
    # newline or backslash (rare: JSON escapes, odd names) makes the row take the slow path
    line = "\t".join([v if v.__class__ is str else ("\\N" if v is None else str(v)) for v in row])
    # (each None adds exactly one backslash, so any other backslash shows up in the count)
    if line.count("\\") != row.count(None) or "\n" in line or "\r" in line or line.count("\t") != len(row) - 1:
        line = "\t".join([copy_field(v) for v in row])
    return line


def copy_blocks(lines: Iterable[str]) -> Iterable[bytes]:
    """Yield COPY data for ready-made ``lines`` in batches of about 1 MiB."""
    batch: list[str] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= _COPY_BATCH:
            batch.append("")
            yield "\n".join(batch).encode()
            batch, size = [], 0
    if batch:
        batch.append("")
        yield "\n".join(batch).encode()


def copy_text(rows: Iterable[Sequence[object]]) -> Iterable[bytes]:
    """Yield COPY text-format data for ``rows`` in batches of about 1 MiB."""
    return copy_blocks(copy_line(row) for row in rows)


class Stage:
    """A temporary table with the given (name, type) columns, emptied before each chunk."""

    def __init__(self, session: Session, name: str, columns: Sequence[tuple[str, str]]) -> None:
        self.session = session
        self.name = name
        self.columns = [c for c, _ in columns]
        self.pg = is_postgres(session)
        col_ddl = ", ".join(f"{c} {_TYPES[t][0 if self.pg else 1]}" for c, t in columns)
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        session.execute(text(f"CREATE TEMPORARY TABLE {name} ({col_ddl})"))

    def load(self, rows: Sequence[tuple]) -> None:
        """Replace the stage's content with ``rows`` (tuples in column order)."""
        conn = self.session.connection()
        cols = ", ".join(self.columns)
        if self.pg:
            # TRUNCATE (not DELETE) so later chunks do not scan the dead rows of earlier ones
            conn.exec_driver_sql(f"TRUNCATE {self.name}")
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {self.name} ({cols}) FROM STDIN") as copy:
                for block in copy_text(rows):
                    copy.write(block)
            # no ANALYZE: it cost more than the statements it would plan; without statistics the
            # planner sizes the stage from its pages, which is enough to choose hash joins
        else:
            conn.exec_driver_sql(f"DELETE FROM {self.name}")
            marks = ", ".join("?" for _ in self.columns)
            conn.exec_driver_sql(f"INSERT INTO {self.name} ({cols}) VALUES ({marks})", list(rows))

    def drop(self) -> None:
        """Drop the temporary table."""
        self.session.execute(text(f"DROP TABLE IF EXISTS {self.name}"))
