"""Benchmark the two busiest pages under load, on PostgreSQL with many dossiers.

The citizen's dossier tracking page and the officer's queue page are requested by 50
concurrent users against the server run as production runs it — ``chudong serve --workers N``
(uvicorn worker processes, default one per core; ``CHUDONG_ENV=production``) in its own
process, so the load generator (plain kept-alive HTTP/1.1 connections, ~0.5 ms CPU a request)
does not share the server's interpreter — on a database holding ``--dossiers``
dossiers (default 1,000,000). Each user reads the page for about ``--think`` seconds (default
1 s: 0.5–1.5 s at random, users starting at random within the first second, so 50 users do not
click in step) before the next request; ``--think 0`` is a closed-loop stress test.

Prints, per page: p50 / p95 / p99 latency, requests/s, and the CPU the server spent per request
(the web processes, and the PostgreSQL backends serving them, read from ``/proc`` before and
after) — CPU per request does not depend on what else loads the machine; latency does, so the
load average is printed too. Target: p95 ≤ 100 ms at 50 users.
``--via-nginx`` puts the shipped nginx configuration (deploy/nginx, TLS with a self-signed certificate) in
front of the server, as a province runs it; the users then speak HTTP/1.1 over TLS to nginx, and nginx's own
CPU per request is printed beside the server's.
Run: ``.venv/bin/python -m bench.portal [--dossiers N --requests N --workers N [N ...] --think S --via-nginx]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import math
import os
import random
import secrets
import socket
import ssl
import tempfile
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from bench._pg import temp_database
from bench.ingest import backend_cpu as process_cpu, own_cpu
from chudong.cli import default_workers
from chudong.db import session_factory

UNIT = "TP-20194"
CHILDREN = ("permanent-residence", "health-insurance-card")  # the birth dossier's linked procedures
# what a birth dossier knows: every registry field with its provenance (the queue reads them all)
FIELDS = json.dumps({
    name: {"value": value, "source": "registry", "agency": "police", "record_id": f"R-{i}",
           "path": f"person.{name}", "received_at": "2026-10-01T08:00:00+07:00", "verified": True}
    for i, (name, value) in enumerate((
        ("mother_name", "Nguyễn Thị Lan"), ("mother_pid", "048195000001"), ("mother_birth_date", "1995-03-01"),
        ("mother_ethnicity", "Kinh"), ("father_name", "Lê Văn Minh"), ("father_pid", "048190000002"),
        ("child_birth_date", "2026-09-28"), ("child_sex", "M"), ("birth_place", "Bệnh viện Đà Nẵng"),
        ("residence", "48-20194"), ("marriage_record", "KH-2019-0042")))
} | {"child_name": {"value": "Lê Minh An", "source": "citizen", "verified": False}}, ensure_ascii=False)


def _fill(engine: Engine, n: int, person_id: int, unit: str) -> None:
    """Insert n dossiers over the province's units; the bench citizen and unit get a realistic share.

    Due dates spread from a few days ago to a month ahead, so the queue shows overdue, due-soon
    and on-time dossiers as a real one does.
    """
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossier (code, service_id, kind, title, subject_kind, person_id, province_code, ward_code,
                agency, receiving_unit_code, handling_unit_code, status, version, event_count, fields, fields_total,
                fields_prefilled, prefill_share, risk, opened_at, received_on, settlement_working_days,
                paused_working_days, due_on, auto_approved)
            SELECT 'PB-' || i, 'birth-registration', 'dossier', '{"vi": "Đăng ký khai sinh", "en": "Birth registration"}',
                'person', CASE WHEN i % 100000 = 1 THEN :pid ELSE 1000000 + i END, 48, w.code, 'justice',
                CASE WHEN i % 2000 = 0 THEN :unit ELSE 'TP-' || w.code END,
                CASE WHEN i % 2000 = 0 THEN :unit ELSE 'TP-' || w.code END,
                (ARRAY['closed','closed','closed','confirmed','in_processing'])[1 + i % 5], 1, 2,
                '{"mother_name": {"value": "Nguyễn Thị Lan", "source": "registry", "verified": true}}', 1, 1, 1.0,
                i % 7, now(), CURRENT_DATE - 20 + (i::bigint * 7919 % 15)::int, 3, 0,
                CURRENT_DATE - 4 + (i::bigint * 7919 % 31)::int, false
            FROM generate_series(1, :n) AS i
            JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM ward WHERE province_code = 48) w
              ON w.k = i % 94
        """), {"n": n, "pid": person_id, "unit": unit})
        # the pages' own dossiers look like real ones: a dozen fields with provenance; the citizen's
        # have their linked procedures, and every one a timeline of a few steps
        conn.execute(text("UPDATE dossier SET fields = CAST(:f AS json), fields_total = 12, fields_prefilled = 11 "
                          "WHERE handling_unit_code = :unit OR person_id = :pid"), {"f": FIELDS, "unit": unit, "pid": person_id})
        for k, service in enumerate(CHILDREN):
            conn.execute(text("""
                INSERT INTO dossier (code, service_id, kind, title, subject_kind, person_id, province_code, ward_code,
                    agency, receiving_unit_code, handling_unit_code, parent_id, status, version, event_count, fields,
                    fields_total, fields_prefilled, prefill_share, risk, opened_at, received_on,
                    settlement_working_days, paused_working_days, due_on, auto_approved)
                SELECT code || '-' || :k, :service, 'dossier', CAST(:title AS json), 'person', person_id, 48, ward_code,
                    'police', receiving_unit_code, 'CA-48', id, 'in_processing', 1, 3, '{}', 0, 0, 0, 0, opened_at,
                    received_on, 5, 0, due_on + 3, false
                FROM dossier WHERE person_id = :pid AND parent_id IS NULL
            """), {"k": k + 1, "service": service, "pid": person_id,
                   "title": json.dumps({"vi": service, "en": service.replace("-", " ").capitalize()})})
        conn.execute(text("""
            INSERT INTO dossier_event (dossier_id, seq, kind, from_status, to_status, actor, at, data)
            SELECT d.id, s.seq, s.kind, s.from_status, s.to_status, s.actor,
                   d.opened_at + s.seq * interval '1 day', '{}'
            FROM dossier d
            CROSS JOIN (VALUES (1, 'offered', 'detected', 'offered', 'system:rules'),
                               (2, 'confirmed', 'offered', 'confirmed', 'citizen'),
                               (3, 'claimed', 'confirmed', 'in_processing', 'officer:cb.bench'),
                               (4, 'attachment_added', NULL, NULL, 'officer:cb.bench'),
                               (5, 'linked_opened', NULL, NULL, 'system')) AS s(seq, kind, from_status, to_status, actor)
            WHERE d.person_id = :pid OR d.handling_unit_code = :unit
        """), {"pid": person_id, "unit": unit})
        conn.execute(text("UPDATE dossier SET event_count = 5 WHERE person_id = :pid OR handling_unit_code = :unit"),
                     {"pid": person_id, "unit": unit})
        conn.execute(text("ANALYZE"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- CPU of the server side


def _process_tree(root: int) -> dict[int, str]:
    """Return root and every descendant (uvicorn's worker processes): pid → command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat:
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        try:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        todo += children.get(pid, [])
    return found


def _sessions(engine: Engine) -> int:
    """Return how many sessions the bench database has had (PostgreSQL 14+ counts them)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")).scalar()


def _backends(engine: Engine) -> list[int]:
    """Return the local PostgreSQL backend processes connected to the bench database."""
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).scalars().all()
    return [p for p in pids if process_cpu(p) is not None]


# ---------------------------------------------------------------- server and load


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until a starting server answers /healthz; raise if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start (exit code {proc.poll()})")
        time.sleep(0.2)


class Server:
    """``chudong serve`` in a child process, as production runs it."""

    def __init__(self, database_url: str, workers: int, forwarded_allow_ips: str = "") -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CHUDONG_ENV": "production", "CHUDONG_DATABASE_URL": database_url,
               "CHUDONG_BASE_URL": self.base}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chudong.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--forwarded-allow-ips", forwarded_allow_ips], env=env,
            stdout=subprocess.DEVNULL)
        wait_healthy(self.base, self.proc)
        tree = _process_tree(self.proc.pid)
        self.workers = max(1, sum("multiprocessing" in c and "resource_tracker" not in c for c in tree.values()))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class _Connection:
    """A kept-alive HTTP/1.1 connection of one simulated user: a few asyncio stream calls per request.

    Browsers are not on the server's machine; a light client leaves the two cores to the server
    (httpx spent as much CPU per request as the server itself).
    """

    def __init__(self, port: int, cookie: str, tls: ssl.SSLContext | None = None) -> None:
        self.port, self.cookie, self.tls = port, cookie, tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.tls, server_hostname="localhost" if self.tls else None)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nCookie: {self.cookie}\r\n"
                          "Accept: text/html\r\nAccept-Encoding: gzip\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower().split("\r\n")
        status = int(head[0].split()[1])
        headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", 0)))
        if headers.get("connection") == "close":
            self.writer.close()
            self.writer = None
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load(port: int, paths: list[str], cookie: str, concurrency: int, requests: int,
                think: float = 0.0, tls: ssl.SSLContext | None = None) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def user() -> None:
        conn = _Connection(port, cookie, tls)
        # people do not click in step: starts spread over one think time, each pause 0.5–1.5 × think
        await asyncio.sleep(random.uniform(0, think))
        try:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                path = paths[i % len(paths)]
                t0 = time.perf_counter()
                status, _ = await conn.get(path)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"{path}: {status}")
                if think:
                    await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def _percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]  # nearest rank


@dataclass
class Front:
    """Where the users connect: the server itself, or nginx in front of it (``--via-nginx``)."""

    port: int
    tls: ssl.SSLContext | None = None
    proxy_pid: int | None = None  # nginx's master process


def _tree_cpu(root: int | None) -> dict[int, float]:
    return {pid: process_cpu(pid) or 0.0 for pid in _process_tree(root)} if root else {}


def measure(engine: Engine, server: Server, label: str, paths: list[str], cookie: str, args,
            front: Front | None = None) -> dict:
    """Load one page and print its latency, throughput and server CPU per request."""
    front = front or Front(server.port)
    # warm-up outside the figures: many connections, so every worker compiles its templates, reads the
    # catalogue and fills its pool (the kernel hands each new connection to one worker)
    asyncio.run(_load(front.port, paths, cookie, args.concurrency, 4 * args.concurrency, tls=front.tls))
    load_before = os.getloadavg()[0]
    sessions0 = _sessions(engine)
    db0 = {pid: process_cpu(pid) or 0.0 for pid in _backends(engine)}
    web0_cmd = _process_tree(server.proc.pid)
    web0, client0 = {pid: process_cpu(pid) or 0.0 for pid in web0_cmd}, own_cpu()
    proxy0 = _tree_cpu(front.proxy_pid)
    lat, wall = asyncio.run(_load(front.port, paths, cookie, args.concurrency, args.requests, args.think, front.tls))
    proxy = sum(cpu - proxy0.get(pid, 0.0) for pid, cpu in _tree_cpu(front.proxy_pid).items())
    client, after = own_cpu() - client0, _process_tree(server.proc.pid)
    web = sum((process_cpu(pid) or 0.0) - web0.get(pid, 0.0) for pid in after)  # a new worker counts from zero
    if set(web0) - set(after):
        gone = ", ".join(web0_cmd[pid][-40:] for pid in set(web0) - set(after))
        print(f"  note: server processes ended during the run ({gone}): uvicorn replaces a worker that misses "
              "its health check; their CPU is not counted", flush=True)
    # backends opened during the run count from zero; one closed during the run would be missed
    db = sum((process_cpu(pid) or 0.0) - db0.get(pid, 0.0) for pid in _backends(engine)) if db0 else None
    opened = _sessions(engine) - sessions0
    lat.sort()
    ms = {p: _percentile(lat, p) * 1000 for p in (50, 95, 99)}
    row = {"page": label, "requests": len(lat), "p50": ms[50], "p95": ms[95], "p99": ms[99],
           "rps": len(lat) / wall, "web_cpu_ms": web * 1000 / len(lat),
           "db_cpu_ms": db * 1000 / len(lat) if db is not None else None, "client_cpu_ms": client * 1000 / len(lat),
           "proxy_cpu_ms": proxy * 1000 / len(lat) if front.proxy_pid else None,
           "load": (load_before, os.getloadavg()[0])}
    db_text = f"{row['db_cpu_ms']:.1f}" if row["db_cpu_ms"] is not None else "n/a"
    print(f"{label}: {len(lat)} requests, {args.concurrency} users (think {args.think:g} s): "
          f"p50 {ms[50]:.0f} ms, p95 {ms[95]:.0f} ms, p99 {ms[99]:.0f} ms, {row['rps']:.1f} requests/s; "
          f"server CPU per request: web {row['web_cpu_ms']:.1f} ms + PostgreSQL {db_text} ms "
          + (f"+ nginx {row['proxy_cpu_ms']:.1f} ms " if front.proxy_pid else "") +
          f"(the load generator's own: {row['client_cpu_ms']:.1f} ms); {opened} new database connections; "
          f"load average {load_before:.1f} → {row['load'][1]:.1f} (target p95 ≤ 100 ms)", flush=True)
    return row


def prepare(engine: Engine, dossiers: int) -> dict:
    """Create the bench citizen, officer and their sessions, then fill the dossiers; return the fixtures."""
    from chudong.auth.models import StaffAccount
    from chudong.auth.service import create_staff, start_session
    from chudong.dossiers.units import add_officer, seed_units
    from chudong.registry.models import Person

    with session_factory(engine)() as s:
        seed_units(s, 48)
        person = Person(pid="048195000001", full_name="Nguyễn Thị Lan", name_key="nguyen thi lan",
                        birth_date=dt.date(1995, 3, 1), sex="F", phone="+84905123451")
        s.add(person)
        s.flush()
        unit = UNIT if s.execute(text("SELECT 1 FROM unit WHERE code = :u"), {"u": UNIT}).scalar() else \
            s.execute(text("SELECT min(code) FROM unit WHERE code LIKE 'TP-%'")).scalar()
        officer = add_officer(s, username="cb.bench", full_name="Cán bộ", unit_code=unit)
        create_staff(s, username="cb.bench", full_name="Cán bộ", role="officer", password="bench password 2026",
                     unit_code=unit, agency=officer.agency)
        staff_id = s.scalar(select(StaffAccount.id).where(StaffAccount.username == "cb.bench"))
        citizen_secret, _ = start_session(s, "citizen", person.id)
        officer_secret, _ = start_session(s, "staff", staff_id)
        person_id = person.id
        s.commit()
    t0 = time.perf_counter()
    _fill(engine, dossiers, person_id, unit)
    print(f"filled {dossiers:,} dossiers in {time.perf_counter() - t0:.1f} s", flush=True)
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM dossier WHERE person_id = :p AND parent_id IS NULL ORDER BY id"),
                             {"p": person_id}).scalars().all()
        total = conn.execute(text("SELECT count(*) FROM dossier")).scalar()
        in_queue = conn.execute(text("SELECT count(*) FROM dossier WHERE handling_unit_code = :u "
                                     "AND status IN ('confirmed', 'in_processing', 'supplement_requested')"),
                                {"u": unit}).scalar()
    return {"citizen": citizen_secret, "officer": officer_secret, "codes": codes, "unit": unit,
            "total": total, "in_queue": in_queue}


def run_pages(engine: Engine, fixtures: dict, args) -> list[dict]:
    """Serve the database with ``args.workers`` processes and load both pages."""
    from itsdangerous import URLSafeSerializer

    from chudong.portal.security import COOKIE, SALT

    sign = URLSafeSerializer(os.environ["CHUDONG_SECRET_KEY"], salt=SALT).dumps
    server = Server(engine.url.render_as_string(hide_password=False), args.workers,
                    forwarded_allow_ips="127.0.0.1" if args.via_nginx else "")
    nginx = None
    try:
        front = Front(server.port)
        if args.via_nginx:
            from tests.deploy.proxy import start_nginx

            nginx = start_nginx(Path(tempfile.mkdtemp(prefix="bench-nginx-")), f"127.0.0.1:{server.port}")
            tls = ssl.create_default_context()
            tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
            front = Front(nginx.https_port, tls, nginx.process.pid)
            print(f"through nginx (deploy/nginx/chudong.conf) at https://127.0.0.1:{nginx.https_port}", flush=True)
        print(f"server: `chudong serve --workers {args.workers}`, CHUDONG_ENV=production: {server.workers} worker "
              f"process{'es' if server.workers > 1 else ''}{' + a supervisor' if args.workers > 1 else ''}; "
              f"{os.cpu_count()} CPU cores", flush=True)
        pages = [
            (f"citizen dossier tracking /me/dossiers/<code> ({len(fixtures['codes'])} dossiers, "
             f"{len(CHILDREN)} linked each)", [f"/me/dossiers/{c}" for c in fixtures["codes"]],
             f"{COOKIE}={sign(fixtures['citizen'])}"),
            (f"officer queue /officer/queue ({fixtures['in_queue']:,} open dossiers in {fixtures['unit']}, 50 a page)",
             ["/officer/queue"], f"{COOKIE}={sign(fixtures['officer'])}"),
        ]
        return [measure(engine, server, label, paths, cookie, args, front) for label, paths, cookie in pages]
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()


def production_keys() -> None:
    """Give this process and the server it starts production secrets (cookie signing, data at rest)."""
    def key() -> str:
        return base64.b64encode(os.urandom(32)).decode("ascii")

    os.environ.setdefault("CHUDONG_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("CHUDONG_DATA_KEYS", f"bench:{key()}")
    os.environ.setdefault("CHUDONG_SEARCH_KEY", key())


def main() -> None:
    """Create and fill a database, serve it, load the two pages, print figures, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000, help="requests per page")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="seconds each user reads a page")
    parser.add_argument("--workers", type=int, nargs="+", default=[default_workers()],
                        help="web worker processes (default: serve's, one per core; several values: one run "
                             "each, e.g. --workers 1 2)")
    parser.add_argument("--via-nginx", action="store_true",
                        help="put the shipped nginx configuration (TLS, HTTP/2) in front of the server")
    args = parser.parse_args()

    production_keys()  # before anything reads the settings: the bench seals the citizen as the server will
    with temp_database("portal") as engine:
        fixtures = prepare(engine, args.dossiers)
        print(f"database: {fixtures['total']:,} dossiers (PostgreSQL)", flush=True)
        for workers in args.workers:
            run_pages(engine, fixtures, argparse.Namespace(**{**vars(args), "workers": workers}))


if __name__ == "__main__":
    main()
