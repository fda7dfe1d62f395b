"""Test harness: every database test runs on SQLite and on PostgreSQL.

- PostgreSQL: a fresh database per run on CHUDONG_TEST_POSTGRES_URL (default
  postgresql+psycopg://postgres@127.0.0.1:5432/postgres), migrated through Alembic,
  dropped at the end. Unreachable → skipped locally, a failure when CI=true.
- Reference tables (``info={"reference": True}``) are loaded once; every other
  table is emptied after each test.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from chudong.config import Settings
from chudong.db import Base, make_engine, session_factory, upgrade
from chudong.features import load_models
from chudong.kit import clock as clock_mod

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "CHUDONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI a missing PostgreSQL / browser is an error, never a skip."""
    if IN_CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _load_reference(engine: Engine) -> None:
    from chudong.geo.service import load_units

    with session_factory(engine)() as s:
        load_units(s)
        s.commit()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "chudong-test.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    _load_reference(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    admin = make_engine(PG_ADMIN_URL)
    name = f"chudong_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL decides skip/fail
        admin.dispose()
        skip_or_fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    url = make_url(PG_ADMIN_URL).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    _load_reference(engine)
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_tables(engine: Engine) -> None:
    load_models()
    present = set(inspect(engine).get_table_names())
    tables = [t for t in Base.metadata.tables.values() if not t.info.get("reference") and t.name in present]
    if not tables:
        return
    if engine.dialect.name == "postgresql":
        # DELETE is far cheaper than TRUNCATE for the few rows a test leaves; replica mode
        # skips the foreign-key triggers (the person index has reference cycles)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for t in tables:
                conn.execute(t.delete())
        return
    with engine.connect() as conn:
        # foreign keys off for the clean-up only: the person index has reference cycles
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for t in tables:
            conn.execute(t.delete())
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database with reference data; emptied after the test."""
    eng: Engine = request.getfixturevalue(f"{request.param}_engine")
    try:
        yield eng
    finally:
        _empty_tables(eng)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database (the test decides when to flush or commit)."""
    s = session_factory(engine)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings (development secret allowed, data under a temporary folder)."""
    return Settings(env="test", data_dir=tmp_path)


@pytest.fixture
def client(engine: Engine, settings: Settings):
    """An HTTP client talking to the app on the test database."""
    from fastapi.testclient import TestClient

    from chudong.app import create_app

    with TestClient(create_app(settings, engine), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def clock() -> Iterator[clock_mod.FixedClock]:
    """A fixed clock at 2026-11-02 09:00 Vietnam time, installed for the test."""
    fixed = clock_mod.FixedClock(dt.datetime(2026, 11, 2, 9, 0, tzinfo=clock_mod.VN_TZ))
    with clock_mod.use_clock(fixed):
        yield fixed
