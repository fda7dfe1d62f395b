"""Fault scenarios with real processes: nothing lost, nothing duplicated, no server error.

    .venv/bin/python -m bench.faults                      # every scenario, full counts
    .venv/bin/python -m bench.faults --quick              # reduced counts (what CI runs)
    .venv/bin/python -m bench.faults --scenario web-kill --scenario pg-restart [--json]

Scenarios (``SCENARIOS``; each returns one or more :class:`Outcome` rows):

``web-kill``     ``chudong serve`` is killed with SIGKILL while it writes an agency's CSV batch
                 (``POST /api/v1/feeds/persons``) to PostgreSQL, and restarted; the client retries
                 the failed batches (idempotent by source key).
``cli-kill``     ``chudong ingest persons <file>`` is killed with SIGKILL mid-transaction, then re-run
                 (PostgreSQL and SQLite; SQLite is checked with ``PRAGMA integrity_check``).
``worker-kill``  ``chudong worker`` is killed with SIGKILL while it dispatches notifications to two
                 SMS gateway simulators (``bench.notifications.crash_phase``).
``pg-restart``   a private PostgreSQL cluster (initdb in a temporary folder, own port) is stopped
                 with ``pg_ctl stop -m immediate`` (a crash) while clients post batches over HTTP,
                 held down, and started again: clients must get 503 + Retry-After, never a 500.
``storage``      storage faults: SQLite on a small tmpfs that fills up (the CLI and HTTP ingest), the
                 same filesystem remounted read-only, and a PostgreSQL database switched to
                 ``default_transaction_read_only``: the CLI exits 2 with one line, HTTP answers 503,
                 nothing partial is stored, and after the fault is lifted the re-run is exact.
                 Without mount rights: SQLite ``PRAGMA max_page_count`` (disk full) and chmod
                 (read-only, non-root only).
``nats-down``    ``bench.faults_bus.measure``: the relay's nats-server is killed, events recorded
                 meanwhile stay queued and flow after it returns; a de-duplicating consumer counts.

Lost = sent items that are not stored (or not handed to a provider / consumer); duplicated =
items stored or delivered more than once. Exit code 1 when any scenario loses or duplicates
anything, sees a 500, or could not inject its fault.

PostgreSQL: CHUDONG_BENCH_POSTGRES_URL (throw-away databases, dropped after); the pg-restart
scenario never touches that server (it needs the PostgreSQL server binaries: ``initdb``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import os
import pwd
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bench._pg import ADMIN_URL
from chudong.db import make_engine, session_factory, upgrade

ROOT = Path(__file__).resolve().parent.parent
AGENCY = "faults-pop"


class NotRun(Exception):
    """A scenario could not inject its fault on this machine (missing binary, no mount rights)."""


@dataclass
class Outcome:
    """One row of the table: what was sent, what is stored, and what the clients saw."""

    scenario: str
    backend: str
    unit: str  # records / notifications / events
    fault: str  # what was done, with counts
    sent: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # client-side: kind → count
    problems: list[str] = field(default_factory=list)  # failed checks besides lost / duplicated
    notes: str = ""
    seconds: float = 0.0
    not_run: str = ""  # why the fault could not be injected here

    @property
    def ok(self) -> bool:
        """True when nothing was lost or duplicated, no 500 was seen, and every check passed."""
        return (not self.not_run and self.lost == 0 and self.duplicated == 0 and not self.problems
                and not any(k.startswith("500") for k in self.errors))

    def as_dict(self) -> dict:
        """Return the row as JSON-ready data (with the verdict)."""
        return {**asdict(self), "ok": self.ok}


# ---------------------------------------------------------------- processes and databases


def python() -> str:
    """Return the project's interpreter."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    from chudong.notifications.simulators import free_port as _free

    return _free()


def app_env(url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a chudong subprocess on database ``url``."""
    return {**os.environ, "CHUDONG_DATABASE_URL": url, "CHUDONG_DATA_DIR": str(data_dir), "CHUDONG_ENV": "development",
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "COLUMNS": "200"}


def tail_of(path: Path, chars: int = 600) -> str:
    """Return the end of a log file (for error messages)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class WebServer:
    """``chudong serve`` in a subprocess on its own port; killed with SIGKILL and restarted by scenarios."""

    def __init__(self, env: dict[str, str], log: Path, launcher: list[str] | None = None) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.launcher = launcher or [python(), "-m", "chudong.cli"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> None:
        """Start the server and wait until it answers /healthz."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([*self.launcher, "serve", "--port", str(self.port), "--workers", "1"], env=self.env, cwd=ROOT,
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chudong serve exited with {self.proc.returncode}: {tail_of(self.log)}")
            with suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/healthz", timeout=2)
                return
            time.sleep(0.1)
        raise RuntimeError(f"chudong serve did not answer within {timeout:.0f} s: {tail_of(self.log)}")

    def kill(self) -> None:
        """SIGKILL the server (a crash: no shutdown handler runs)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        """Stop the server if it runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Databases:
    """Fresh, migrated databases with the administrative units: PostgreSQL ones are cloned from one
    template database (CREATE DATABASE … TEMPLATE), SQLite ones copied from one template file."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.admin: Engine | None = None
        self.pg_template: str | None = None
        self.sqlite_template: Path | None = None
        self.created: list[str] = []

    @staticmethod
    def prepare(engine: Engine) -> None:
        """Migrate and load the administrative units."""
        from chudong.geo.service import load_units

        upgrade(engine)
        with session_factory(engine)() as s:
            load_units(s)
            s.commit()

    def _admin(self) -> Engine:
        if self.admin is None:
            self.admin = make_engine(ADMIN_URL)
        return self.admin

    def _create(self, name: str, template: str | None = None) -> str:
        with self._admin().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.created.append(name)
        return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    @staticmethod
    def catch_up(url: str) -> None:
        """Apply migrations added since the template was made (a working tree may gain some meanwhile)."""
        from chudong.db import pending_migrations

        engine = make_engine(url)
        try:
            if pending_migrations(engine):
                upgrade(engine)
                if engine.dialect.name == "sqlite":  # the template file is copied: no pages left in the WAL
                    with engine.connect() as c:
                        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()

    def postgres(self, label: str) -> str:
        """Return the URL of a new database on the shared server (dropped by :meth:`close`)."""
        if self.pg_template is None:
            name = f"chudong_faults_tpl_{uuid.uuid4().hex[:8]}"
            engine = make_engine(self._create(name))
            try:
                self.prepare(engine)
            finally:
                engine.dispose()
            self.pg_template = name
        else:
            self.catch_up(make_url(ADMIN_URL).set(database=self.pg_template).render_as_string(hide_password=False))
        return self._create(f"chudong_faults_{label}_{uuid.uuid4().hex[:8]}", self.pg_template)

    def sqlite(self, path: Path) -> str:
        """Copy the template SQLite database to ``path`` and return its URL."""
        if self.sqlite_template is None:
            tpl = self.tmp / "template.db"
            engine = make_engine(f"sqlite:///{tpl}")
            try:
                self.prepare(engine)
                with engine.connect() as c:
                    c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                engine.dispose()
            self.sqlite_template = tpl
        else:
            self.catch_up(f"sqlite:///{self.sqlite_template}")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sqlite_template, path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        """Drop every database created here."""
        if self.admin is None:
            return
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for name in self.created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def postgres_bin(name: str) -> str:
    """Return the path of a PostgreSQL server binary (initdb, pg_ctl), or raise NotRun."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise NotRun(f"{name} not found: install the PostgreSQL server binaries (apt-get install postgresql)")
    return path


class OwnPostgres:
    """A throw-away PostgreSQL cluster in a temporary folder on its own port, which a scenario may crash.

    As root, the cluster runs as the ``postgres`` OS user (initdb refuses root)."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "pgcluster"
        self.data = self.dir / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        self.started = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        r = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-400:]}")

    def init(self) -> None:
        """initdb (trust authentication, no fsync at init) and start."""
        initdb, self.pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise NotRun("running as root and there is no `postgres` OS user to run initdb as") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            for parent in self.dir.parents:  # the cluster user must reach its folder
                if str(parent) in ("/", "/tmp"):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o711)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        self.start()

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        self.started = True

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every server process exits at once, as in a crash (recovery on start)."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.started = False

    def destroy(self) -> None:
        """Stop the cluster if it runs."""
        if self.started:
            with suppress(Exception):
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False

    def url(self, database: str = "postgres") -> str:
        """Return a URL on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def add_agency(url: str) -> str:
    """Register the population agency on ``url`` and return its API key."""
    from chudong.registry.service import add_agency as _add

    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            _agency, key = _add(s, AGENCY, "Population registry (fault tests)", "population")
            s.commit()
        return key
    finally:
        engine.dispose()


WARDS = [20194, 20197, 20200, 20209, 20242, 20257, 20260, 20263, 20275, 20285]  # Đà Nẵng 2025 wards


def persons_csv(n: int, seed: int, start: int = 0) -> tuple[bytes, list[str]]:
    """Return a persons feed of ``n`` valid records (keys R<start>…) and its source keys."""
    from bench.ingest import generate

    body = generate(start + n, seed, WARDS)
    lines = body.decode("utf-8").splitlines(keepends=True)
    rows = lines[1 + start:]
    return (lines[0] + "".join(rows)).encode("utf-8"), [r.split(",", 1)[0] for r in rows]


def batches_of(body: bytes, size: int) -> list[bytes]:
    """Split a CSV feed into complete CSV files of ``size`` records each (header repeated)."""
    lines = body.decode("utf-8").splitlines(keepends=True)
    head, rows = lines[0], lines[1:]
    return [(head + "".join(rows[i:i + size])).encode("utf-8") for i in range(0, len(rows), size)]


# ---------------------------------------------------------------- checks


def verify_persons(url: str, keys: list[str], outcome: Outcome) -> None:
    """Fill stored / lost / duplicated from the database and add a problem for anything partial.

    The database is fresh, so every person row must come from this agency's persons feed."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            stored = [k for (k,) in c.execute(text(
                "SELECT source_key FROM source_record WHERE agency_code = :a AND feed = 'persons'"), {"a": AGENCY})]
            persons = c.scalar(text("SELECT count(*) FROM person"))
            owned = c.scalar(text(
                "SELECT count(*) FROM person p JOIN source_record s ON s.id = p.source_record_id "
                "WHERE s.agency_code = :a AND s.feed = 'persons'"), {"a": AGENCY})
            runs = c.execute(text("SELECT status, accepted, updated, rejected, finished_at FROM ingest_run "
                                  "WHERE agency_code = :a"), {"a": AGENCY}).all()
    finally:
        engine.dispose()
    sent, distinct = set(keys), set(stored)
    outcome.sent, outcome.stored = len(sent), len(distinct)
    outcome.lost = len(sent - distinct)
    outcome.duplicated = (len(stored) - len(distinct)) + max(0, persons - len(distinct)) + len(distinct - sent)
    unfinished = [r for r in runs if r.status != "done" or r.finished_at is None]
    if unfinished:
        outcome.problems.append(f"{len(unfinished)} ingest run(s) not finished: {sorted({r.status for r in unfinished})}")
    accepted = sum(r.accepted for r in runs if r.status == "done")
    if accepted != len(distinct):
        outcome.problems.append(f"the runs accepted {accepted} records but {len(distinct)} are stored")
    if owned != len(distinct):
        outcome.problems.append(f"{len(distinct) - owned} stored records have no person row")
    if any(r.updated or r.rejected for r in runs):
        outcome.problems.append("a run updated or rejected records (every record was sent unchanged and valid)")


def sqlite_integrity(url: str, outcome: Outcome) -> None:
    """Add a problem unless ``PRAGMA integrity_check`` says ok."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            result = [r for (r,) in c.exec_driver_sql("PRAGMA integrity_check")]
    finally:
        engine.dispose()
    if result != ["ok"]:
        outcome.problems.append(f"PRAGMA integrity_check: {'; '.join(result[:3])}")


def pg_writing(monitor: Engine, database: str, application: str | None = None) -> bool:
    """True while another session on ``database`` (of ``application``, when given: the subprocess's
    ``PGAPPNAME``) has an open transaction that has written or locked rows (it has an xid)."""
    with monitor.connect() as c:
        return bool(c.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid() AND (CAST(:app AS text) IS NULL OR application_name = :app)"),
            {"d": database, "app": application}))


def sqlite_writing(path: str) -> bool:
    """True while another connection holds the SQLite database's write lock (an open write transaction)."""
    import sqlite3

    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        conn.close()


def kill_when(condition: Callable[[], bool], kill: Callable[[], None], alive: Callable[[], bool],
              rng: random.Random, jitter: float = 0.15, delay: float = 0.0, timeout: float = 300) -> bool:
    """Wait until ``condition`` holds, then ``delay`` plus a random moment up to ``jitter`` seconds, and
    ``kill`` if it still holds; False if the process ended (or the timeout passed) first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if condition():
            time.sleep(delay + rng.uniform(0, jitter))
            if condition() and alive():
                kill()
                return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------- the HTTP client


class FeedClient:
    """Posts CSV batches to ``POST /api/v1/feeds/persons`` and retries every failed one until it is stored.

    Error kinds: ``connection`` (server down or killed mid-request), ``503 <kind>`` (retriable, with
    Retry-After and a JSON body), ``503 without Retry-After``, ``500``, ``HTTP <status>``."""

    def __init__(self, base_url: str, key: str, max_wait: float = 1.0) -> None:
        self.base_url, self.key, self.max_wait = base_url, key, max_wait
        self.errors: Counter[str] = Counter()
        self.done = 0
        self.accepted = self.unchanged = 0  # as the 200 answers said
        self.error: str | None = None
        self.on_503: Callable[[], None] | None = None

    def post_all(self, batches: list[bytes], deadline: float = 1800) -> None:
        """Post every batch (retrying) in order; set ``error`` if one cannot be stored in time."""
        stop = time.monotonic() + deadline
        with httpx.Client(timeout=120) as http:
            for i, body in enumerate(batches):
                while True:
                    if time.monotonic() > stop:
                        self.error = f"batch {i} not stored after {deadline:.0f} s"
                        return
                    status = self._post(http, body, i)
                    if status == 200:
                        self.done = i + 1
                        break

    def _post(self, http: httpx.Client, body: bytes, i: int) -> int:
        try:
            r = http.post(f"{self.base_url}/api/v1/feeds/persons", content=body,
                          headers={"Authorization": f"Bearer {self.key}", "Content-Type": "text/csv",
                                   "X-File-Name": f"batch-{i:05d}.csv"})
        except httpx.TransportError:
            self.errors["connection"] += 1
            time.sleep(0.2)
            return 0
        if r.status_code == 200:
            answer = r.json()
            self.accepted += answer["accepted"]
            self.unchanged += answer["unchanged"]
            return 200
        if r.status_code == 503:
            retry = r.headers.get("retry-after", "")
            try:
                kind = r.json().get("kind", "?")
            except ValueError:
                kind = "non-JSON body"
            self.errors[f"503 {kind}" if retry.isdigit() else "503 without Retry-After"] += 1
            if self.on_503 is not None:
                self.on_503()
            time.sleep(min(float(retry) if retry.isdigit() else 1.0, self.max_wait))
            return 503
        self.errors["500" if r.status_code == 500 else f"HTTP {r.status_code}"] += 1
        time.sleep(0.5)
        return r.status_code


def expect_errors(outcome: Outcome, client: FeedClient, *, allowed: tuple[str, ...], required: str | None = None) -> None:
    """Copy the client's error tally to the outcome; unexpected kinds and a missing required kind are problems."""
    for kind, count in client.errors.items():
        outcome.errors[kind] = outcome.errors.get(kind, 0) + count
    if client.error:
        outcome.problems.append(client.error)
    bad = {k: v for k, v in client.errors.items() if not k.startswith(allowed)}
    if bad:
        outcome.problems.append(f"unexpected client errors: {bad}")
    if required and not any(k.startswith(required) for k in client.errors):
        outcome.problems.append(f"the fault was not observed by the client (no {required})")


# ---------------------------------------------------------------- scenarios


@dataclass
class Ctx:
    """What every scenario gets: sizes, a temporary folder, the databases, a seeded RNG."""

    quick: bool
    tmp: Path
    dbs: Databases
    rng: random.Random


def web_kill(ctx: Ctx) -> list[Outcome]:
    """Kill ``chudong serve`` with SIGKILL while it writes a batch to PostgreSQL; the client retries."""
    n, size, kills = (2_000, 250, 1) if ctx.quick else (40_000, 1_000, 5)
    out = Outcome("web-kill", "postgresql", "records", "")
    url = ctx.dbs.postgres("web")
    key = add_agency(url)
    body, keys = persons_csv(n, seed=11)
    batches = batches_of(body, size)
    server = WebServer({**app_env(url, ctx.tmp), "PGAPPNAME": "faults-web"}, ctx.tmp / "web-kill.log")
    monitor = make_engine(ADMIN_URL)
    database = make_url(url).database
    client = FeedClient(server.url, key)
    landed = 0
    try:
        server.start()
        t = threading.Thread(target=client.post_all, args=(batches,), daemon=True)
        t.start()
        for k in range(kills):
            while client.done < len(batches) * (k + 1) / (kills + 1) and t.is_alive():
                time.sleep(0.05)
            if kill_when(lambda: pg_writing(monitor, database, "faults-web"), server.kill, t.is_alive, ctx.rng):
                landed += 1
                server.start()
        t.join()
    finally:
        server.stop()
        monitor.dispose()
    out.fault = f"{landed} × kill -9 of `chudong serve` while it held uncommitted writes, restarted each time"
    if landed < kills:
        out.problems.append(f"only {landed} of {kills} kills landed mid-transaction")
    expect_errors(out, client, allowed=("connection",), required="connection")
    verify_persons(url, keys, out)
    out.notes = (f"{len(batches)} batches of {size}; the answers said {client.accepted:,} accepted and "
                 f"{client.unchanged:,} unchanged (a batch committed just before a kill, re-sent: idempotent by "
                 f"source key)")
    return [out]


def _cli(env: dict[str, str], args: list[str], log: Path, launcher: list[str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen([*(launcher or [python(), "-m", "chudong.cli"]), *args], env=env, cwd=ROOT,
                                stdout=fh, stderr=subprocess.PIPE)


def _stored(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return int(c.scalar(text("SELECT count(*) FROM source_record")) or 0)
    finally:
        engine.dispose()


def cli_kill(ctx: Ctx) -> list[Outcome]:
    """Kill ``chudong ingest`` with SIGKILL mid-file (PostgreSQL, SQLite), then re-run it."""
    kills = 1 if ctx.quick else 3
    rows = []
    # SQLite gets a smaller file: its ingest is quadratic in the size of the person table (each new
    # source_record row searches person.source_record_id, which has no index, for deferred FK checks)
    for backend, n in (("postgresql", 6_000 if ctx.quick else 100_000), ("sqlite", 3_000 if ctx.quick else 20_000)):
        started = time.perf_counter()
        body, keys = persons_csv(n, seed=12)
        feed = ctx.tmp / f"cli-kill-{backend}.csv"
        feed.write_bytes(body)
        out = Outcome("cli-kill", backend, "records", "")
        if backend == "postgresql":
            url = ctx.dbs.postgres("cli")
            monitor = make_engine(ADMIN_URL)
            database = make_url(url).database

            def writing() -> bool:
                return pg_writing(monitor, database, "faults-cli")
        else:
            url = ctx.dbs.sqlite(ctx.tmp / "cli-kill" / "chudong.db")
            monitor = None
            path = make_url(url).database

            def writing() -> bool:
                return sqlite_writing(path)
        add_agency(url)
        env = {**app_env(url, ctx.tmp), "PGAPPNAME": "faults-cli"}
        log = ctx.tmp / f"cli-kill-{backend}.log"
        landed = 0
        at: list[float] = []
        try:
            for k in range(kills):
                proc = _cli(env, ["ingest", "persons", str(feed), "--agency", AGENCY], log)
                spawned = time.monotonic()
                # later kills land deeper into the file
                try:
                    killed = kill_when(writing, lambda: os.kill(proc.pid, signal.SIGKILL), lambda: proc.poll() is None,
                                       ctx.rng, jitter=0.3 if ctx.quick else 1.0, delay=0 if ctx.quick else 2.0 * k)
                    proc.wait(timeout=1200)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                left = _stored(url)
                if left not in (0, n):
                    out.problems.append(f"{left} of {n} records stored by a killed run (partial write)")
                landed += killed and left == 0  # a kill just after the commit leaves the whole file: not mid-run
                if killed:
                    at.append(time.monotonic() - spawned)
                if left == n:
                    break
            proc, stderr = _run_cli(env, ["ingest", "persons", str(feed), "--agency", AGENCY], log)
            if proc.returncode:
                out.problems.append(f"the re-run exited with {proc.returncode}: {stderr.decode(errors='replace')[-300:]}")
        finally:
            if monitor is not None:
                monitor.dispose()
        out.fault = f"{landed} × kill -9 of `chudong ingest` mid-transaction ({n:,}-record file), then re-run"
        if landed < kills:
            out.problems.append(f"only {landed} of {kills} kills landed mid-transaction")
        verify_persons(url, keys, out)
        if backend == "sqlite":
            sqlite_integrity(url, out)
        out.notes = (f"killed {', '.join(f'{x:.1f}' for x in at)} s after the process started (start-up "
                     f"included); after each kill 0 records stored"
                     + ("; integrity_check ok" if backend == "sqlite" and not out.problems else ""))
        out.seconds = time.perf_counter() - started
        rows.append(out)
    return rows


def worker_kill(ctx: Ctx) -> list[Outcome]:
    """Kill a ``chudong worker`` with SIGKILL in the middle of a batch sent to two SMS gateway simulators."""
    from bench import notifications as bn

    # a kill waits until every worker has restarted (seconds on a loaded machine): spread them out
    n, rate, kills = (400, 100.0, 1) if ctx.quick else (20_000, 200.0, 5)
    out = Outcome("worker-kill", "postgresql", "notifications", "")
    workers: list = []
    with bn.rig(min(n, 5_000), batch=100, lease=3.0) as r:
        monitor = make_engine(ADMIN_URL)

        def sending(victim) -> bool:  # the victim holds its batch's row locks while it sends
            return pg_writing(monitor, r.name, f"faults-worker-{victim.n}")

        try:
            workers = [bn.Worker({**r.env, "PGAPPNAME": f"faults-worker-{k}"}, k) for k in (1, 2)]
            b = bn.crash_phase(r, workers, n, rate, kills, "faults", sending=sending)
        finally:
            for w in workers:
                w.stop()
            monitor.dispose()
    out.fault = (f"{b['kills_while_sending']} × kill -9 of one of 2 `chudong worker` processes while it sent a "
                 f"batch ({n:,} enqueued at {b['rate']:,.0f}/s), restarted each time")
    out.sent, out.lost, out.duplicated = b["rows"], b["lost"], b["duplicates"]
    out.stored = b["rows"] - b["lost"]
    if b["left"]:
        out.problems.append(f"{b['left']} notifications still unsent")
    if b["kills_while_sending"] < kills:
        out.problems.append(f"only {b['kills_while_sending']} of {kills} kills landed while a batch was being sent")
    out.notes = (f"counted at the SMS gateway simulators; {b['resends_absorbed']} re-sends absorbed by the "
                 f"idempotency key; hand-off p95 {b['p95']:.1f} s")
    return [out]


def pg_restart(ctx: Ctx) -> list[Outcome]:
    """Crash a private PostgreSQL cluster while clients ingest over HTTP; 503s while down, exact after."""
    n, size, restarts, down = (1_600, 200, 1, 2.0) if ctx.quick else (30_000, 500, 3, 5.0)
    out = Outcome("pg-restart", "postgresql (own cluster)", "records", "")
    cluster = OwnPostgres(ctx.tmp)
    server = None
    try:
        cluster.init()
        admin = make_engine(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text('CREATE DATABASE "chudong_faults"'))
        admin.dispose()
        url = cluster.url("chudong_faults")
        engine = make_engine(url)
        try:
            Databases.prepare(engine)
        finally:
            engine.dispose()
        key = add_agency(url)
        body, keys = persons_csv(n, seed=13)
        batches = batches_of(body, size)
        server = WebServer(app_env(url, ctx.tmp), ctx.tmp / "pg-restart.log")
        server.start()
        client = FeedClient(server.url, key)
        t = threading.Thread(target=client.post_all, args=(batches,), daemon=True)
        t.start()
        monitor = make_engine(cluster.url())
        crashed = 0
        try:
            for k in range(restarts):
                while client.done < len(batches) * (k + 1) / (restarts + 1) and t.is_alive():
                    time.sleep(0.05)
                monitor.dispose()  # its pooled connection dies with the cluster
                if kill_when(lambda: pg_writing(monitor, "chudong_faults"), cluster.crash, t.is_alive, ctx.rng):
                    crashed += 1
                    time.sleep(down)
                    cluster.start()
        finally:
            monitor.dispose()
        t.join()
        out.fault = (f"{crashed} × `pg_ctl stop -m immediate` while the server held uncommitted writes, "
                     f"down {down:.0f} s, then started (crash recovery)")
        if crashed < restarts:
            out.problems.append(f"only {crashed} of {restarts} crashes landed mid-transaction")
        expect_errors(out, client, allowed=("503 unavailable",), required="503 unavailable")
        verify_persons(url, keys, out)
        out.notes = (f"{len(batches)} batches of {size}; every error a 503 with Retry-After; the answers said "
                     f"{client.accepted:,} accepted and {client.unchanged:,} unchanged")
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()
    return [out]


# ---- storage faults


class Tmpfs:
    """A small tmpfs mounted for one scenario (needs mount rights); resized or remounted read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def available(probe: Path) -> bool:
        """True when this process may mount a tmpfs."""
        probe.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True)
        if r.returncode:
            return False
        subprocess.run(["umount", str(probe)], capture_output=True)
        return True

    def _mount(self, *options: str, remount: bool = True) -> None:
        args = ["mount", "-o", ",".join((["remount"] if remount else []) + list(options))]
        if not remount:
            args += ["-t", "tmpfs", "tmpfs"]
        r = subprocess.run([*args, str(self.path)], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{' '.join(args)} failed: {r.stderr.strip()}")

    def mount(self, size: int) -> None:
        """Mount with ``size`` bytes."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._mount(f"size={size}", remount=False)

    def used(self) -> int:
        """Bytes in use."""
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def resize(self, size: int) -> None:
        """Change the size (not below what is in use)."""
        self._mount(f"size={size}")

    def read_only(self, on: bool) -> None:
        """Remount read-only (no file may be open for writing) or read-write."""
        self._mount("ro" if on else "rw")

    def unmount(self) -> None:
        """Unmount (lazily, so a leftover open file cannot keep it)."""
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def _one_clear_line(proc: subprocess.CompletedProcess[bytes] | subprocess.Popen[bytes], stderr: bytes,
                    out: Outcome, what: str, expect: tuple[str, ...]) -> str:
    """Check that a failed CLI run exited 2 with one line naming the fault and no traceback; return the line."""
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    out.errors[f"CLI exit {proc.returncode}"] = out.errors.get(f"CLI exit {proc.returncode}", 0) + 1
    if proc.returncode != 2:
        out.problems.append(f"{what}: the CLI exited {proc.returncode}, not 2")
    if "Traceback" in stderr.decode(errors="replace") or len(lines) != 1:
        out.problems.append(f"{what}: expected one error line, got {len(lines)}: {stderr.decode(errors='replace')[-300:]}")
    if not any(e in line for e in expect):
        out.problems.append(f"{what}: the error line does not name the fault: {line!r}")
    return line


def _run_cli(env: dict[str, str], args: list[str], log: Path, launcher: list[str] | None = None,
             timeout: float = 1200) -> tuple[subprocess.Popen[bytes], bytes]:
    """Run a chudong command to its end; return the process and its stderr (killed after ``timeout``)."""
    proc = _cli(env, args, log, launcher)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"`chudong {' '.join(args[:2])}` did not finish within {timeout:.0f} s (killed)") from None
    return proc, stderr


PAGE_LIMIT_ENV = "CHUDONG_FAULTS_MAX_PAGE_COUNT"


def page_limited_cli() -> None:
    """Run the chudong CLI with every SQLite connection limited to ``$CHUDONG_FAULTS_MAX_PAGE_COUNT`` pages
    (SQLite then fails with SQLITE_FULL, "database or disk is full", as on a full disk)."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    limit = int(os.environ[PAGE_LIMIT_ENV])

    @event.listens_for(Pool, "connect")
    def _limit(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA max_page_count = {limit}")
        cur.close()

    from chudong.cli import main as cli_main

    cli_main()


def _page_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return int(c.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    finally:
        engine.dispose()


def storage(ctx: Ctx) -> list[Outcome]:
    """SQLite storage full and read-only (CLI and HTTP), PostgreSQL read-only (CLI and HTTP)."""
    started = time.perf_counter()
    rows = _sqlite_storage(ctx)
    for r in rows:
        r.seconds = (time.perf_counter() - started) / len(rows)
    started = time.perf_counter()
    pg = _pg_read_only(ctx)
    pg.seconds = time.perf_counter() - started
    return [*rows, pg]


def _sqlite_storage(ctx: Ctx) -> list[Outcome]:
    # SQLite ingest is quadratic in the person table (see cli_kill): full sizes stay moderate
    n_cli, n_http, size = (4_000, 1_500, 250) if ctx.quick else (15_000, 6_000, 500)
    body, keys = persons_csv(n_cli, seed=14)
    feed = ctx.tmp / "storage-persons.csv"
    feed.write_bytes(body)
    http_body, http_keys = persons_csv(n_http, seed=14, start=n_cli)
    full = Outcome("storage", "sqlite", "records", "")
    ro = Outcome("storage", "sqlite", "records", "")
    mount = Tmpfs(ctx.tmp / "storage-fs")
    mounted = Tmpfs.available(ctx.tmp / "mount-probe")
    db = mount.path / "chudong.db" if mounted else ctx.tmp / "storage" / "chudong.db"
    launcher = None
    env: dict[str, str] = {}
    server = None
    try:
        if mounted:
            mount.mount(64 * 2**20)
        url = ctx.dbs.sqlite(db)
        key = add_agency(url)
        env = app_env(url, ctx.tmp)
        log = ctx.tmp / "storage.log"
        # 1. the disk fills up during a CLI ingest
        if mounted:
            mount.resize(mount.used() + 2 * 2**20)
            how = "tmpfs full (ENOSPC)"
        else:
            launcher = [python(), "-c", "from bench.faults import page_limited_cli; page_limited_cli()"]
            env = {**env, PAGE_LIMIT_ENV: str(_page_count(url) + 200)}
            how = "PRAGMA max_page_count (SQLITE_FULL)"
        proc, stderr = _run_cli(env, ["ingest", "persons", str(feed), "--agency", AGENCY], log, launcher)
        line = _one_clear_line(proc, stderr, full, "disk full", ("storage is full", "no space"))
        if _stored(url):
            full.problems.append("records were stored by the run that hit the full disk")
        sqlite_integrity(url, full)
        if mounted:
            mount.resize(256 * 2**20)
        else:
            env.pop(PAGE_LIMIT_ENV)
            launcher = None
        proc, stderr = _run_cli(env, ["ingest", "persons", str(feed), "--agency", AGENCY], log)
        if proc.returncode:
            full.problems.append(f"the re-run after freeing space exited {proc.returncode}: {stderr[-300:]!r}")
        # 2. the disk fills up under HTTP ingestion: 503 until space is freed, then the retries are stored
        if mounted:
            mount.resize(mount.used() + 1 * 2**20)
        else:
            launcher = [python(), "-c", "from bench.faults import page_limited_cli; page_limited_cli()"]
            env = {**env, PAGE_LIMIT_ENV: str(_page_count(url) + 100)}
        server = WebServer(env, log, launcher)
        server.start()
        client = FeedClient(server.url, key, max_wait=0.3)
        freed = threading.Event()

        def free_space() -> None:  # the operator frees space after a few failed requests
            if client.errors.get("503 full", 0) >= 3 and not freed.is_set():
                freed.set()
                if mounted:
                    mount.resize(256 * 2**20)
                else:  # the limit is per connection: a restarted server without it stands for freed space
                    threading.Thread(target=_restart_without_limit, args=(server, env), daemon=True).start()

        client.on_503 = free_space
        client.post_all(batches_of(http_body, size))
        server.stop()
        server = None
        expect_errors(full, client, allowed=("503 full", "connection"), required="503 full")
        verify_persons(url, keys + http_keys, full)
        sqlite_integrity(url, full)
        full.fault = (f"{how} during a CLI ingest of {n_cli:,} records and during HTTP ingestion of {n_http:,}; "
                      f"space freed, re-run / retries")
        full.notes = f"CLI: {line.strip()}"
        if not freed.is_set():
            full.problems.append("the HTTP ingestion never hit the full disk")
        # 3. the filesystem turns read-only: the CLI refuses with one line, nothing changes
        before = _stored(url)
        extra_body, extra_keys = persons_csv(500, seed=15, start=n_cli + n_http)
        extra = ctx.tmp / "storage-extra.csv"
        extra.write_bytes(extra_body)
        if mounted:
            mount.read_only(True)
            how_ro = "filesystem remounted read-only"
        elif os.geteuid() != 0:
            db.chmod(0o444)
            db.parent.chmod(0o555)
            how_ro = "database file and folder made read-only (chmod)"
        else:
            ro.not_run = "read-only SQLite needs mount rights or a non-root user (root ignores chmod)"
            return [full, ro]
        try:
            proc, stderr = _run_cli(env, ["ingest", "persons", str(extra), "--agency", AGENCY], log)
            line = _one_clear_line(proc, stderr, ro, "read-only", ("read-only", "not writable"))
        finally:
            if mounted:
                mount.read_only(False)
            else:
                db.parent.chmod(0o755)
                db.chmod(0o644)
        if _stored(url) != before:
            ro.problems.append("records changed while the database was read-only")
        proc, stderr = _run_cli(env, ["ingest", "persons", str(extra), "--agency", AGENCY], log)
        if proc.returncode:
            ro.problems.append(f"the re-run after the fault exited {proc.returncode}: {stderr[-300:]!r}")
        verify_persons(url, keys + http_keys + extra_keys, ro)
        ro.sent = len(extra_keys)
        ro.stored = _stored(url) - before
        sqlite_integrity(url, ro)
        ro.fault = f"{how_ro} before a CLI ingest of {len(extra_keys)} records; made writable, re-run"
        ro.notes = f"CLI: {line.strip()}"
        return [full, ro]
    finally:
        if server is not None:
            server.stop()
        if mounted:
            mount.unmount()


def _restart_without_limit(server: WebServer, env: dict[str, str]) -> None:
    server.stop()
    server.env = {k: v for k, v in env.items() if k != PAGE_LIMIT_ENV}
    server.launcher = [python(), "-m", "chudong.cli"]
    server.start()


def _pg_read_only(ctx: Ctx) -> Outcome:
    """ALTER DATABASE … SET default_transaction_read_only (as after a fail-over to a standby)."""
    n, size = (1_000, 200) if ctx.quick else (20_000, 1_000)
    out = Outcome("storage", "postgresql", "records", "")
    url = ctx.dbs.postgres("ro")
    database = make_url(url).database
    key = add_agency(url)
    body, keys = persons_csv(n, seed=16)
    feed = ctx.tmp / "pg-ro-persons.csv"
    feed.write_bytes(body)
    admin = make_engine(ADMIN_URL)

    def read_only(on: bool) -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only = {"on" if on else "off"}'))
            # sessions read the setting when they start: end the existing ones (the pool reconnects)
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                           "AND pid <> pg_backend_pid()"), {"d": database})

    env = app_env(url, ctx.tmp)
    log = ctx.tmp / "pg-ro.log"
    server = WebServer(env, log)
    try:
        read_only(True)
        proc, stderr = _run_cli(env, ["ingest", "persons", str(feed), "--agency", AGENCY], log)
        line = _one_clear_line(proc, stderr, out, "read-only", ("read-only",))
        if _stored(url):
            out.problems.append("records were stored while the database was read-only")
        read_only(False)
        server.start()
        client = FeedClient(server.url, key, max_wait=0.3)
        lifted = threading.Event()

        def lift() -> None:
            if client.errors.get("503 read-only", 0) >= 3 and not lifted.is_set():
                lifted.set()
                read_only(False)

        client.on_503 = lift
        batches = batches_of(body, size)
        t = threading.Thread(target=client.post_all, args=(batches,), daemon=True)
        t.start()
        while client.done < len(batches) // 2 and t.is_alive():
            time.sleep(0.05)
        read_only(True)
        t.join()
        expect_errors(out, client, allowed=("503 read-only", "503 unavailable"), required="503 read-only")
    finally:
        server.stop()
        with suppress(Exception):
            read_only(False)
        admin.dispose()
    verify_persons(url, keys, out)
    out.fault = (f"default_transaction_read_only on: a CLI ingest of {n:,} records, then HTTP ingestion "
                 f"switched read-only half-way; lifted, retries")
    out.notes = f"CLI: {line.strip()}"
    return out


def nats_down(ctx: Ctx) -> list[Outcome]:
    """``bench.faults_bus.measure``: NATS killed while events are recorded; they flow after it returns."""
    from bench.faults_bus import measure

    if not (shutil.which("nats-server") or Path("/usr/sbin/nats-server").exists()):
        raise NotRun("nats-server not found (scripts/ensure-services.sh installs it)")
    events = 400 if ctx.quick else 4_000
    rows = []
    for backend in (("sqlite",) if ctx.quick else ("sqlite", "postgres")):
        started = time.perf_counter()
        m = measure(backend, events)
        out = Outcome("nats-down", "postgresql" if backend == "postgres" else backend, "events",
                      f"nats-server killed after {m['relayed']:,} events, {events // 4:,} recorded while down, "
                      f"restarted")
        out.sent, out.stored = m["expected"], m["distinct"]
        out.lost = m["expected"] - m["distinct"]
        out.duplicated = m["handled_twice"]
        if m["published_while_down"] or not m["relay_error_while_down"]:
            out.problems.append("the relay did not stop while NATS was down")
        out.errors = {"relay: NATS unreachable": 1} if m["relay_error_while_down"] else {}
        out.notes = (f"{m['flowed']:,} queued events flowed in {m['flow_seconds']:.1f} s after the restart; "
                     f"the de-duplicating consumer skipped {m['redeliveries_skipped']} redeliveries")
        out.seconds = time.perf_counter() - started
        rows.append(out)
    return rows


SCENARIOS: dict[str, Callable[[Ctx], list[Outcome]]] = {
    "web-kill": web_kill, "cli-kill": cli_kill, "worker-kill": worker_kill, "pg-restart": pg_restart,
    "storage": storage, "nats-down": nats_down,
}


@contextmanager
def context(quick: bool, seed: int = 1) -> Iterator[Ctx]:
    """Yield a scenario context; remove its databases and files afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="chudong-faults-"))
    dbs = Databases(tmp)
    try:
        yield Ctx(quick, tmp, dbs, random.Random(seed))
    finally:
        dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run_scenario(name: str, ctx: Ctx) -> list[Outcome]:
    """Run one scenario; a fault that cannot be injected, or a crash of the harness, becomes a failed row."""
    started = time.perf_counter()
    try:
        rows = SCENARIOS[name](ctx)
    except NotRun as exc:
        rows = [Outcome(name, "-", "-", "-", not_run=str(exc))]
    except Exception as exc:  # noqa: BLE001 - the harness reports a broken scenario as a failed row
        rows = [Outcome(name, "-", "-", "-", problems=[f"scenario crashed: {type(exc).__name__}: {exc}"[:600]])]
    elapsed = time.perf_counter() - started
    timed = sum(r.seconds for r in rows)
    for r in rows:  # rows a scenario did not time itself share the rest of its time
        if not r.seconds:
            r.seconds = (elapsed - timed) / sum(1 for x in rows if not x.seconds)
    return rows


# ---------------------------------------------------------------- report


def _errors_text(errors: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"


def report(rows: list[Outcome], conditions: str) -> None:
    """Print the table, the problems and the target line."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(160, shutil.get_terminal_size((160, 40)).columns))
    table = Table(title="Fault scenarios", show_lines=True)
    for col in ("scenario", "backend", "fault injected", "sent", "stored", "lost", "duplicated",
                "client errors (kind: count)", "verdict"):
        table.add_column(col, justify="right" if col in ("sent", "stored", "lost", "duplicated") else "left")
    for r in rows:
        verdict = ("[yellow]NOT RUN[/yellow]" if r.not_run else "[green]PASS[/green]" if r.ok else "[red]FAIL[/red]")
        table.add_row(r.scenario, r.backend, r.fault, f"{r.sent:,} {r.unit}", f"{r.stored:,}", str(r.lost),
                      str(r.duplicated), _errors_text(r.errors), f"{verdict}\n{r.seconds:.0f} s")
    console.print(table)
    for r in rows:
        for p in ([r.not_run] if r.not_run else []) + r.problems:
            console.print(f"[red]{r.scenario} ({r.backend}):[/red] {p}", markup=True, highlight=False)
        if r.notes:
            console.print(f"[dim]{r.scenario} ({r.backend}): {r.notes}[/dim]", highlight=False)
    console.print(summary(rows), highlight=False)
    console.print(f"[dim]{conditions}[/dim]")


def summary(rows: list[Outcome]) -> str:
    """The target line: lost and duplicated across every scenario, with the counts per unit."""
    by_unit: Counter[str] = Counter()
    for r in rows:
        if r.unit != "-":
            by_unit[r.unit] += r.sent
    lost, dup = sum(r.lost for r in rows), sum(r.duplicated for r in rows)
    server_errors = sum(v for r in rows for k, v in r.errors.items() if k.startswith("500"))
    counts = " / ".join(f"{by_unit[u]:,} {u}" for u in ("records", "notifications", "events") if by_unit[u])
    verdict = "PASS" if all(r.ok for r in rows) else "FAIL"
    return (f"{verdict}: {lost} lost and {dup} duplicated records / notifications / events across all fault "
            f"scenarios ({counts} sent), {server_errors} server errors (500)")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios and print the table (or JSON); return 1 if any failed."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="run only this one (repeatable)")
    ap.add_argument("--quick", action="store_true", help="reduced counts and 1-2 faults per scenario (CI)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--seed", type=int, default=1, help="seed of the kill timing jitter")
    args = ap.parse_args(argv)
    names = args.scenario or list(SCENARIOS)

    def _stop(*_) -> None:  # SIGTERM: unwind, so servers, clusters, mounts and databases are removed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    rows: list[Outcome] = []
    wall, cpu = time.perf_counter(), time.process_time()
    with context(args.quick, args.seed) as ctx:
        for name in names:
            if not args.json:
                print(f"… {name}", file=sys.stderr, flush=True)
            rows += run_scenario(name, ctx)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    conditions = (f"{'quick' if args.quick else 'full'} run; wall {time.perf_counter() - wall:.0f} s, CPU "
                  f"{time.process_time() - cpu:.0f} s here + {children.ru_utime + children.ru_stime:.0f} s in "
                  f"subprocesses; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
                  f"{os.cpu_count()} CPUs")
    if args.json:
        print(json.dumps({"rows": [r.as_dict() for r in rows], "summary": summary(rows), "conditions": conditions},
                         indent=2, ensure_ascii=False))
    else:
        report(rows, conditions)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    from chudong.kit import clock

    clock.set_process_clock(clock.SystemClock())
    sys.exit(main())
