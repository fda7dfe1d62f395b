"""Benchmark: full daily detection on PostgreSQL, and how it grows with the population.

    .venv/bin/python -m bench.detect                       # 100k and 1M people, ratio (default, < 3 min)
    .venv/bin/python -m bench.detect --population 1000000 --scale 10   # 1M and 10M (slow to generate)

For each size a fresh database is created (migrated to the registry + rules tables only),
filled with COPY (persons, households, licences of every kind, vital events, building
plans) so that exactly ``--due`` subjects are due on the as-of day whatever the population,
then ``detect(as_of)`` is timed (median of 3 runs, each rolled back so every run really
creates the events). The database is dropped afterwards.

Indexes: the rules read ``licence`` by (kind, expires_on) and (kind, issued_on),
``household`` by survey_date and ``building_plan`` by declared_on. The registry migration
does not have them yet; this bench creates them (listed in RECOMMENDED_INDEXES) and
the registry owner is asked to add them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from chudong.db import make_engine, session_factory, upgrade
from chudong.rules.dates import dates_reaching

ADMIN_URL = os.environ.get("CHUDONG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AS_OF = dt.date(2026, 11, 2)
RECOMMENDED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_licence_kind_expires_on ON licence (kind, expires_on)",
    "CREATE INDEX IF NOT EXISTS ix_licence_kind_issued_on ON licence (kind, issued_on)",
    "CREATE INDEX IF NOT EXISTS ix_household_survey_date ON household (survey_date)",
    "CREATE INDEX IF NOT EXISTS ix_building_plan_declared_on ON building_plan (declared_on)",
]
EXPIRY_KINDS = ["id_card", "passport", "driving_licence", "medical_licence", "tour_guide_card",
                "veterinary_cert", "transport_licence"]
LEADS = (180, 90, 60, 30, 7)


def forbidden_dates(as_of: dt.date) -> tuple[set[dt.date], set[dt.date], set[dt.date]]:
    """Return the birth, expiry and issue dates that would make a subject due on ``as_of``."""
    births: set[dt.date] = set()
    for lead in (30, 7):
        for age in (14, 25, 40, 60):
            births.update(dates_reaching(as_of + dt.timedelta(days=lead), age))
    expiries = {as_of + dt.timedelta(days=lead) for lead in LEADS}
    issues: set[dt.date] = set()
    for target in expiries:
        for years in (5, 10):
            issues.update(dates_reaching(target, years))
    return births, expiries, issues


def _shift(column: str, avoid: set[dt.date]) -> str:
    """Return SQL moving ``column`` one day later when it falls on a date that would make it due."""
    if not avoid:
        return column
    listed = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(avoid))
    return f"CASE WHEN {column} IN ({listed}) THEN {column} + 1 ELSE {column} END"


def _rand_date(start: dt.date, days: int) -> str:
    return f"(DATE '{start.isoformat()}' + floor(random() * {days})::int)"


def populate(engine, population: int, due: int, seed: float = 0.42) -> dict[str, int]:
    """Fill the person index with ``population`` people and exactly ``due`` subjects due on AS_OF (server-side SQL)."""
    births_no, expiry_no, issue_no = forbidden_dates(AS_OF)
    birth = _shift(_rand_date(dt.date(1940, 1, 1), 31000), births_no)
    expiry = _shift(_rand_date(AS_OF - dt.timedelta(days=2000), 5600), expiry_no)
    issued = _shift(_rand_date(dt.date(2015, 1, 1), 4300), issue_no)
    households = max(1, population // 4)
    milestone = sorted(births_no)
    as_of = f"DATE '{AS_OF.isoformat()}'"
    statements = [
        f"SELECT setseed({seed})",
        # bulk load without per-row foreign-key triggers (the generated keys are consistent)
        "SET session_replication_role = replica",
        "CREATE TEMP TABLE w AS SELECT row_number() OVER (ORDER BY code) - 1 AS i, code FROM ward WHERE province_code = 48",
        "INSERT INTO agency (code, name, kind) VALUES ('bench', 'bench', 'population')",
        f"""INSERT INTO household (id, code, ward_code, area_type, income_per_person, survey_date)
            SELECT g, 'H' || g, (SELECT code FROM w WHERE i = g % (SELECT count(*) FROM w)),
                   CASE WHEN g % 3 = 0 THEN 'urban' ELSE 'rural' END, 800000 + floor(random() * 8000000)::int,
                   {_rand_date(dt.date(2024, 1, 1), 600)}
            FROM generate_series(1, {households}) g""",
        f"""INSERT INTO person (id, pid, full_name, name_key, birth_date, sex, ward_code, household_id)
            SELECT g, lpad(g::text, 12, '0'), 'Nguyễn Văn ' || g, 'nguyen van ' || g, {birth},
                   CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
                   (SELECT code FROM w WHERE i = g % (SELECT count(*) FROM w)), 1 + g % {households}
            FROM generate_series(1, {population}) g""",
        # everyone has an ID card; 45% a motorbike licence (never expires); 15% a car licence;
        # 10% a passport; 1% a professional licence or card
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT 'id_card', NULL, 'C' || g, g, {issued}, NULL, 'police', false FROM generate_series(1, {population}) g""",
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT 'driving_licence', 'A1', 'DA' || g, g, {issued}, NULL, 'police', false
            FROM generate_series(1, {population}) g WHERE g % 20 < 9""",
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT 'driving_licence', 'B', 'DB' || g, g, {issued}, {expiry}, 'police', false
            FROM generate_series(1, {population}) g WHERE g % 20 < 3""",
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT 'passport', NULL, 'P' || g, g, {issued}, {expiry}, 'immigration', false
            FROM generate_series(1, {population}) g WHERE g % 10 = 5""",
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT (ARRAY['medical_licence', 'tour_guide_card', 'veterinary_cert', 'transport_licence'])[1 + g % 4],
                   NULL, 'X' || g, g, {issued}, {expiry}, 'department', false
            FROM generate_series(1, {population}) g WHERE g % 100 = 7""",
        # the subjects due on AS_OF, the same number whatever the population
        f"""INSERT INTO licence (kind, licence_class, number, person_id, issued_on, expires_on, issuing_agency, revoked)
            SELECT k.kind, CASE WHEN k.kind = 'driving_licence' THEN 'C' END, 'DUE' || g,
                   1 + (g * 7919) % {population}, {as_of} + k.lead - 1800, {as_of} + k.lead, 'bench', false
            FROM generate_series(0, {due // 2 - 1}) g,
                 LATERAL (SELECT (ARRAY['passport', 'driving_licence', 'medical_licence', 'tour_guide_card',
                                        'veterinary_cert', 'transport_licence'])[1 + g % 6] AS kind) k0,
                 LATERAL (SELECT k0.kind, CASE WHEN k0.kind IN ('passport', 'medical_licence')
                                               THEN (ARRAY[180, 90, 30])[1 + g % 3]
                                               ELSE (ARRAY[90, 30, 7])[1 + g % 3] END AS lead) k""",
        f"""INSERT INTO person (id, pid, full_name, name_key, birth_date, sex, ward_code)
            SELECT {population} + 1 + g, '9' || lpad(g::text, 11, '0'), 'Lê Thị ' || g, 'le thi ' || g,
                   (ARRAY[{", ".join(f"DATE '{d.isoformat()}'" for d in milestone)}])[1 + g % {len(milestone)}],
                   'F', (SELECT code FROM w WHERE i = g % (SELECT count(*) FROM w))
            FROM generate_series(0, {due // 4 - 1}) g""",
        f"""INSERT INTO household (id, code, ward_code, area_type, income_per_person, survey_date, deprivations, head_person_id)
            SELECT {households} + 1 + g, 'HDUE' || g, (SELECT code FROM w WHERE i = g % (SELECT count(*) FROM w)),
                   'rural', 1000000, {as_of},
                   '{{"employment": true, "dependants": true, "nutrition": true, "health_insurance": false,
                     "adult_education": false, "child_school_attendance": false, "housing_quality": false,
                     "floor_area": false, "water_source": false, "hygienic_latrine": false, "telecom_use": false,
                     "information_assets": false}}'::json, 1 + g
            FROM generate_series(0, {due // 8 - 1}) g""",
        f"""INSERT INTO source_record (id, feed, agency_code, source_key, received_at, content_hash, raw, normalised)
            SELECT g, 'births', 'bench', 'b' || g, now(), repeat('0', 64), '{{}}', '{{}}'::json
            FROM generate_series(1, {due // 8}) g""",
        f"""INSERT INTO vital_event (id, kind, source_record_id, mother_person_id, event_date, details)
            SELECT g, 'birth', g, 2 * g, {as_of} - 1, '{{"facility": "bench"}}'::json
            FROM generate_series(1, {due // 8}) g""",
        "SET session_replication_role = origin",
        *[f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
          for t in ("person", "household", "licence", "source_record", "vital_event")],
        *RECOMMENDED_INDEXES,
    ]
    with engine.begin() as conn:
        for stmt in statements:
            conn.execute(text(stmt))
    # the server-side SQL wrote personal ID numbers and incomes in plaintext: the privacy
    # migration seals them, as it would a real database (chudong.privacy)
    t0 = time.perf_counter()
    upgrade(engine, "20261122_0010")
    print(f"  sealed the generated ID numbers and incomes (migration 20261122_0010) in {time.perf_counter() - t0:.1f} s",
          flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("person", "household", "licence", "vital_event")}
    return counts


def measure(population: int, due: int, runs: int) -> tuple[float, int, dict[str, int]]:
    """Create a database of ``population`` people, time ``detect(AS_OF)``; return (median s, events, counts)."""
    from chudong.geo.service import load_units
    from chudong.rules.service import detect

    admin = make_engine(ADMIN_URL)
    name = f"chudong_bench_detect_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine, "20261121_0009")  # the schema before personal data was sealed (populate seals it)
        with session_factory(engine)() as s:
            load_units(s)
            s.commit()
        t0 = time.perf_counter()
        counts = populate(engine, population, due)
        print(f"  generated {counts} in {time.perf_counter() - t0:.1f} s", flush=True)
        times, created = [], 0
        for _ in range(runs):
            with session_factory(engine)() as s:
                start = time.perf_counter()
                result = detect(s, as_of=AS_OF)
                times.append(time.perf_counter() - start)
                created = len(result.created)
                s.rollback()
        return statistics.median(times), created, counts
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Run the benchmark and print the two figures and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=1_000_000, help="people of the larger run (default 1M)")
    parser.add_argument("--scale", type=int, default=0,
                        help="also run population × SCALE (e.g. 10 → 1M and 10M); default: population/10 and population")
    parser.add_argument("--due", type=int, default=2000, help="subjects due on the as-of day (same for every size)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [args.population, args.population * args.scale] if args.scale else [args.population // 10, args.population]
    results = []
    for size in sizes:
        print(f"population {size:,}: generating…", flush=True)
        seconds, created, _counts = measure(size, args.due, args.runs)
        results.append((size, seconds, created))
        print(f"population {size:,}: detect(as_of={AS_OF}) {seconds:.3f} s (median of {args.runs}), "
              f"{created} life events created", flush=True)
    (small, t_small, e_small), (big, t_big, e_big) = results
    print()
    print(f"{'population':>12} {'events':>8} {'seconds':>8}")
    for size, seconds, created in results:
        print(f"{size:>12,} {created:>8} {seconds:>8.3f}")
    print(f"ratio {big // small}× population: {t_big / t_small:.2f}× time (target ≤ 1.5×; events {e_small} vs {e_big}); "
          f"{big:,} people: {t_big:.2f} s (target ≤ 5 s)")


if __name__ == "__main__":
    main()
