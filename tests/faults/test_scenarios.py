"""Every fault scenario of ``python -m bench.faults`` in quick mode, with real processes: SIGKILL of the
web server, the CLI ingest and the notification worker, a crash of PostgreSQL, a full and a read-only
database, NATS down. Nothing may be lost or duplicated and no client may see a 500."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import text

from bench import _pg as bench_pg
from bench import faults, faults_bus
from bench import notifications as bench_notifications
from chudong.db import make_engine
from tests.conftest import PG_ADMIN_URL, skip_or_fail

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def ctx() -> Iterator[faults.Ctx]:
    """One quick-mode context (template databases built once) on the test PostgreSQL server."""
    admin = make_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL decides skip/fail
        skip_or_fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    finally:
        admin.dispose()
    with pytest.MonkeyPatch.context() as mp:
        for module, name in ((faults, "ADMIN_URL"), (bench_pg, "ADMIN_URL"), (bench_notifications, "PG"),
                             (faults_bus, "PG")):
            mp.setattr(module, name, PG_ADMIN_URL)
        with faults.context(quick=True) as c:
            yield c


def _check(rows: list[faults.Outcome]) -> None:
    for r in rows:
        if r.not_run:
            skip_or_fail(f"{r.scenario}: {r.not_run}")
    for r in rows:
        assert r.sent > 0, r
        assert (r.lost, r.duplicated) == (0, 0), r
        assert r.stored == r.sent, r
        assert not any(k.startswith("500") for k in r.errors), r.errors
        assert r.problems == [], r.problems
        assert r.ok


def test_web_server_killed_during_http_ingestion(ctx):
    rows = faults.run_scenario("web-kill", ctx)
    _check(rows)
    assert rows[0].errors.get("connection", 0) > 0  # the kill was felt by the client, which retried


def test_cli_ingest_killed_mid_file_then_rerun(ctx):
    rows = faults.run_scenario("cli-kill", ctx)
    assert {r.backend for r in rows} == {"postgresql", "sqlite"}
    _check(rows)


def test_worker_killed_during_dispatch(ctx):
    _check(faults.run_scenario("worker-kill", ctx))


def test_postgres_crash_during_http_ingestion_gives_503_then_exact_counts(ctx):
    rows = faults.run_scenario("pg-restart", ctx)
    _check(rows)
    assert set(rows[0].errors) == {"503 unavailable"}


def test_full_and_read_only_database(ctx):
    rows = faults.run_scenario("storage", ctx)
    assert len(rows) == 3
    _check(rows)
    full, read_only, pg = rows
    assert full.errors.get("CLI exit 2") == 1 and full.errors.get("503 full", 0) >= 1
    assert read_only.errors == {"CLI exit 2": 1}
    assert pg.errors.get("CLI exit 2") == 1 and pg.errors.get("503 read-only", 0) >= 1


def test_nats_down_events_queue_and_flow(ctx):
    _check(faults.run_scenario("nats-down", ctx))


def test_report_counts_and_verdict(capsys):
    good = faults.Outcome("x", "sqlite", "records", "f", sent=3, stored=3)
    bad = faults.Outcome("y", "sqlite", "records", "f", sent=3, stored=2, lost=1, errors={"500": 1})
    assert "PASS: 0 lost and 0 duplicated" in faults.summary([good])
    line = faults.summary([good, bad])
    assert line.startswith("FAIL: 1 lost and 0 duplicated") and "6 records sent" in line and "1 server errors" in line
    faults.report([good, bad], "conditions")
    assert "FAIL" in capsys.readouterr().out
