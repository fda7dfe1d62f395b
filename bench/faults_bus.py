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


def measure(backend: str, events: int) -> dict:
    """Relay ``events`` to a private nats-server, kill it, record ``events // 4`` more while it is down,
    restart it, relay again, and drain a de-duplicating consumer; return the figures."""
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
    out: dict = {"backend": backend, "expected": events + events // 4}
    try:
        upgrade(engine)
        settings = BusSettings(stream="BENCH", subject_prefix="bench", batch_size=500)
        url = f"nats://127.0.0.1:{server.port}"

        _publish(engine, events)
        t = time.perf_counter()
        out["relayed"] = _relay_all(engine, url, settings)
        out["relay_seconds"] = time.perf_counter() - t

        server.kill()
        _publish(engine, events // 4, start=events)
        stuck = relay_once(engine, nats_url=url, settings=settings)
        out["published_while_down"], out["relay_error_while_down"] = stuck.published, stuck.error
        t = time.perf_counter()
        server.start()
        out["restart_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        out["flowed"] = _relay_all(engine, url, settings)
        out["flow_seconds"] = time.perf_counter() - t

        seen: set[str] = set()
        dups = 0

        def handle(e):
            nonlocal dups
            dups += e.event_id in seen
            seen.add(e.event_id)

        t = time.perf_counter()
        r = tail(durable="bench", handler=handle, idle_seconds=1.0, nats_url=url, settings=settings)
        out.update(handled=r.handled, distinct=len(seen), handled_twice=dups, redeliveries_skipped=r.duplicates,
                   consume_seconds=time.perf_counter() - t)
        return out
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        engine.dispose()
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def run(backend: str, events: int) -> None:
    """Print the figures for one backend."""
    m = measure(backend, events)
    print(f"[{backend}] relay: {m['relayed']} events in {m['relay_seconds']:.2f} s = "
          f"{m['relayed'] / m['relay_seconds']:,.0f} events/s")
    print(f"[{backend}] NATS killed: relay stopped ({m['published_while_down']} published, "
          f"error: {bool(m['relay_error_while_down'])}); restart {m['restart_seconds']:.2f} s; "
          f"{m['flowed']} queued events flowed in {m['flow_seconds']:.2f} s")
    print(f"[{backend}] consumer: {m['handled']} events ({m['distinct']} distinct, {m['redeliveries_skipped']} duplicate "
          f"deliveries) in {m['consume_seconds']:.2f} s incl. 1 s idle wait; expected {m['expected']}")


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
