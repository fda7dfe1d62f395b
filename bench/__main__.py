"""Run every benchmark with its default (quick) sizes: ``python -m bench [name ...]``.

Each benchmark is its own module with its own options for full-size runs
(``python -m bench.<name> --help``); this runner only sequences them and reports which failed.
"""

from __future__ import annotations

import subprocess
import sys
import time

ALL = ("fhir_parse", "generate", "ingest", "linkage", "province", "detect", "dossiers", "notifications", "analytics", "portal",
       "faults_bus", "faults", "xlsx", "hashing")


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default); return 1 if any failed."""
    names = argv or list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(ALL)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"=== bench.{name}: exit {rc} after {time.perf_counter() - started:.0f} s ===", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
