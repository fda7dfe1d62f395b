"""Read-only pages read a real PostgreSQL hot standby, and the primary when the standby lags or is down.

The standby is a second local cluster made with ``pg_basebackup -R`` by ``scripts/services/pg-standby.sh``
(started by the test command); CI=true fails when it is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from chudong.config import Settings
from chudong.replica import ReplicaRouter, router_of
from chudong.web.metrics import scrape
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("CHUDONG_TEST_REPLICA_PORT", "5433"))


def _open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def standby_port() -> int:
    if not _open(PORT):
        subprocess.run([str(ROOT / "scripts/services/pg-standby.sh")], check=False, timeout=600)
    if not _open(PORT):
        skip_or_fail(f"no PostgreSQL hot standby on 127.0.0.1:{PORT} (scripts/services/pg-standby.sh)")
    return PORT


def replica_url(primary: Engine, port: int) -> str:
    return make_url(primary.url).set(port=port).render_as_string(hide_password=False)


def _wait(cond, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def router(postgres_engine, standby_port):
    r = ReplicaRouter(postgres_engine, replica_url(postgres_engine, standby_port), max_lag_seconds=5.0)
    r.CHECK_EVERY = 0.0
    _wait(lambda: r.state().up)
    yield r
    with r.replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    r.dispose()


def test_reads_go_to_the_standby_and_see_the_primarys_writes(router, postgres_engine):
    with postgres_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS replica_probe (v int)"))
        conn.execute(text("INSERT INTO replica_probe VALUES (42)"))
    assert _wait(lambda: router.state().in_use)
    engine = router.read_engine()
    assert engine is router.replica
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    assert _wait(lambda: _count(router.replica) >= 1)
    with router.replica.connect() as conn, pytest.raises(Exception, match="read-only"):
        conn.execute(text("INSERT INTO replica_probe VALUES (1)"))
    with postgres_engine.begin() as conn:
        conn.execute(text("DROP TABLE replica_probe"))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT count(*) FROM replica_probe")).scalar() or 0
        except Exception:  # noqa: BLE001 - the table has not arrived on the standby yet
            return 0


def test_a_lagging_standby_sends_reads_to_the_primary(router, postgres_engine):
    router.max_lag = 0.5
    with router.replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    with postgres_engine.begin() as conn:  # the standby receives this but does not replay it
        conn.execute(text("CREATE TABLE lag_probe (v int)"))
    time.sleep(1.0)
    with postgres_engine.begin() as conn:
        conn.execute(text("DROP TABLE lag_probe"))
    assert _wait(lambda: (router.state().lag_seconds or 0) > 0.5), router.state()
    assert router.read_engine() is router.primary
    with router.replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    assert _wait(lambda: router.state().in_use), router.state()
    assert router.read_engine() is router.replica


def test_an_unreachable_replica_is_reported_and_skipped(postgres_engine):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    r = ReplicaRouter(postgres_engine, replica_url(postgres_engine, dead), max_lag_seconds=30)
    st = r.state()
    assert (st.up, st.lag_seconds, st.in_use) == (False, None, False)
    assert r.read_engine() is postgres_engine
    state = SimpleNamespace(engine=postgres_engine, replica_router=r,
                            settings=Settings(env="test", database_replica_url="set"))
    out = scrape(state).decode()
    assert "chudong_replica_up 0.0" in out and "chudong_replica_in_use 0.0" in out
    r.dispose()


def test_without_a_replica_everything_reads_the_primary(postgres_engine):
    state = SimpleNamespace(engine=postgres_engine, settings=Settings(env="test"))
    assert router_of(state).read_engine() is postgres_engine
    assert "chudong_replica" not in scrape(state).decode()


def test_read_only_pages_read_the_replica_and_metrics_show_its_lag(postgres_engine, standby_port, tmp_path):
    from fastapi.testclient import TestClient

    from chudong.app import create_app

    settings = Settings(env="development", data_dir=tmp_path,
                        database_replica_url=replica_url(postgres_engine, standby_port))
    with TestClient(create_app(settings, postgres_engine)) as client:
        r = client.get("/open-data/index.json")
        assert r.status_code == 200, r.text
        assert client.app.state.replica_router.state().up
        metrics = client.get("/metrics").text
        assert "chudong_replica_lag_seconds" in metrics and "chudong_replica_up 1.0" in metrics
        client.app.state.replica_router.dispose()
