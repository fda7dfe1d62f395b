"""Staging tables for set-based writes: COPY on PostgreSQL, executemany on SQLite.

A run loads each chunk of validated records into a temporary table and then moves
them into the real tables with a handful of ``INSERT … SELECT … ON CONFLICT`` statements,
so the cost per record is one COPY row, never an ORM object or a round trip.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

# column type → (PostgreSQL, SQLite) DDL type. SQLite stores dates as ISO text, which is
# what SQLAlchemy's Date type reads back; PostgreSQL needs real types for INSERT … SELECT.
_TYPES = {
    "text": ("TEXT", "TEXT"),
    "int": ("BIGINT", "INTEGER"),
    "date": ("DATE", "TEXT"),
    "json": ("JSON", "TEXT"),
    "float": ("DOUBLE PRECISION", "REAL"),
}


def is_postgres(session: Session) -> bool:
    """Return True when the session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


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

    def load(self, rows: Iterable[tuple]) -> None:
        """Replace the stage's content with ``rows`` (tuples in column order)."""
        conn = self.session.connection()
        conn.exec_driver_sql(f"DELETE FROM {self.name}")
        cols = ", ".join(self.columns)
        if self.pg:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {self.name} ({cols}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
        else:
            marks = ", ".join("?" for _ in self.columns)
            conn.exec_driver_sql(f"INSERT INTO {self.name} ({cols}) VALUES ({marks})", list(rows))

    def drop(self) -> None:
        """Drop the temporary table."""
        self.session.execute(text(f"DROP TABLE IF EXISTS {self.name}"))
