"""Fixtures of the security suite: a SQLite-only database for the long-running fuzz."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import _empty_tables


@pytest.fixture
def sqlite_db(sqlite_engine: Engine) -> Iterator[Engine]:
    """The session's SQLite database, emptied afterwards (the fuzz runs on SQLite only, for speed)."""
    try:
        yield sqlite_engine
    finally:
        _empty_tables(sqlite_engine)
