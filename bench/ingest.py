"""Bulk ingest of the population registry CSV vs a plain PostgreSQL COPY of the same rows.

    .venv/bin/python -m bench.ingest [--rows 200000] [--seed 7] [--rounds 3]

Creates a fresh PostgreSQL database (CHUDONG_BENCH_POSTGRES_URL, default the local
server), migrates it, generates N valid persons rows (seeded), ingests them through the
real pipeline (streaming read, validation of every record, staging, upserts, linking by
personal ID number), then COPYs the same rows into a plain table, and prints both rates
and their ratio. A second ingest of the same file measures the idempotent re-send.

The machine may be shared, so besides wall-clock rates it prints CPU seconds: the Python
process (all its threads) and the PostgreSQL backend serving the run (from
/proc/<backend pid>/stat; the server is local). From those, the rate an idle 2-core machine
would reach is bounded: n / max(python, postgres) when the writer thread overlaps them
perfectly, n / (python + postgres) when nothing overlaps. Each round also prints a host probe:
the validating thread's own work on 20,000 records without a database, in µs per record (lower
is faster), to compare rounds measured at different times.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import statistics
import time

from sqlalchemy import text

from bench._pg import temp_database
from chudong.db import session_factory
from chudong.ingest.feeds import CSV_FEEDS

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


def backend_cpu(pid: int) -> float | None:
    """Return CPU seconds used so far by a local PostgreSQL backend, or None when not visible."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """Return CPU seconds used so far by this process (every thread)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Measure:
    """Wall and CPU seconds (this process, one PostgreSQL backend) of a block."""

    def __init__(self, backend_pid: int) -> None:
        self.pid = backend_pid

    def __enter__(self) -> "Measure":
        self.db0 = backend_cpu(self.pid)
        self.py0 = own_cpu()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.py = own_cpu() - self.py0
        db1 = backend_cpu(self.pid)
        self.db = None if db1 is None or self.db0 is None else db1 - self.db0
        self.load = os.getloadavg()[0]  # 1-minute load average when the block ended

    def line(self, label: str, n: int) -> str:
        """Return one report line: wall rate, CPU split, idle-machine bounds."""
        out = f"{label:<44} {self.wall:6.2f} s {n / self.wall:9,.0f} rec/s | CPU python {self.py:5.2f} s"
        if self.db is not None:
            best, worst = n / max(self.py, self.db, 1e-9), n / max(self.py + self.db, 1e-9)
            out += f", postgres {self.db:5.2f} s | idle 2-core estimate {worst:,.0f}-{best:,.0f} rec/s"
        return out + f" | load {self.load:.1f}"


def host_probe(session, body: bytes, n: int = 20_000) -> float:
    """Return µs per record of the validating thread's own work on ``n`` records, without a database.

    Reading, validating, encoding, hashing and sealing (best of three), nothing written: a reading
    of how fast this host runs the pipeline's Python right now, printed beside each round so that
    rates measured at different times can be compared (the host's speed has varied by 40%).
    """
    from itertools import islice

    from chudong.geo.service import ward_lookup_table
    from chudong.ingest.feeds import Context
    from chudong.ingest.pipeline import dumps_flat, dumps_texts
    from chudong.ingest.reader import read_csv
    from chudong.kit import clock
    from chudong.privacy.crypto import keyring

    spec = CSV_FEEDS["persons"]
    ctx = Context(clock.today(), ward_lookup_table(session))
    ring = keyring()
    seal, content_hash, blind = ring.batch_sealer().seal, ring.content_hasher(), ring.hasher("pid")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        count = 0
        for _, record, _ in islice(read_csv(io.BytesIO(body), spec.columns, optional=spec.optional_columns), n):
            valid = spec.validate(record, ctx)
            content_hash(dumps_flat(valid.normalised))
            blind(valid.pid)
            dumps_flat({**valid.normalised, "pid": seal(valid.pid, "pid")})
            seal(dumps_texts(record), "record")
            count += 1
        best = min(best, (time.perf_counter() - started) / count * 1e6)
    return best


def one_round(rows: int, seed: int, body: bytes | None) -> tuple[bytes, list[str], float]:
    """Ingest ``rows`` persons into a fresh database, re-send them, COPY them; return the report lines."""
    with temp_database("ingest") as engine:
        from chudong.ingest.pipeline import ingest_csv
        from chudong.registry.models import Agency
        from chudong.registry.service import add_agency

        with session_factory(engine)() as s:
            add_agency(s, "bench-pop", "Population registry (bench)", "population")
            s.commit()
            wards = [c for (c,) in s.execute(text("SELECT code FROM ward WHERE province_code = 48"))]
        if body is None:
            body = generate(rows, seed, wards)
            print(f"rows: {rows:,}  file: {len(body) / 2**20:.1f} MiB  database: PostgreSQL (a fresh one per round)")

        def run() -> tuple[Measure, object]:
            with session_factory(engine)() as s:
                agency = s.get(Agency, "bench-pop")
                pid = s.connection().connection.driver_connection.info.backend_pid
                with Measure(pid) as m:
                    result = ingest_csv(s, "persons", agency, io.BytesIO(body), file_name="bench.csv", link=False)
                    s.commit()
                return m, result

        with session_factory(engine)() as s:
            probe = host_probe(s, body)
        first_m, first = run()
        assert first.accepted == rows and first.rejected == 0, first.summary()
        again_m, again = run()
        assert again.unchanged == rows, again.summary()

        # plain COPY of the same rows into a table with the same columns, no validation or indexes
        cols = CSV_FEEDS["persons"].columns
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(f"CREATE TABLE plain_copy ({', '.join(c + ' text' for c in cols)})")
                raw.commit()
                with Measure(raw.info.backend_pid) as copy_m:
                    with cur.copy(f"COPY plain_copy ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
                        for i in range(0, len(body), 1 << 20):
                            cp.write(body[i:i + (1 << 20)])
                    raw.commit()
                cur.execute("SELECT count(*) FROM plain_copy")
                assert cur.fetchone()[0] == rows

    lines = [f"host probe (validating thread's work, no database): {probe:.1f} µs/record",
             first_m.line("pipeline ingest (validate, person + source):", rows),
             again_m.line("idempotent re-send (all unchanged):", rows),
             copy_m.line("plain PostgreSQL COPY of the same rows:", rows),
             f"ratio pipeline / COPY (wall): {(rows / first_m.wall) / (rows / copy_m.wall):.3f}"]
    if first_m.db is not None and copy_m.db is not None:
        lines.append(f"ratio pipeline / COPY (CPU-bound, perfect overlap): "
                     f"{max(copy_m.py, copy_m.db) / max(first_m.py, first_m.db):.3f}")
    return body, lines, rows / first_m.wall


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3, help="Repeat on a fresh database; the median rate is judged.")
    args = ap.parse_args()

    load_before = os.getloadavg()[0]
    body, rates = None, []
    for number in range(1, args.rounds + 1):
        body, lines, rate = one_round(args.rows, args.seed, body)
        rates.append(rate)
        print(f"round {number}:")
        for line in lines:
            print("  " + line)
    median = statistics.median(rates)
    print(f"first-load rates: {', '.join(f'{r:,.0f}' for r in rates)} records/s; median {median:,.0f}")
    print(f"target ≥ 20,000 records/s: {'met' if median >= 20_000 else 'NOT met'} (median, wall clock); "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores: "
          f"{os.cpu_count()} CPUs visible)")


if __name__ == "__main__":
    main()
