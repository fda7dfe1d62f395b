"""Benchmark analytics on PostgreSQL: the Decision 766 index, the monthly report, the demand forecast.

Run: ``.venv/bin/python -m bench.analytics`` (1,000,000 dossiers of 2026 over the 94 wards'
civil-status units, each with its timeline of 4 events, plus a province of 300,000 people
with ID cards, licences and two years of life events). Targets (issue #8, 2 cores): index
for a province-year ≤ 2 s; monthly report PDF ≤ 10 s. Options: ``--dossiers N``,
``--people N``, ``--runs N``.

Prints wall time (median and p95 over ``--runs``), CPU time (this process; and the
PostgreSQL backend's, read from /proc when the server runs on this machine — for a query
PostgreSQL runs in parallel that is the leader only, so one run is repeated without
parallel workers to give the whole query's CPU), and the load average: other processes
share the cores, so wall figures on a loaded machine are pessimistic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from bench._pg import temp_database
from chudong.db import session_factory

TODAY = dt.date(2026, 11, 2)
LEADER_PASSWORD = "a long bench leader password"


def _sealed(document: object, kind: str) -> str:
    """One sealed document for set-based inserts (these columns are sealed at rest; SQL cannot seal)."""
    import json

    from chudong.privacy.crypto import keyring

    return keyring().seal(json.dumps(document, separators=(",", ":"), sort_keys=True), kind)


def _fill(engine, n: int) -> None:
    """Insert n dossiers of 2026 over the province's civil-status units with their timelines, set-based."""
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossier (code, service_id, kind, title, subject_kind, province_code, ward_code, agency,
                receiving_unit_code, handling_unit_code, status, version, event_count, fields, fields_total,
                fields_prefilled, prefill_share, risk, opened_at, received_on, settlement_working_days,
                paused_working_days, due_on, settled_on, settlement_class, auto_approved, life_event_id, person_id)
            SELECT 'BN-' || i,
                (ARRAY['birth-registration','poor-household-confirmation','death-registration','house-building-bundle'])[1 + i % 4],
                'dossier', '{"vi": "x", "en": "x"}', 'person', 48, w.code, 'justice', u.code, u.code,
                CASE WHEN i % 20 = 0 THEN 'in_processing' ELSE 'closed' END, 1,
                CASE WHEN i % 20 = 0 THEN 3 ELSE 4 END, :empty, 8, 8 - (i % 9 = 0)::int,
                CASE WHEN i % 9 = 0 THEN 0.875 ELSE 1.0 END, 0,
                TIMESTAMPTZ '2026-01-01' + (i % 365) * INTERVAL '1 day',
                DATE '2026-01-01' + (i % 365), 3, 0, DATE '2026-01-01' + (i % 365) + 5,
                CASE WHEN i % 20 = 0 THEN NULL ELSE DATE '2026-01-01' + (i % 365) + (i % 8) END,
                CASE WHEN i % 20 = 0 THEN NULL WHEN i % 8 < 3 THEN 'early' WHEN i % 8 < 6 THEN 'on_time' ELSE 'late' END,
                false, CASE WHEN i % 10 = 0 THEN NULL ELSE i END, i
            FROM generate_series(1, :n) AS i
            JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM ward WHERE province_code = 48) w
              ON w.k = i % 94
            JOIN unit u ON u.code = 'TP-' || w.code
        """), {"n": n, "empty": _sealed({}, "dossier")})
        # the timeline: offered (system), confirmed (the citizen online, or at the desk), claimed, approved
        conn.execute(text("""
            INSERT INTO dossier_event (dossier_id, seq, kind, from_status, to_status, actor, at, data)
            SELECT d.id, e.seq, e.kind, e.from_status, e.to_status,
                   CASE WHEN e.kind = 'offered' THEN 'system:rules'
                        WHEN e.kind = 'confirmed' AND d.id % 7 <> 0 THEN 'citizen:' || d.id
                        WHEN e.kind = 'confirmed' THEN 'officer:desk' ELSE 'officer:cb' || d.id % 300 END,
                   d.opened_at + e.seq * INTERVAL '1 hour', :empty
            FROM dossier d
            JOIN (VALUES (1, 'offered', 'detected', 'offered'), (2, 'confirmed', 'offered', 'confirmed'),
                         (3, 'claimed', 'confirmed', 'in_processing'), (4, 'approved', 'in_processing', 'approved'))
                 AS e(seq, kind, from_status, to_status) ON e.seq <= d.event_count
        """), {"empty": _sealed({}, "dossier")})
        conn.execute(text("""
            INSERT INTO dossier_result (dossier_id, kind, number, issued_at, issued_by, data, nonce, revoked)
            SELECT id, 'extract', 'R-' || id, opened_at + INTERVAL '3 days', 'officer:x', :data, md5(id::text), false
            FROM dossier WHERE status = 'closed' AND id % 11 <> 0
        """), {"data": _sealed({"k": 1}, "dossier")})
        conn.execute(text("""
            INSERT INTO dossier_rating (dossier_id, score, complaint, rated_at)
            SELECT id, 1 + id % 5, id % 97 = 0, opened_at + INTERVAL '5 days' FROM dossier WHERE id % 3 = 0 AND status = 'closed'
        """))


def _fill_registry(engine, people: int) -> None:
    """Insert a province of ``people`` (ID cards, driving licences, passports, professional licences)
    and two years of life events of the modelled services (trend, a yearly wave, noise)."""
    with engine.begin() as conn:
        for sql in (
            "SELECT setseed(0.17)",
            "CREATE TEMP TABLE w AS SELECT row_number() OVER (ORDER BY code) - 1 AS i, code FROM ward WHERE province_code = 48",
            """INSERT INTO person (id, full_name, name_key, birth_date, sex, ward_code)
               SELECT g, 'Nguyễn Văn ' || g, 'nguyen van ' || g, DATE '1940-01-01' + floor(random() * 31000)::int,
                      CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, (SELECT code FROM w WHERE i = g % (SELECT count(*) FROM w))
               FROM generate_series(1, :people) g""",
            """INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
               SELECT 'id_card', NULL, 'C' || g, g, DATE '2015-01-01' + floor(random() * 4300)::int, NULL, 'police', false
               FROM generate_series(1, :people) g""",
            """INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
               SELECT 'driving_licence', 'B', 'DB' || g, g, d - 3650, d, 'police', false
               FROM generate_series(1, :people) g,
                    LATERAL (SELECT DATE '2024-01-01' + floor(random() * 2000 + g * 0)::int AS d) x
               WHERE g % 20 < 3""",
            """INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
               SELECT 'passport', NULL, 'P' || g, g, d - 3650, d, 'immigration', false
               FROM generate_series(1, :people) g,
                    LATERAL (SELECT DATE '2024-01-01' + floor(random() * 2000 + g * 0)::int AS d) x
               WHERE g % 10 = 5""",
            """INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
               SELECT (ARRAY['medical_licence', 'tour_guide_card', 'veterinary_cert', 'transport_licence'])[1 + (g / 100) % 4],
                      NULL, 'X' || g, g, d - 1825, d, 'department', false
               FROM generate_series(1, :people) g,
                    LATERAL (SELECT DATE '2024-01-01' + floor(random() * 2000 + g * 0)::int AS d) x
               WHERE g % 100 = 7""",
            """INSERT INTO life_event (key, service_id, subject_kind, person_id, occurrence, due_date, detected_on,
                                       reason, created_at)
               SELECT s.id || ':person:' || p || ':' || d, s.id, 'person', p, d::text, d, d, :reason, d::timestamptz
               FROM (VALUES ('birth-registration', 40), ('death-registration', 25),
                            ('poor-household-confirmation', 8), ('house-building-bundle', 12)) AS s(id, per_10k),
                    generate_series(DATE '2024-11-01', DATE '2026-10-31', INTERVAL '1 day') AS day,
                    LATERAL (SELECT day::date AS d) dd,
                    LATERAL generate_series(1, greatest(0, round(s.per_10k * :people / 10000.0 / 30
                             * (1 + 0.25 * sin(extract(doy FROM day) / 58.0) + 0.01 * (day::date - DATE '2024-11-01') / 30.0)
                             * (0.8 + 0.4 * random()))::int)) k,
                    LATERAL (SELECT 1 + floor(random() * :people + k * 0)::int AS p) pp
               ON CONFLICT (key) DO NOTHING""",
            "SELECT setval(pg_get_serial_sequence('licence', 'id'), (SELECT max(id) FROM licence))",
            "SELECT setval(pg_get_serial_sequence('life_event', 'id'), (SELECT max(id) FROM life_event))",
        ):
            conn.execute(text(sql), {"people": people, "reason": _sealed({}, "reason")})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


class Timer:
    """Wall time, this process's CPU time and (when readable) the PostgreSQL backend's CPU time."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, session=None) -> None:
        self.pid = session.execute(text("SELECT pg_backend_pid()")).scalar() if session is not None else None

    def _backend(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return None  # the server is elsewhere (or not readable): no backend CPU
        return (int(fields[11]) + int(fields[12])) / self.TICK

    @contextmanager
    def run(self) -> Iterator[dict]:
        """Measure a block; the dict gets wall, cpu (this process) and db_cpu (backend, or None)."""
        out: dict = {}
        b0, c0, t0 = self._backend(), time.process_time(), time.perf_counter()
        yield out
        b1 = self._backend()
        out.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0,
                   db_cpu=None if b0 is None or b1 is None else b1 - b0)


def _db(x: dict) -> str:
    return "n/a" if x["db_cpu"] is None else f"{x['db_cpu']:.2f} s"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _leader_client(engine):
    """Return an HTTP client on the app signed in as a leader (through the real sign-in form)."""
    from fastapi.testclient import TestClient

    from chudong.app import create_app
    from chudong.auth.service import create_staff
    from chudong.config import Settings

    with session_factory(engine)() as s:
        create_staff(s, username="bench.leader", full_name="Bench Leader", role="leader", password=LEADER_PASSWORD)
        s.commit()
    client = TestClient(create_app(Settings(env="test", data_dir=Path(tempfile.mkdtemp(prefix="chudong-bench-"))),
                                   engine), base_url="http://testserver")
    form = client.get("/staff/signin", headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError(f"no sign-in form: {form.status_code}")
    r = client.post("/staff/signin", data={"username": "bench.leader", "password": LEADER_PASSWORD,
                                           "csrf_token": token.group(1)},
                    headers={"accept": "text/html"}, follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"leader sign-in failed: {r.status_code}")
    return client


def _bench_index(engine, n: int, runs: int) -> None:
    from chudong.analytics.service import Period, Scope, compute_index

    year = Period.parse("2026")
    timed = []
    for _ in range(runs):
        with session_factory(engine)() as s:
            timer = Timer(s)
            with timer.run() as m:
                r = compute_index(s, year)
            timed.append(m)
    walls = [m["wall"] for m in timed]
    db = [m["db_cpu"] for m in timed if m["db_cpu"] is not None]
    with session_factory(engine)() as s:  # the whole query's CPU: the same query without parallel workers
        s.execute(text("SET max_parallel_workers_per_gather = 0"))
        timer = Timer(s)
        with timer.run() as serial:
            compute_index(s, year)
    leader = f"{statistics.median(db):.2f} s" if db else "n/a"
    print(f"index, province-year ({n:,} dossiers): median {statistics.median(walls):.2f} s, p95 {_p95(walls):.2f} s "
          f"over {runs} runs (wall; runs {', '.join(f'{w:.2f}' for w in walls)}); backend CPU (parallel leader) "
          f"median {leader}; without parallel workers: wall {serial['wall']:.2f} s, backend CPU {_db(serial)}, "
          f"client CPU {serial['cpu']:.2f} s; total {r.total} ({r.band}); target ≤ 2 s")

    with session_factory(engine)() as s:
        unit = s.execute(text("SELECT min(handling_unit_code) FROM dossier")).scalar()
        walls, cpus = [], []
        for _ in range(runs):
            timer = Timer(s)
            with timer.run() as m:
                compute_index(s, year, Scope(unit_code=unit))
            walls.append(m["wall"])
            cpus.append(m["db_cpu"])
        count = s.execute(text("SELECT count(*) FROM dossier WHERE handling_unit_code = :u"), {"u": unit}).scalar()
    print(f"index, one unit-year ({unit}, {count:,} dossiers): median {statistics.median(walls):.2f} s, "
          f"p95 {_p95(walls):.2f} s (wall); backend CPU median "
          + (f"{statistics.median(cpus):.2f} s" if None not in cpus else "n/a"))


def _bench_report(engine) -> None:
    from chudong.analytics import reports
    from chudong.analytics.service import Period

    period = Period.parse("2026-10")
    with session_factory(engine)() as s:
        timer = Timer(s)
        with timer.run() as q:
            printed = reports.monthly_report(s, period, TODAY, overdue_per_unit=reports.PDF_OVERDUE_PER_UNIT)
        with timer.run() as p:
            pdf = reports.to_pdf(printed)
        with timer.run() as fq:
            full = reports.monthly_report(s, period, TODAY)
        with timer.run() as x:
            xlsx = reports.to_xlsx(full)
        with timer.run() as c:
            overdue_csv = reports.to_overdue_csv(full)
    total = q["wall"] + p["wall"]
    print(f"monthly report 2026-10 PDF ({len(printed.rows)} units, {printed.totals.overdue:,} overdue, each unit's "
          f"{reports.PDF_OVERDUE_PER_UNIT} oldest printed): total {total:.2f} s = query {q['wall']:.2f} s + PDF "
          f"{p['wall']:.2f} s ({len(pdf) / 1024:.0f} KiB); CPU: query backend {_db(q)}, PDF {p['cpu']:.2f} s; "
          f"target ≤ 10 s")
    print(f"monthly report spreadsheets: full query {fq['wall']:.2f} s (backend CPU {_db(fq)}, {len(full.overdue):,} "
          f"overdue listed), XLSX {x['wall']:.2f} s (CPU {x['cpu']:.2f} s, {len(xlsx) / 1024:.0f} KiB), overdue CSV "
          f"{c['wall']:.2f} s ({len(overdue_csv) / 1024:.0f} KiB)")


def _bench_forecast(engine, people: int, runs: int) -> None:
    from chudong.analytics import forecast_cache
    from chudong.analytics.forecast import add_months
    from chudong.rules.service import detect_range

    client = _leader_client(engine)
    t0, c0 = time.perf_counter(), time.process_time()
    r = client.get("/leader/forecast?months=6", headers={"accept": "text/html"})
    cold = (time.perf_counter() - t0, time.process_time() - c0)
    if r.status_code != 200:
        raise RuntimeError(f"/leader/forecast answered {r.status_code}")
    warm = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get("/leader/forecast?months=6", headers={"accept": "text/html"})
        warm.append((time.perf_counter() - t0, time.process_time() - c0))
    print(f"forecast page /leader/forecast ({people:,} people, 6 months): first request (computes and stores "
          f"today's snapshot) {cold[0]:.2f} s wall, {cold[1]:.2f} s CPU; from the snapshot median "
          f"{statistics.median(w for w, _ in warm):.3f} s, p95 {_p95([w for w, _ in warm]):.3f} s wall, "
          f"{statistics.median(c for _, c in warm):.3f} s CPU (app and client in this process)")
    with session_factory(engine)() as s:
        timer = Timer(s)
        with timer.run() as job:
            computed = forecast_cache.refresh(s, today=TODAY)
        s.commit()
        f, _ = forecast_cache.cached_forecast(s, today=TODAY, months=6)
    print(f"forecast job analytics.forecast (12 months, computed={computed}): {job['wall']:.2f} s wall, "
          f"{job['cpu']:.2f} s CPU, backend CPU {_db(job)}")
    modelled = [s for s in f.services if s.method == "model"]
    print("forecast backtest MAPE (last 3 held-out months) per modelled service: "
          + ", ".join(f"{s.service_id} {s.mape} %" for s in modelled))
    exact = {s.service_id: s for s in f.services if s.method == "exact"}
    first = f.months[0]
    with session_factory(engine)() as s:  # detection over the first month, rolled back: exact means equal
        t0 = time.perf_counter()
        created = detect_range(s, first, add_months(first, 1) - dt.timedelta(days=1)).created
        by_service: dict[str, int] = {}
        for event in created:
            by_service[event.service_id] = by_service.get(event.service_id, 0) + 1
        seconds = time.perf_counter() - t0
        s.rollback()
    checks = [f"{sid} {round(svc.by_month.get(first, 0))}/{by_service.get(sid, 0)}"
              + ("" if round(svc.by_month.get(first, 0)) == by_service.get(sid, 0) else " MISMATCH")
              for sid, svc in sorted(exact.items())]
    print(f"forecast exact services, {first:%m/%Y} forecast/detected (detection run for each day, "
          f"{seconds:.0f} s, rolled back): " + ", ".join(checks))


def main() -> None:
    """Create a database, fill it, time the index, the monthly report and the forecast page, print, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=300_000, help="people of the province (forecast)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each measurement")
    args = parser.parse_args()

    from chudong.analytics import reports
    from chudong.analytics.service import Period
    from chudong.dossiers.units import seed_units
    from chudong.kit import clock

    clock.set_process_clock(clock.FixedClock(dt.datetime(2026, 11, 2, 9, 0, tzinfo=clock.VN_TZ)))
    print(f"load average at start (1/5/15 min): {_load()} on {os.cpu_count()} cores")
    if sys.dont_write_bytecode:
        print("note: PYTHONDONTWRITEBYTECODE is set here, so every first import compiles from source "
              "(the first PDF and the first forecast pay it)")
    t0, c0 = time.perf_counter(), time.process_time()
    reports.to_pdf(reports.MonthlyReport(Period.parse("2026-01"), TODAY))
    print(f"first PDF in a fresh process (WeasyPrint import, font set-up, template): {time.perf_counter() - t0:.2f} s "
          f"wall, {time.process_time() - c0:.2f} s CPU (once per worker process)")
    with temp_database("analytics") as engine:
        with session_factory(engine)() as s:
            seed_units(s, 48)
            s.commit()
        t0 = time.perf_counter()
        _fill(engine, args.dossiers)
        _fill_registry(engine, args.people)
        print(f"filled {args.dossiers:,} dossiers (+ 4-event timelines, results, ratings) and {args.people:,} people "
              f"(+ licences, 2 years of life events) in {time.perf_counter() - t0:.0f} s")
        _bench_index(engine, args.dossiers, args.runs)
        _bench_report(engine)
        _bench_forecast(engine, args.people, args.runs)
    print(f"load average at end (1/5/15 min): {_load()}")


if __name__ == "__main__":
    main()
