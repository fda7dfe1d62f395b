"""Event bus figures: relay throughput to JetStream, and recovery after NATS is killed.

Run: ``.venv/bin/python -m bench.faults_bus [--events 2000] [--backend sqlite|postgres|both]``.
Needs nats-server (binary ``/usr/sbin/nats-server``): the bench starts its own on a free
port so it can kill it. PostgreSQL from CHUDONG_BENCH_POSTGRES_URL (own database, dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import nats
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chudong.bus.config import BusSettings
from chudong.bus.consumer import tail
from chudong.bus.relay import relay_once
from chudong.bus.service import publish
from chudong.db import make_engine, session_factory, upgrade

PG = os.environ.get("CHUDONG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A private nats-server with JetStream."""

    def __init__(self, store: Path) -> None:
        self.port, self.store, self.proc = _free_port(), store, None

    def start(self) -> None:
        """Start and wait until it listens."""
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def kill(self) -> None:
        """SIGKILL it."""
        self.proc.kill()
        self.proc.wait()


def _publish(engine, n: int, start: int = 0) -> None:
    with session_factory(engine)() as s:
        for i in range(start, start + n):
            publish(s, type="dossier.settled", subject=f"dossier:HS-{i}", payload={"n": i, "unit": "ward-20194"})
        s.commit()


def _relay_all(engine, url: str, settings: BusSettings) -> int:
    total = 0
    while True:
        r = relay_once(engine, nats_url=url, settings=settings)
        total += r.published
        if r.error or r.published == 0:
            return total


def run(backend: str, events: int) -> None:
    """Print the figures for one backend."""
    tmp = Path(tempfile.mkdtemp(prefix="chudong-bench-bus-"))
    admin = None
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
    else:
        admin = make_engine(PG)
        name = f"chudong_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(PG).set(database=name).render_as_string(hide_password=False))
    server = Server(tmp / "js")
    server.start()
    try:
        upgrade(engine)
        settings = BusSettings(stream="BENCH", subject_prefix="bench", batch_size=500)
        url = f"nats://127.0.0.1:{server.port}"

        _publish(engine, events)
        t = time.perf_counter()
        done = _relay_all(engine, url, settings)
        dt_relay = time.perf_counter() - t
        print(f"[{backend}] relay: {done} events in {dt_relay:.2f} s = {done / dt_relay:,.0f} events/s")

        server.kill()
        _publish(engine, events // 4, start=events)
        stuck = relay_once(engine, nats_url=url, settings=settings)
        t = time.perf_counter()
        server.start()
        restart = time.perf_counter() - t
        t = time.perf_counter()
        flowed = _relay_all(engine, url, settings)
        print(f"[{backend}] NATS killed: relay stopped ({stuck.published} published, error: {bool(stuck.error)}); "
              f"restart {restart:.2f} s; {flowed} queued events flowed in {time.perf_counter() - t:.2f} s")

        seen: set[str] = set()
        dups = 0

        def handle(e):
            nonlocal dups
            dups += e.event_id in seen
            seen.add(e.event_id)

        t = time.perf_counter()
        r = tail(durable="bench", handler=handle, idle_seconds=1.0, nats_url=url, settings=settings)
        print(f"[{backend}] consumer: {r.handled} events ({len(seen)} distinct, {r.duplicates} duplicate deliveries) "
              f"in {time.perf_counter() - t:.2f} s incl. 1 s idle wait; expected {events + events // 4}")
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        engine.dispose()
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """Parse options and run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    a = p.parse_args()
    for b in (["sqlite", "postgres"] if a.backend == "both" else [a.backend]):
        run(b, a.events)


if __name__ == "__main__":
    main()
