"""A throw-away PostgreSQL database for a benchmark: created, migrated, reference data loaded, dropped."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from chudong.db import make_engine, session_factory, upgrade

ADMIN_URL = os.environ.get("CHUDONG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def temp_database(prefix: str, *, units: bool = True) -> Iterator[Engine]:
    """Yield an engine on a fresh, migrated database (with the administrative units); drop it after."""
    admin = make_engine(ADMIN_URL)
    name = f"chudong_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        if units:
            from chudong.geo.service import load_units

            with session_factory(engine)() as s:
                load_units(s)
                s.commit()
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
