"""Bulk ingest of the population registry CSV vs a plain PostgreSQL COPY of the same rows.

    .venv/bin/python -m bench.ingest [--rows 200000] [--seed 7]

Creates a fresh PostgreSQL database (CHUDONG_BENCH_POSTGRES_URL, default the local
server), migrates it, generates N valid persons rows (seeded), ingests them through the
real pipeline (streaming read, validation of every record, staging, upserts, linking by
personal ID number), then COPYs the same rows into a plain table, and prints both rates
and their ratio. A second ingest of the same file measures the idempotent re-send.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import time
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from chudong.db import make_engine, session_factory, upgrade
from chudong.ingest.feeds import CSV_FEEDS

ADMIN_URL = os.environ.get("CHUDONG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Kim", "Thanh"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn"]
GIVEN_F = ["Anh", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Thảo", "Trang"]


def generate(n: int, seed: int, wards: list[int]) -> bytes:
    """Return a persons CSV with ``n`` valid, distinct records."""
    rnd = random.Random(seed)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FEEDS["persons"].columns)
    for i in range(n):
        sex = rnd.choice("MF")
        year = rnd.randint(1930, 2025)
        born = f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        century = {19: 0, 20: 2}[year // 100] + (sex == "F")
        pid = f"048{century}{year % 100:02d}{i:06d}"
        name = " ".join([rnd.choice(FAMILY), rnd.choice(MIDDLE_M if sex == "M" else MIDDLE_F),
                         rnd.choice(GIVEN_M if sex == "M" else GIVEN_F)])
        phone = f"09{rnd.randint(0, 99_999_999):08d}" if rnd.random() < 0.8 else ""
        w.writerow([f"R{i:07d}", pid, name, born, sex, "Kinh", rnd.choice(wards), f"HH{i // 4:06d}",
                    phone, "", "", ""])
    return buf.getvalue().encode("utf-8")


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    admin = make_engine(ADMIN_URL)
    name = f"chudong_bench_ingest_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        from chudong.geo.service import load_units
        from chudong.ingest.pipeline import ingest_csv
        from chudong.registry.service import add_agency

        with session_factory(engine)() as s:
            load_units(s)
            add_agency(s, "bench-pop", "Population registry (bench)", "population")
            s.commit()
            wards = [c for (c,) in s.execute(text("SELECT code FROM ward WHERE province_code = 48"))]
        body = generate(args.rows, args.seed, wards)
        print(f"rows: {args.rows:,}  file: {len(body) / 2**20:.1f} MiB  database: PostgreSQL {name}")

        def run() -> tuple[float, object]:
            with session_factory(engine)() as s:
                from chudong.registry.models import Agency

                agency = s.get(Agency, "bench-pop")
                t0 = time.perf_counter()
                result = ingest_csv(s, "persons", agency, io.BytesIO(body), file_name="bench.csv", link=False)
                s.commit()
                return time.perf_counter() - t0, result

        first_s, first = run()
        assert first.accepted == args.rows and first.rejected == 0, first.summary()
        again_s, again = run()
        assert again.unchanged == args.rows, again.summary()

        # plain COPY of the same rows into a table with the same columns, no validation or indexes
        cols = CSV_FEEDS["persons"].columns
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(f"CREATE TABLE plain_copy ({', '.join(c + ' text' for c in cols)})")
                t0 = time.perf_counter()
                with cur.copy(f"COPY plain_copy ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
                    for i in range(0, len(body), 1 << 20):
                        cp.write(body[i:i + (1 << 20)])
                raw.commit()
                copy_s = time.perf_counter() - t0
                cur.execute("SELECT count(*) FROM plain_copy")
                assert cur.fetchone()[0] == args.rows

        ingest_rate = args.rows / first_s
        copy_rate = args.rows / copy_s
        print(f"pipeline ingest (validate + upsert person + source record): {first_s:6.2f} s  {ingest_rate:10,.0f} records/s")
        print(f"idempotent re-send (all unchanged):                         {again_s:6.2f} s  {args.rows / again_s:10,.0f} records/s")
        print(f"plain PostgreSQL COPY of the same rows:                     {copy_s:6.2f} s  {copy_rate:10,.0f} records/s")
        print(f"ratio pipeline / COPY: {ingest_rate / copy_rate:.3f}  (target: ≥ 20,000 records/s; "
              f"{'met' if ingest_rate >= 20_000 else 'NOT met'})")
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
