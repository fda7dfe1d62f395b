"""Benchmark the two busiest pages under load, on PostgreSQL with many dossiers.

The citizen's dossier tracking page and the officer's queue page are requested by 50
concurrent users against a real uvicorn server (one process) on a database holding
``--dossiers`` dossiers (default 1,000,000). Each user reads the page for ``--think`` seconds
(default 1 s) before the next request, as people do; ``--think 0`` is a closed-loop stress
test. Prints p50 / p95 latency and requests/s per page; target p95 ≤ 100 ms.
Run: ``.venv/bin/python -m bench.portal [--dossiers N --requests N --think S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time

import httpx
from sqlalchemy import text

from bench._pg import temp_database
from chudong.db import session_factory


def _fill(engine, n: int, person_id: int, unit: str) -> None:
    """Insert n dossiers over the province's units; the bench citizen and unit get a realistic share."""
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
                i % 7, now(), DATE '2026-10-01' + (i % 30), 3, 0, DATE '2026-10-05' + (i % 40), false
            FROM generate_series(1, :n) AS i
            JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM ward WHERE province_code = 48) w
              ON w.k = i % 94
        """), {"n": n, "pid": person_id, "unit": unit})
        conn.execute(text("""
            INSERT INTO dossier_event (dossier_id, seq, kind, from_status, to_status, actor, at, data)
            SELECT id, 1, 'offered', 'detected', 'offered', 'system:rules', opened_at, '{}' FROM dossier
            WHERE person_id = :pid OR handling_unit_code = :unit
        """), {"pid": person_id, "unit": unit})
        conn.execute(text("ANALYZE"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(base: str, path: str, cookies: dict, concurrency: int, requests: int,
                think: float = 0.0) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as c:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                r = await c.get(path, headers={"accept": "text/html"})
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code}")
                if think:
                    await asyncio.sleep(think)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def main() -> None:
    """Create and fill a database, serve it, load the two pages, print figures, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1_000, help="requests per page")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="seconds each user reads a page")
    args = parser.parse_args()

    import uvicorn

    from chudong.app import create_app
    from chudong.auth.service import create_staff, start_session
    from chudong.config import Settings
    from chudong.dossiers.units import add_officer, seed_units
    from chudong.registry.models import Person

    with temp_database("portal") as engine:
        import datetime as dt

        with session_factory(engine)() as s:
            seed_units(s, 48)
            person = Person(pid="048195000001", full_name="Nguyễn Thị Lan", name_key="nguyen thi lan",
                            birth_date=dt.date(1995, 3, 1), sex="F", phone="+84905123451")
            s.add(person)
            s.flush()
            unit = "TP-20194" if s.execute(text("SELECT 1 FROM unit WHERE code = 'TP-20194'")).scalar() else \
                s.execute(text("SELECT min(code) FROM unit WHERE code LIKE 'TP-%'")).scalar()
            officer = add_officer(s, username="cb.bench", full_name="Cán bộ", unit_code=unit)
            create_staff(s, username="cb.bench", full_name="Cán bộ", role="officer", password="bench password 2026",
                         unit_code=unit, agency=officer.agency)
            from chudong.auth.models import StaffAccount
            from sqlalchemy import select

            staff_id = s.scalar(select(StaffAccount.id).where(StaffAccount.username == "cb.bench"))
            citizen_secret, _ = start_session(s, "citizen", person.id)
            officer_secret, _ = start_session(s, "staff", staff_id)
            person_id = person.id
            s.commit()
        t0 = time.perf_counter()
        _fill(engine, args.dossiers, person_id, unit)
        print(f"filled {args.dossiers:,} dossiers in {time.perf_counter() - t0:.1f} s")

        settings = Settings(env="test", database_url=engine.url.render_as_string(hide_password=False))
        app = create_app(settings, engine)
        from itsdangerous import URLSafeSerializer

        from chudong.portal.security import COOKIE, SALT

        sign = URLSafeSerializer(settings.secret_key, salt=SALT).dumps
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with session_factory(engine)() as s:
            code = s.execute(text("SELECT code FROM dossier WHERE person_id = :p LIMIT 1"), {"p": person_id}).scalar()
        pages = [(f"citizen dossier tracking /me/dossiers/{code}", f"/me/dossiers/{code}", {COOKIE: sign(citizen_secret)}),
                 ("officer queue /officer/queue", "/officer/queue", {COOKIE: sign(officer_secret)})]
        for label, path, cookies in pages:
            asyncio.run(_load(base, path, cookies, 5, 20))  # warm-up
            lat, wall = asyncio.run(_load(base, path, cookies, args.concurrency, args.requests, args.think))
            lat.sort()
            p95 = lat[int(0.95 * (len(lat) - 1))]
            print(f"{label}: {len(lat)} requests, {args.concurrency} users (think {args.think:g} s): p50 {statistics.median(lat) * 1000:.0f} ms, "
                  f"p95 {p95 * 1000:.0f} ms, {len(lat) / wall:.0f} requests/s (target p95 ≤ 100 ms)")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
