"""Back up and restore the database — one entry point for both backends.

SQLite: ``sqlite3.Connection.backup`` copies a consistent snapshot while the application
keeps running (WAL readers and writers are not blocked for long), and copies a backup
back into the live file on restore. PostgreSQL: ``pg_dump --format=custom`` and
``pg_restore --clean --if-exists --single-transaction`` (a failed restore changes
nothing); the binaries come from the ``postgresql-client`` package and must be at least
the server's major version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine

from chudong.kit import clock
from chudong.kit.errors import ChudongError, Unprocessable

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(ChudongError):
    """A backup or restore could not be done; the message says why and what to do."""

    status_code = 500
    code = "backup_failed"


@dataclass(frozen=True)
class BackupResult:
    """Where a backup was written and how big it is."""

    path: Path
    backend: str
    size: int


def default_path(data_dir: Path, backend: str) -> Path:
    """Return ``<data_dir>/backups/chudong-<time>.<ext>`` for a new backup."""
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return data_dir / "backups" / f"chudong-{stamp}.{'sqlite' if backend == 'sqlite' else 'pgdump'}"


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up; set CHUDONG_DATABASE_URL to a file")
    return Path(database)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found on PATH; install the PostgreSQL client tools "
                          "(Debian/Ubuntu: `apt install postgresql-client`) matching the server's major version")
    return found


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """Return a libpq connection string and an environment carrying the password (never on the command line)."""
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    parts.update({k: v for k, v in url.query.items() if isinstance(v, str)})  # sslmode, options...
    conninfo = " ".join(f"{k}='{str(v).replace(chr(39), chr(92) + chr(39))}'" for k, v in parts.items() if v)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        detail = (r.stderr or r.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit code {r.returncode}'}")


def backup(engine: Engine, out: Path) -> BackupResult:
    """Write a consistent copy of the whole database to ``out`` (which must not exist yet)."""
    if out.exists():
        raise Unprocessable(f"{out} already exists; choose another --out (backups are never overwritten)", field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    backend = engine.dialect.name
    try:
        if backend == "sqlite":
            source = sqlite3.connect(_sqlite_file(engine))
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            conninfo, env = _pg_connection(engine.url)
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={conninfo}"],
                 env, "pg_dump")
        partial.replace(out)  # only a complete backup ever carries the final name
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(out, backend, out.stat().st_size)


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with the backup ``source`` (stop the app and worker first)."""
    if not source.is_file():
        raise Unprocessable(f"backup file {source} does not exist", field="file")
    head = source.open("rb").read(16)
    backend = engine.dialect.name
    if backend == "sqlite" and not head.startswith(SQLITE_MAGIC):
        raise Unprocessable(f"{source} is not a SQLite backup" + (" (it is a PostgreSQL dump)" if head.startswith(PGDUMP_MAGIC) else ""), field="file")
    if backend == "postgresql" and not head.startswith(PGDUMP_MAGIC):
        raise Unprocessable(f"{source} is not a pg_dump custom-format backup" + (" (it is a SQLite file)" if head.startswith(SQLITE_MAGIC) else ""), field="file")
    engine.dispose()  # pooled connections would otherwise hold stale schema caches or locks
    if backend == "sqlite":
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(_sqlite_file(engine), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        conninfo, env = _pg_connection(engine.url)
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={conninfo}", str(source)], env, "pg_restore")
    engine.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    """Return the number of rows of every table, by name."""
    names = sorted(inspect(engine).get_table_names())
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as conn:
        return {n: conn.execute(text(f"SELECT count(*) FROM {preparer.quote(n)}")).scalar_one() for n in names}
