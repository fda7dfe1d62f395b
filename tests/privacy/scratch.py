"""A scratch database of its own for a migration test: a SQLite file, or a PostgreSQL database dropped after."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from chudong.db import make_engine
from tests.conftest import PG_ADMIN_URL, skip_or_fail


@contextmanager
def scratch_engine(dialect: str, tmp_path: Path, prefix: str) -> Iterator[Engine]:
    """Yield an empty database's engine on ``dialect`` ("sqlite" or "postgres"); PostgreSQL's is dropped after."""
    if dialect == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/{prefix}.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    admin = make_engine(PG_ADMIN_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - unreachable server: skip locally, fail in CI
        admin.dispose()
        skip_or_fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
