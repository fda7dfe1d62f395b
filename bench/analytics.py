"""Benchmark analytics on PostgreSQL: Decision 766 index for a province-year and the monthly report.

Run: ``.venv/bin/python -m bench.analytics`` (1,000,000 dossiers; targets: index ≤ 2 s,
monthly report PDF ≤ 10 s). ``--dossiers N`` changes the size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from sqlalchemy import text

from bench._pg import temp_database
from chudong.db import session_factory


def _fill(engine, n: int) -> None:
    """Insert n dossiers of 2026 over the province's civil-status units, set-based."""
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossier (code, service_id, kind, title, subject_kind, province_code, ward_code, agency,
                receiving_unit_code, handling_unit_code, status, version, event_count, fields, fields_total,
                fields_prefilled, prefill_share, risk, opened_at, received_on, settlement_working_days,
                paused_working_days, due_on, settled_on, settlement_class, auto_approved, life_event_id, person_id)
            SELECT 'BN-' || i,
                (ARRAY['birth-registration','poor-household-confirmation','death-registration','house-building-bundle'])[1 + i % 4],
                'dossier', '{"vi": "x", "en": "x"}', 'person', 48, w.code, 'justice', u.code, u.code,
                CASE WHEN i % 20 = 0 THEN 'in_processing' ELSE 'closed' END, 1, 3, '{}', 8, 8 - (i % 9 = 0)::int,
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
        """), {"n": n})
        conn.execute(text("""
            INSERT INTO dossier_event (dossier_id, seq, kind, from_status, to_status, actor, at, data)
            SELECT id, 1, 'confirmed', 'offered', 'confirmed',
                   CASE WHEN id % 7 = 0 THEN 'officer:desk' ELSE 'citizen:' || id END, opened_at, '{}'
            FROM dossier
        """))
        conn.execute(text("""
            INSERT INTO dossier_result (dossier_id, kind, number, issued_at, issued_by, data, nonce, revoked)
            SELECT id, 'extract', 'R-' || id, opened_at + INTERVAL '3 days', 'officer:x', '{"k": 1}', md5(id::text), false
            FROM dossier WHERE status = 'closed' AND id % 11 <> 0
        """))
        conn.execute(text("""
            INSERT INTO dossier_rating (dossier_id, score, complaint, rated_at)
            SELECT id, 1 + id % 5, id % 97 = 0, opened_at + INTERVAL '5 days' FROM dossier WHERE id % 3 = 0 AND status = 'closed'
        """))
        conn.execute(text("ANALYZE"))


def main() -> None:
    """Create a database, fill it, time the index and the monthly report, print, drop it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    args = parser.parse_args()

    from chudong.analytics import reports
    from chudong.analytics.service import Period, Scope, compute_index
    from chudong.dossiers.units import seed_units

    with temp_database("analytics") as engine:
        with session_factory(engine)() as s:
            seed_units(s, 48)
            s.commit()
        t0 = time.perf_counter()
        _fill(engine, args.dossiers)
        print(f"filled {args.dossiers:,} dossiers (+ events, results, ratings) in {time.perf_counter() - t0:.1f} s")
        year = Period.parse("2026")
        timings = []
        for _ in range(3):
            with session_factory(engine)() as s:
                t0 = time.perf_counter()
                r = compute_index(s, year)
                timings.append(time.perf_counter() - t0)
        print(f"index, province-year ({args.dossiers:,} dossiers): median {statistics.median(timings):.2f} s "
              f"(runs {', '.join(f'{t:.2f}' for t in timings)}); total {r.total} ({r.band}); target ≤ 2 s")
        t0 = time.perf_counter()
        reports.to_pdf(reports.MonthlyReport(Period.parse("2026-01"), dt.date(2026, 2, 1)))
        print(f"first PDF in a fresh process (WeasyPrint font set-up, once per worker): {time.perf_counter() - t0:.2f} s")
        with session_factory(engine)() as s:
            t0 = time.perf_counter()
            r = compute_index(s, year, Scope(unit_code=s.execute(text("SELECT min(handling_unit_code) FROM dossier")).scalar()))
            print(f"index, one unit-year: {time.perf_counter() - t0:.2f} s")
            t0 = time.perf_counter()
            rep = reports.monthly_report(s, Period.parse("2026-10"), dt.date(2026, 11, 2))
            t1 = time.perf_counter()
            pdf = reports.to_pdf(rep)
            t2 = time.perf_counter()
            xlsx = reports.to_xlsx(rep)
            t3 = time.perf_counter()
        print(f"monthly report 2026-10: query {t1 - t0:.2f} s, PDF {t2 - t1:.2f} s ({len(pdf) / 1024:.0f} KiB, "
              f"{len(rep.rows)} units, {len(rep.overdue)} overdue listed), XLSX {t3 - t2:.2f} s; "
              f"report total {t2 - t0:.2f} s, target ≤ 10 s")


if __name__ == "__main__":
    main()
