"""A database that is down, read-only or full answers 503 + Retry-After (never 500); other database errors stay 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from chudong.app import create_app
from chudong.db import make_engine, session_factory, sqlite_storage_fault, unavailable
from chudong.notifications.simulators import free_port
from chudong.registry.models import SourceRecord
from chudong.registry.service import add_agency
from tests.ingest.builders import csv_body, person_row


def _key(engine) -> dict[str, str]:
    with session_factory(engine)() as s:
        _, key = add_agency(s, "pop", "pop", "population")
        s.commit()
    return {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}


def test_unreachable_postgres_is_503_with_retry_after_json_and_html(settings):
    down = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/chudong")
    with TestClient(create_app(settings, down, check_migrations=False), raise_server_exceptions=False) as c:
        r = c.post("/api/v1/feeds/persons", content=csv_body("persons", [person_row(1)]),
                   headers={"Authorization": "Bearer pop.x", "Content-Type": "text/csv"})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        body = r.json()
        assert body["error"] == "database_unavailable" and body["kind"] == "unavailable"
        assert "retry in 5 seconds" in body["detail"] and "127.0.0.1" not in body["detail"]  # no internals
        page = c.get("/overdue", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert page.headers["content-type"].startswith("text/html") and "retry in 5 seconds" in page.text
    down.dispose()


def _starved(engine):
    """A second engine on the same database whose sessions cannot write: SQLite may not grow by a page
    (SQLITE_FULL, as on a full disk), PostgreSQL sessions are read-only (as on a standby)."""
    starved = make_engine(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = c.exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(starved, "connect")
        def _limit(dbapi_conn, _record) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")
    else:
        @event.listens_for(starved, "connect")
        def _read_only(dbapi_conn, _record) -> None:
            dbapi_conn.execute("SET default_transaction_read_only = on")
            dbapi_conn.commit()
    return starved


def test_full_or_read_only_database_is_503_and_stores_nothing(engine, settings, clock):
    headers = _key(engine)
    starved = _starved(engine)
    rows = [person_row(i) for i in range(1, 400)]
    with TestClient(create_app(settings, starved), raise_server_exceptions=False) as c:
        r = c.post("/api/v1/feeds/persons", content=csv_body("persons", rows), headers=headers)
    starved.dispose()
    assert r.status_code == 503, r.text
    kind = "full" if engine.dialect.name == "sqlite" else "read-only"
    assert r.json()["kind"] == kind and r.headers["retry-after"] == "30"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(SourceRecord)) == 0
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with TestClient(create_app(settings, engine)) as c:  # the fault lifted: the same request is stored
        r = c.post("/api/v1/feeds/persons", content=csv_body("persons", rows), headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == len(rows)


def _error(engine, sql: str) -> DBAPIError:
    with engine.connect() as conn, pytest.raises(DBAPIError) as info:
        conn.execute(text(sql))
    return info.value


def test_programming_errors_are_not_mistaken_for_an_outage(engine):
    assert unavailable(_error(engine, "SELECT * FROM no_such_table")) is None
    assert unavailable(_error(engine, "INSERT INTO agency (code) VALUES (NULL)")) is None
    assert unavailable(ValueError("not a database error")) is None


def test_sqlite_storage_fault_names_a_read_only_folder(tmp_path, monkeypatch):
    db = tmp_path / "chudong.db"
    db.write_bytes(b"")
    assert sqlite_storage_fault(f"sqlite:///{db}") is None
    assert sqlite_storage_fault("postgresql+psycopg://postgres@127.0.0.1/x") is None
    monkeypatch.setattr("os.access", lambda path, mode: False)
    assert "not writable" in sqlite_storage_fault(f"sqlite:///{db}")


def test_other_database_errors_still_answer_500(settings):
    memory = make_engine("sqlite://")
    app = create_app(settings, memory, check_migrations=False)

    @app.get("/broken")
    def broken() -> None:
        with memory.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/broken")
    assert r.status_code == 500 and "retry-after" not in r.headers
    memory.dispose()
