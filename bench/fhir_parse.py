"""Benchmark the FHIR notification parser: bundles/s over generated birth and death Bundles.

Run: ``.venv/bin/python -m bench.fhir_parse`` (2,000 Bundles) or ``--bundles 20000``.
The mix covers every Bundle type, reference style, mother shape and twins; no database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time

from chudong.fhir.builder import birth_bundle, death_bundle
from chudong.fhir.parser import parse_bundle, parse_ndjson
from chudong.kit.pid import pid_century_sex_digit

TODAY = dt.date(2026, 11, 2)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi"]
GIVEN = ["Thị An", "Văn Bình", "Thị Cúc", "Minh Đức", "Thu Hà", "Quốc Huy", "Ngọc Lan"]


def _pid(rng: random.Random, birth: dt.date, sex: str) -> str:
    return f"049{pid_century_sex_digit(birth.year, sex)}{birth.year % 100:02d}{rng.randrange(1_000_000):06d}"


def generate(n: int, seed: int = 7) -> list[bytes]:
    """Return ``n`` serialised Bundles: 85% births (8% twins), 15% deaths, all shapes."""
    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        btype = rng.choice(["message", "transaction", "collection", "document"])
        refs = rng.choice(["urn:uuid", "relative", "absolute"])
        if rng.random() < 0.85:
            mother_birth = dt.date(rng.randint(1980, 2006), rng.randint(1, 12), rng.randint(1, 28))
            bundle = birth_bundle(
                bundle_id=f"B{i}", child_birth_date=TODAY - dt.timedelta(days=rng.randint(0, 59)),
                child_sex=rng.choice(["M", "F"]), child_name=rng.choice([None, f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"]),
                birth_time=dt.time(rng.randint(0, 23), rng.randint(0, 59)), weight_g=rng.randint(1800, 4500),
                mother_name=f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", mother_birth_date=mother_birth,
                mother_pid=_pid(rng, mother_birth, "F") if rng.random() < 0.8 else None,
                mother_phone=f"09{rng.randrange(10**8):08d}", mother_ward_code=20194, facility_id="49001",
                facility_name="Bệnh viện Đa khoa Quảng Nam", twins=2 if rng.random() < 0.08 else 1,
                bundle_type=btype, mother_as=rng.choice(["RelatedPerson", "Patient"]), references=refs)
        else:
            born = dt.date(rng.randint(1925, 2000), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choice(["M", "F"])
            bundle = death_bundle(
                bundle_id=f"D{i}", name=f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", birth_date=born, sex=sex,
                pid=_pid(rng, born, sex), death_date=TODAY - dt.timedelta(days=rng.randint(0, 14)),
                cause_icd10=rng.choice(["I21.9", "J18.9", "C34.9", None]), facility_id="49001",
                facility_name="Bệnh viện Đa khoa Quảng Nam", bundle_type=btype, references=refs)
        bodies.append(json.dumps(bundle, ensure_ascii=False).encode())
    return bodies


def main() -> None:
    """Parse generated Bundles one by one and as NDJSON; print throughput and latency."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundles", type=int, default=2000)
    args = ap.parse_args()
    bodies = generate(args.bundles)
    parse_bundle(bodies[0], today=TODAY)  # warm model classes and caches
    latencies = []
    notices = 0
    start = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        notices += len(parse_bundle(body, today=TODAY))
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    latencies.sort()
    size = statistics.mean(len(b) for b in bodies)
    print(f"{len(bodies)} bundles (mean {size / 1024:.1f} KiB) -> {notices} notices in {elapsed:.2f} s: "
          f"{len(bodies) / elapsed:,.0f} bundles/s")
    print(f"latency per bundle: p50 {latencies[len(latencies) // 2] * 1000:.2f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.2f} ms, max {latencies[-1] * 1000:.2f} ms")
    from chudong.kit import clock

    with clock.use_clock(clock.FixedClock(TODAY)):
        start = time.perf_counter()
        lines = sum(1 for _ in parse_ndjson(bodies))
        elapsed = time.perf_counter() - start
    print(f"NDJSON: {lines} lines in {elapsed:.2f} s: {lines / elapsed:,.0f} lines/s")


if __name__ == "__main__":
    main()
