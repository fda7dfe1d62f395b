"""A synthetic province end to end: generate it, ingest the registry and the licences, link them.

    .venv/bin/python -m bench.province [--people 100000] [--seed 1] [--keep DIR]
    .venv/bin/python -m bench.province --people 1000000

Writes the generator's files (or reuses ``--keep DIR`` when it already holds them), creates
a fresh PostgreSQL database (CHUDONG_BENCH_POSTGRES_URL, default the local server) and
ingests ``persons.csv`` then ``licences.csv`` through ``ingest_csv`` exactly as
``chudong ingest`` does: validation, rejection report, person index, linking of the licences
without a usable ID number (Splink), conflicts with the registry. Prints, per feed, the wall
time, the counts, the time of linking and of conflict detection, and how the records were
linked, and the CPU seconds of Python and of the PostgreSQL backend. Where ``bench.ingest``
measures the registry path on clean rows, this one measures the generator's noisy files and
the other feeds' path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench._pg import temp_database
from bench.ingest import Measure
from chudong.db import session_factory


def timed(module, name: str, spent: dict[str, float]) -> None:
    """Wrap ``module.name`` so that each call adds its wall time to ``spent[name]``."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    setattr(module, name, wrapper)


def main() -> None:
    """Generate (or reuse) a province, ingest two feeds into PostgreSQL, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--province", type=int, default=48, help="Province code (48: Đà Nẵng).")
    ap.add_argument("--keep", type=Path, default=None, help="Write the files here and keep them (reused if present).")
    args = ap.parse_args()

    from chudong.ingest.pipeline import ingest_csv
    from chudong.registry import service as registry
    from chudong.registry.models import Agency, SourceRecord
    from chudong.synth.generator import GeneratorConfig, generate

    out = args.keep or Path(tempfile.mkdtemp(prefix="chudong-province-"))
    try:
        if not (out / "persons.csv").exists():
            started = time.perf_counter()
            generate(GeneratorConfig(people=args.people, seed=args.seed, as_of=dt.date(2026, 11, 2),
                                     province_code=args.province), out,
                     workers=min(os.cpu_count() or 1, 4))
            print(f"generated {args.people:,} people in {time.perf_counter() - started:.1f} s")
        spent: dict[str, float] = {}
        timed(registry, "link_run", spent)
        timed(registry, "raise_conflicts", spent)
        with temp_database("province") as engine:
            with session_factory(engine)() as s:
                registry.add_agency(s, "pop", "Population registry", "population")
                registry.add_agency(s, "police", "Police (licences)", "police")
                s.commit()
            for feed, agency in (("persons", "pop"), ("licences", "police")):
                spent.clear()
                path = out / f"{feed}.csv"
                with session_factory(engine)() as s, path.open("rb") as stream:
                    backend = s.connection().connection.driver_connection.info.backend_pid
                    with Measure(backend) as cpu:
                        result = ingest_csv(s, feed, s.get(Agency, agency), stream, file_name=path.name)
                        s.commit()
                    wall = cpu.wall
                    methods = dict(s.execute(select(SourceRecord.link_method, func.count())
                                             .where(SourceRecord.feed == feed).group_by(SourceRecord.link_method)).all())
                rows = result.accepted + result.updated + result.unchanged + result.rejected
                print(f"{feed:<9} {rows:>10,} rows in {wall:6.1f} s ({rows / wall:,.0f} rows/s): accepted "
                      f"{result.accepted:,}, rejected {result.rejected:,}"
                      + "".join(f"; {name} {seconds:.1f} s" for name, seconds in spent.items()))
                print(f"{'':<9} CPU: python {cpu.py:.1f} s (all threads), postgres backend "
                      + (f"{cpu.db:.1f} s" if cpu.db is not None else "not visible"))
                print(f"{'':<9} linked: " + ", ".join(f"{k or 'not yet'} {v:,}" for k, v in sorted(
                    methods.items(), key=lambda kv: -kv[1])))
        print(f"load average at the end {os.getloadavg()[0]:.1f} (2 cores: other processes compete)")
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
