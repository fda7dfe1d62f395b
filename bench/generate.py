"""Benchmark the synthetic province generator: seconds, people per second, peak memory.

Run: ``.venv/bin/python -m bench.generate`` (300,000 people) or
``.venv/bin/python -m bench.generate --people 3000000`` (the new Đà Nẵng; target ≤ 10 min
on 2 cores with bounded memory).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from chudong.synth.generator import GeneratorConfig, generate


def main() -> None:
    """Generate N people into a temporary directory and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--province", type=int, default=48)
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--keep", type=Path, default=None, help="Write here and keep the files.")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="chudong-synth-"))
    cfg = GeneratorConfig(people=args.people, seed=args.seed, as_of=dt.date(2026, 11, 2), province_code=args.province)
    started = time.perf_counter()
    manifest = generate(cfg, out, workers=args.workers)
    seconds = time.perf_counter() - started
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    parent, children = me.ru_maxrss / 1024, kids.ru_maxrss / 1024
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    load = os.getloadavg()[0]
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"people            {args.people:,} in {manifest.chunks} chunks, {args.workers} worker(s)")
    print(f"seconds           {seconds:.1f}")
    print(f"people/s          {args.people / seconds:,.0f}")
    print(f"CPU seconds       {cpu:.1f} (parent + workers; {args.people / cpu:,.0f} people per CPU-second)")
    print(f"load average      {load:.1f} at the end (other processes compete for the cores)")
    print(f"peak RSS parent   {parent:.0f} MiB")
    print(f"peak RSS worker   {children:.0f} MiB (largest child)")
    print(f"output            {size:,.0f} MB")
    for name, count in manifest.counts.items():
        print(f"  {name:<20} {count:>12,}")
    if args.keep is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
