"""Engine, sessions and the migration check — one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from chudong.config import ConfigError, get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Foreign keys that PostgreSQL checks once per statement (triggers over the statement's rows)
# instead of once per row: the bulk-loaded person index, migration 20261204_0015. The models
# declare them as usual and SQLite has them as foreign keys; on PostgreSQL schema comparison
# must not ask for them back (``include_object``).
SET_BASED_KEYS = frozenset({
    "fk_person_ward_code_ward", "fk_person_household_id_household", "fk_source_record_agency_code_agency",
    "fk_source_record_run_id_ingest_run", "fk_source_record_person_id_person",
})


def include_object(dialect: str):
    """Return Alembic's ``include_object`` filter for a database of ``dialect``."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        return not (dialect == "postgresql" and type_ == "foreign_key_constraint" and name in SET_BASED_KEYS)
    return include


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names are deterministic for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; SQLite hands it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (sqlite:/// or postgresql+psycopg://) with our defaults."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"CHUDONG_DATABASE_URL {url!r} is not a database URL; use sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database backend {backend!r} is not supported; use sqlite or postgresql"
        )
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # hide_parameters: bound values (ID numbers, phones…) never reach logs or error messages
            engine = create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(
                parsed, pool_pre_ping=True, pool_size=10, max_overflow=20,
                connect_args={"connect_timeout": 5}, hide_parameters=True,
            )
    except (NoSuchModuleError, ArgumentError) as exc:
        raise ConfigError(f"cannot use database URL {url!r}: {exc}") from None
    return engine


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """Return the process-wide engine for the configured (or given) URL."""
    return make_engine(url or get_settings().effective_database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a sessionmaker bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """Run a block in one transaction: commit on success, roll back on error.

    This is the one place (with the request dependency) where work is committed;
    services only flush.
    """
    session = session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sqlite_storage_fault(url: str) -> str | None:
    """For a SQLite URL, say whether its file system is read-only or full or the file not writable."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    try:
        fs = os.statvfs(path.parent)
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return f"the file system holding {path} is read-only"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{path} or its folder is not writable by this user"
    if fs.f_bavail == 0:
        return f"no space is left on the file system holding {path}"
    return None


def describe_connection_error(url: str, exc: OperationalError) -> str:
    """Return one line saying why the database cannot be reached and what to do."""
    storage = sqlite_storage_fault(url)
    if storage:
        return f"the database cannot be written: {storage}; nothing was stored — fix the storage and run again"
    safe = make_url(url).render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return f"cannot connect to the database {safe}: {reason} — check CHUDONG_DATABASE_URL and that the server is running"


@dataclass(frozen=True)
class Unavailable:
    """Why the database cannot take work right now; the work was rolled back and may be retried."""

    kind: str  # "unavailable" | "read-only" | "full" | "busy"
    message: str  # safe to show to any client
    reason: str  # the driver's first line, for operators (logs, the CLI)
    retry_after: int  # seconds


_UNAVAILABLE_TEXT = {
    "unavailable": "the database is unavailable right now",
    "read-only": "the database is read-only right now (maintenance or a storage fault)",
    "full": "the database storage is full",
    "busy": "the database is busy with conflicting work",
}
# SQLite primary result codes (sqlite3.Error.sqlite_errorname without the extended suffix)
_SQLITE_KINDS = {"SQLITE_READONLY": "read-only", "SQLITE_FULL": "full", "SQLITE_BUSY": "busy",
                 "SQLITE_LOCKED": "busy", "SQLITE_IOERR": "unavailable", "SQLITE_CANTOPEN": "unavailable"}


def unavailable(exc: BaseException) -> Unavailable | None:
    """Classify a database error as a passing fault (server down or restarting, connection lost,
    read-only, storage full, lock conflict), or return None for any other error (a bug: 500).

    A database error raised while handling another one (SQLite rolls the whole transaction back
    on a full disk, so the savepoint's rollback then fails) is classified by the original."""
    depth = 0
    # walk wrapped driver errors and the errors they interrupted, as long as they are database errors
    while exc is not None and depth < 6 and (isinstance(exc, DBAPIError) or
                                              type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg")):
        if isinstance(exc, DBAPIError):
            found = _unavailable(exc)
            if found is not None:
                return found
        exc, depth = exc.__cause__ or exc.__context__, depth + 1
    return None


def _unavailable(exc: DBAPIError) -> Unavailable | None:
    orig = exc.orig
    kind = None
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    name = getattr(orig, "sqlite_errorname", None)  # sqlite3
    if name:
        kind = _SQLITE_KINDS.get("_".join(name.split("_")[:2]))
    elif sqlstate == "25006":
        kind = "read-only"
    elif sqlstate == "53100":
        kind = "full"
    elif sqlstate in ("40001", "40P01", "55P03"):
        kind = "busy"
    elif exc.connection_invalidated or (sqlstate or "").startswith("08") or sqlstate in ("57P01", "57P02", "57P03") \
            or (sqlstate is None and isinstance(exc, OperationalError) and not name):
        kind = "unavailable"
    if kind is None:
        return None
    reason = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else type(exc).__name__
    return Unavailable(kind, _UNAVAILABLE_TEXT[kind], reason, 30 if kind in ("read-only", "full") else 5)


def pending_migrations(engine: Engine) -> list[str]:
    """Return the ids of migrations not yet applied ([] when the database is current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    heads = set(script.get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return []
    return sorted(heads - current) or sorted(heads)


def alembic_config(url: str):
    """Return an Alembic Config pointing at chudong's migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["chudong_url"] = url
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    from alembic import command

    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` on ``engine``'s database."""
    from alembic import command

    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(False))
    if engine.dialect.name == "sqlite":
        _migrate_sqlite(engine, cfg, step, revision)
        return
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def _migrate_sqlite(engine: Engine, cfg, step, revision: str) -> None:
    """Migrate SQLite the way its manual says to rebuild tables: foreign keys off, checked before commit.

    SQLite changes a column by copying the table (Alembic's batch mode); with foreign keys
    on, dropping a table that other rows refer to fails, so a migration that alters the
    person index could not run on a database holding data.
    """
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
        conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    table, rowid, parent, _ = broken[0]
                    raise RuntimeError(f"migration left {len(broken)} broken foreign key(s), e.g. {table} row "
                                       f"{rowid} → {parent}; nothing was committed")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def table_names(engine: Engine) -> list[str]:
    """Return the tables present in the database."""
    return inspect(engine).get_table_names()
