"""Benchmark dossiers on PostgreSQL: bulk opening rate, officer action latency, result PDF rendering.

Run: ``.venv/bin/python -m bench.dossiers`` (20,000 opened, 200,000 background dossiers) or
``.venv/bin/python -m bench.dossiers --background 1000000`` for the target setting
(≥ 2,000 dossiers/s opened; approve / supplement request ≤ 50 ms p95; PDF ≤ 1 s).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url

from chudong.db import make_engine, session_factory, upgrade
from chudong.kit import clock

PG = os.environ.get("CHUDONG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PROVINCE = 48


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class StatementTimes:
    """Wall time per SQL statement (client round trip, i.e. server time plus network), summed by text."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.totals: dict[str, list[float]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, _statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, _cursor, statement, _params, _context, many) -> None:  # type: ignore[no-untyped-def]
        took = time.perf_counter() - conn.info["bench_started"].pop()
        key = ("executemany " if many else "") + " ".join(statement.split())[:100]
        total = self.totals.setdefault(key, [0, 0.0])
        total[0] += 1
        total[1] += took

    def report(self, title: str, top: int = 40) -> None:
        """Print the statements that took longest, then forget them."""
        print(f"  statements ({title}), total wall ms / count:")
        for key, (n, took) in sorted(self.totals.items(), key=lambda kv: -kv[1][1])[:top]:
            print(f"    {took * 1000:9.1f} {int(n):6d}  {key}")
        self.totals.clear()


def server_cpu(engine) -> float:  # type: ignore[no-untyped-def]
    """Return the CPU seconds used so far by the PostgreSQL backends serving the bench database.

    Read from /proc (the server runs on this machine); a backend that exits takes its share
    with it, so phases keep their pooled connections open. 0.0 where /proc is not readable.
    """
    with engine.connect() as conn:
        pids = list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def _explain(s, sample: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Print how PostgreSQL runs the queries whose cost could grow with the number of dossiers."""
    from chudong.dossiers.models import Dossier, Unit
    from chudong.dossiers.statemachine import IN_PROGRESS
    from chudong.kit.bulk import one_of
    from chudong.notifications.models import Notification

    d = s.scalar(select(Dossier).where(Dossier.code == sample[1]))
    justice = list(s.scalars(select(Unit.code).where(Unit.agency == "justice")))
    queries = {
        "dossier by code, FOR UPDATE": select(Dossier).where(Dossier.code == d.code).with_for_update(),
        "outbox rows of a dossier": select(Notification.id).where(Notification.event_key == f"dossier:{d.code}"),
        "sub-dossiers still open": select(func.count()).select_from(Dossier).where(
            Dossier.parent_id == d.id, Dossier.status.not_in(["closed", "declined", "expired", "acted_on"])),
        f"open work of an agency's {len(justice)} units (routing)": select(Dossier.handling_unit_code, func.count())
            .where(one_of(s, Dossier.handling_unit_code, justice),
                   Dossier.status.in_(sorted(IN_PROGRESS | {"detected", "offered"})))
            .group_by(Dossier.handling_unit_code),
        "a unit's queue page": select(Dossier.id).where(
            Dossier.handling_unit_code == d.handling_unit_code, Dossier.status.in_(sorted(IN_PROGRESS)))
            .order_by(Dossier.due_on, Dossier.risk.desc(), Dossier.id).limit(50),
    }
    print("query plans (EXPLAIN ANALYZE):")
    for title, stmt in queries.items():
        compiled = stmt.compile(dialect=s.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        plan = [r[0] for r in s.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled), compiled.params)]
        scans = [line.strip() for line in plan if "Scan" in line]
        print(f"  {title}: {plan[-1].strip()}")
        for line in scans:
            print(f"      {line}")
    s.rollback()


def _background(engine, n: int, wards: list[int]) -> None:
    """Fill the dossier table with n settled / in-progress rows in one set-based statement."""
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossier (code, service_id, kind, title, subject_kind, province_code, ward_code, agency,
                receiving_unit_code, handling_unit_code, status, version, event_count, fields, fields_total,
                fields_prefilled, prefill_share, risk, opened_at, received_on, settlement_working_days,
                paused_working_days, due_on, auto_approved)
            SELECT 'BG-' || i, 'poor-household-confirmation', 'dossier', '{"vi": "x", "en": "x"}',
                'household', 48, w.code, 'commune_committee', 'UB-' || w.code, 'UB-' || w.code,
                (ARRAY['closed','closed','closed','confirmed','in_processing'])[1 + i % 5], 1, 0, '{}', 6, 6, 1.0,
                i % 7, now(), DATE '2026-10-01' + (i % 30), 15, 0, DATE '2026-10-20' + (i % 40), false
            FROM generate_series(1, :n) AS i
            JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM ward WHERE province_code = 48) w
              ON w.k = i % :wards
        """), {"n": n, "wards": len(wards)})
        conn.execute(text("ANALYZE dossier"))


def main() -> None:
    """Create a database, run the three measurements, print the figures, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=20_000, help="dossiers opened from life events")
    parser.add_argument("--background", type=int, default=200_000, help="dossiers already in the database")
    parser.add_argument("--actions", type=int, default=300, help="officer actions timed")
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--streams", type=int, default=1,
                        help="open the batches in this many concurrent transactions (threads)")
    parser.add_argument("--no-phone", action="store_true",
                        help="citizens without a phone number (each notice then also files a data-quality issue)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the opening phase to FILE")
    parser.add_argument("--statements", action="store_true",
                        help="print the SQL statements that took longest in the opening and action phases")
    parser.add_argument("--explain", action="store_true",
                        help="print the query plans of the look-ups whose cost could grow with the table")
    parser.add_argument("--profile-actions", metavar="FILE", help="write a cProfile of the officer actions to FILE")
    args = parser.parse_args()
    if args.profile and args.streams > 1:
        parser.error("--profile profiles one stream: leave --streams at 1")

    import chudong.notifications.service  # noqa: F401  (imported at app start-up, not during the timing)
    from chudong.notifications.templates import get_template
    from chudong.dossiers import service
    from chudong.dossiers.models import Officer
    from chudong.dossiers.results import render_result_pdf, result_of, verification_url
    from chudong.dossiers.units import add_officer, seed_units
    from chudong.geo.models import Ward
    from chudong.geo.service import load_units
    from chudong.identity.principal import Principal
    from chudong.registry.models import Agency, Household, Person, SourceRecord
    from chudong.rules.models import LifeEvent

    name = f"chudong_bench_dossiers_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG).set(database=name).render_as_string(hide_password=False))
    clock.set_process_clock(clock.FixedClock(dt.date(2026, 11, 2)))
    try:
        upgrade(engine)
        Session = session_factory(engine)
        with Session() as s:
            load_units(s)
            seed_units(s, PROVINCE)
            s.add(Agency(code="POP-48", name="Population registry", kind="population"))
            s.commit()
            wards = list(s.scalars(select(Ward.code).where(Ward.province_code == PROVINCE).order_by(Ward.code)))
        t = time.perf_counter()
        _background(engine, args.background, wards)
        print(f"background dossiers   {args.background:,} inserted in {time.perf_counter() - t:.1f} s")

        with Session() as s:  # subjects and life events (not timed)
            now = clock.now()
            recs = s.execute(insert(SourceRecord).returning(SourceRecord.id, sort_by_parameter_order=True), [
                {"feed": "households", "agency_code": "POP-48", "source_key": f"h{i}", "received_at": now,
                 "content_hash": "0" * 64, "raw": "{}", "normalised": {}} for i in range(args.open)]).scalars().all()
            hhs = s.execute(insert(Household).returning(Household.id, sort_by_parameter_order=True), [
                {"code": f"HH{i}", "ward_code": wards[i % len(wards)], "area_type": "rural",
                 "income_per_person": 1_400_000, "survey_date": dt.date(2026, 9, 1),
                 "deprivations": {"water_source": True}, "source_record_id": recs[i]}
                for i in range(args.open)]).scalars().all()
            pids = s.execute(insert(Person).returning(Person.id, sort_by_parameter_order=True), [
                {"pid": f"048{i:09d}", "full_name": f"Nguyễn Văn {i}", "name_key": f"nguyen van {i}",
                 "birth_date": dt.date(1980, 1, 1), "sex": "M", "ward_code": wards[i % len(wards)],
                 "household_id": hhs[i], "source_record_id": recs[i],
                 "phone": None if args.no_phone else f"+8491{i % 10_000_000:07d}"}
                for i in range(args.open)]).scalars().all()
            events = s.execute(insert(LifeEvent).returning(LifeEvent.id, sort_by_parameter_order=True), [
                {"key": f"poor:{i}", "service_id": "poor-household-confirmation", "subject_kind": "household",
                 "person_id": pids[i], "household_id": hhs[i], "occurrence": "2026", "due_date": dt.date(2026, 12, 31),
                 "detected_on": dt.date(2026, 11, 2), "reason": {"facts": {}}, "created_at": now}
                for i in range(args.open)]).scalars().all()
            s.commit()

        from chudong.dossiers import flows

        notice_time = [0.0, 0.0]  # wall (summed over streams), CPU spent queuing notices (the notifications feature)
        queue_notices = flows.notify_many
        notice_lock = threading.Lock()

        def timed_notify_many(session, notices):  # type: ignore[no-untyped-def]
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return queue_notices(session, notices)
            finally:
                with notice_lock:
                    notice_time[0] += time.perf_counter() - started
                    notice_time[1] += time.thread_time() - cpu_started

        flows.notify_many = timed_notify_many
        statements = StatementTimes(engine) if args.statements else None
        # read once per process by a running server: the catalogue and the message templates (YAML)
        service.policy_for("poor-household-confirmation")
        get_template("service-notice")
        prof = cProfile.Profile(time.process_time) if args.profile else None  # CPU time: the machine is shared
        load_before, server_before = os.getloadavg(), server_cpu(engine)
        t, cpu = time.perf_counter(), time.process_time()
        codes: list[str] = []
        batches = [list(events[i:i + args.batch]) for i in range(0, len(events), args.batch)]

        def open_batches(mine: list[list[int]]) -> list[str]:
            opened: list[str] = []
            for batch in mine:
                with Session() as s:
                    if prof:
                        prof.enable()
                    opened += service.open_dossiers(s, batch).codes
                    s.commit()
                    if prof:
                        prof.disable()
            return opened

        if args.streams == 1:
            codes = open_batches(batches)
        else:  # batches i, i + n, i + 2n, ... per thread: one transaction each, as parallel jobs would
            with ThreadPoolExecutor(args.streams) as pool:
                for opened in pool.map(open_batches, [batches[k::args.streams] for k in range(args.streams)]):
                    codes += opened
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        server_spent = server_cpu(engine) - server_before
        print(f"opened from events    {len(codes):,} in {took:.1f} s = {len(codes) / took:,.0f} dossiers/s "
              f"(batches of {args.batch} in {args.streams} stream(s), with notices queued); client CPU {cpu:.1f} s = "
              f"{len(codes) / max(cpu, 1e-9):,.0f} dossiers per CPU-second; PostgreSQL CPU {server_spent:.1f} s; "
              f"both = {len(codes) / max(cpu + server_spent, 1e-9):,.0f} dossiers per CPU-second")
        print(f"  load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
              f"({os.cpu_count()} cores, shared with whatever else runs)")
        flows.notify_many = queue_notices
        busy = took * args.streams  # stream-seconds
        print(f"  of which notices     {notice_time[0]:.1f} s wall ({notice_time[0] / busy:.0%} of the streams' time), "
              f"{notice_time[1]:.1f} s CPU ({notice_time[1] / max(cpu, 1e-9):.0%}); without them "
              f"{len(codes) * args.streams / max(busy - notice_time[0], 1e-9):,.0f} dossiers/s")
        if prof:
            prof.dump_stats(args.profile)
        if statements:
            statements.report("opening; COPY is not listed")

        sample = codes[: args.actions]
        with Session() as s:  # citizens confirm the sample; officers for its units
            officers: dict[str, int] = {}
            handler: dict[str, int] = {}  # dossier code -> officer id (the bearer token would say)
            for code in sample:
                d = service.get_by_code(s, code)
                service.confirm(s, d, Principal.citizen(d.person_id), supplied={}, linked=None, version=d.version)
                if d.handling_unit_code not in officers:
                    officers[d.handling_unit_code] = add_officer(
                        s, username=f"cb-{d.handling_unit_code}", full_name="Cán bộ",
                        unit_code=d.handling_unit_code).id
                handler[code] = officers[d.handling_unit_code]
            s.commit()
        timings: dict[str, list[float]] = {"approve": [], "request_supplement": []}
        cpu_ms: dict[str, list[float]] = {"approve": [], "request_supplement": []}
        aprof = cProfile.Profile(time.process_time) if args.profile_actions else None
        if statements:
            statements.totals.clear()  # not the citizens' confirmations
        load_before, server_before = os.getloadavg(), server_cpu(engine)
        phase_started, phase_cpu = time.perf_counter(), time.process_time()
        for n, code in enumerate(sample):
            with Session() as s:
                if aprof:
                    aprof.enable()
                # what a request does: the officer of the bearer token, the dossier read FOR UPDATE
                # (with its access-log entry), the action, the commit
                started, cpu_started = time.perf_counter(), time.process_time()
                o = s.get(Officer, handler[code])
                who = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                                agency=o.agency, role=o.role)
                d = service.for_officer(s, who, code, "bench", for_update=True)
                if n % 2:
                    service.request_supplement(s, d, who, reason="bench", documents=[], version=d.version)
                    kind = "request_supplement"
                else:
                    service.approve(s, d, who, version=d.version)
                    kind = "approve"
                s.commit()
                timings[kind].append((time.perf_counter() - started) * 1000)
                cpu_ms[kind].append((time.process_time() - cpu_started) * 1000)
                if aprof:
                    aprof.disable()
        phase_wall, phase_cpu = time.perf_counter() - phase_started, time.process_time() - phase_cpu
        server_spent = server_cpu(engine) - server_before
        if aprof:
            aprof.dump_stats(args.profile_actions)
        if statements:
            statements.report(f"{len(sample)} officer actions")
        total = args.background + len(codes)
        print(f"officer actions       server time = in-process request: officer look-up, dossier read FOR UPDATE "
              f"with access log, action, commit ({total:,} dossiers in the database)")
        for kind, ms in timings.items():
            print(f"  {kind:<19} p50 {statistics.median(ms):.1f} ms, p95 {_p(ms, 0.95):.1f} ms, max {max(ms):.1f} ms; "
                  f"client CPU p50 {statistics.median(cpu_ms[kind]):.1f} ms, p95 {_p(cpu_ms[kind], 0.95):.1f} ms "
                  f"({len(ms)} actions)")
        print(f"  per action overall    {1000 * phase_wall / len(sample):.1f} ms wall, "
              f"{1000 * phase_cpu / len(sample):.1f} ms client CPU, "
              f"{1000 * server_spent / len(sample):.1f} ms PostgreSQL CPU; load average "
              f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")

        with Session() as s:
            d = service.get_by_code(s, sample[0])
            result = result_of(s, d)
            url = verification_url("https://dvc.example.gov.vn", "bench-secret", result)
            render_result_pdf(d, result, url)  # warm-up: fonts
            ms, cms = [], []
            for _ in range(20):
                started, cpu_started = time.perf_counter(), time.process_time()
                pdf = render_result_pdf(d, result, url)
                ms.append((time.perf_counter() - started) * 1000)
                cms.append((time.process_time() - cpu_started) * 1000)
        print(f"result PDF            p50 {statistics.median(ms):.0f} ms, p95 {_p(ms, 0.95):.0f} ms, "
              f"max {max(ms):.0f} ms; CPU p50 {statistics.median(cms):.0f} ms ({len(pdf):,} bytes)")
        if args.explain:
            with Session() as s:
                _explain(s, sample)
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
