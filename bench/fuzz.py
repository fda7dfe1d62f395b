"""Schemathesis fuzz of every OpenAPI operation, as every kind of caller; counts server errors.

    .venv/bin/python -m bench.fuzz                    # 10,000+ cases (the release target), SQLite
    .venv/bin/python -m bench.fuzz --examples 10      # a quick run
    .venv/bin/python -m bench.fuzz --seed 42          # reproducible generation

Builds the app on a fresh, migrated SQLite database under a temporary folder, seeds one
caller of each kind (anonymous, citizen, officer, agency API key, notifications operator
key), then for every operation × caller × generation mode (positive: schema-valid
data; negative: schema-violating data) draws ``--examples`` cases with Hypothesis and
sends them through the ASGI transport. Prints the number of cases, the server errors
(any 5xx or an exception escaping the app) and the responses that do not conform to the
schema (content type, body schema, headers), each with the operation and a reproduction.
Exit status 1 if there was any server error.

The pytest suite runs the same seeding with a smaller count
(``tests/security/test_fuzz.py``; ``CHUDONG_FUZZ_EXAMPLES`` sets the count there).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine

from chudong.config import Settings

CALLERS = ("anonymous", "citizen", "officer", "agency", "operator")
# 39 operations × 5 callers × 2 modes, less the negative runs of operations with nothing to
# make invalid: ~306 cases per example; 34 gives ~10,400 cases (~8 minutes)
DEFAULT_EXAMPLES = 34


@dataclasses.dataclass
class Finding:
    """One failed case: what was sent, as whom, and what came back."""

    operation: str
    caller: str
    kind: str  # server_error / nonconforming
    status: int | None
    detail: str
    curl: str


@dataclasses.dataclass
class FuzzReport:
    """The outcome of a fuzz run."""

    cases: int = 0
    statuses: Counter = dataclasses.field(default_factory=Counter)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    seconds: Counter = dataclasses.field(default_factory=Counter)

    @property
    def server_errors(self) -> list[Finding]:
        """Return the cases that produced a 5xx or an escaped exception."""
        return [f for f in self.findings if f.kind == "server_error"]

    @property
    def nonconforming(self) -> list[Finding]:
        """Return the cases whose response did not match the schema."""
        return [f for f in self.findings if f.kind == "nonconforming"]


def seed_callers(engine: Engine, settings: Settings) -> dict[str, dict[str, str]]:
    """Create one citizen, officer and agency on ``engine`` and return each caller's headers."""
    import datetime as dt

    from sqlalchemy import select

    from chudong.db import session_factory
    from chudong.dossiers.units import add_officer, seed_units
    from chudong.geo.models import Ward
    from chudong.identity.principal import issue_citizen_token, issue_officer_token
    from chudong.notifications.routes import operator_key
    from chudong.registry.models import Person
    from chudong.registry.service import add_agency

    with session_factory(engine)() as s:
        seed_units(s, 48)
        s.flush()
        officer = add_officer(s, username="fuzz.officer", full_name="Fuzz Officer", unit_code="STP-48")
        _agency, key = add_agency(s, "fuzz-hospital", "Fuzz hospital", "hospital")
        ward = s.scalars(select(Ward.code).where(Ward.province_code == 48).order_by(Ward.code)).first()
        person = Person(pid="048195000001", full_name="Nguyễn Thị Fuzz", name_key="nguyen thi fuzz",
                        birth_date=dt.date(1995, 1, 1), sex="F", ward_code=ward, phone="+84901234567")
        s.add(person)
        s.commit()
        officer_id, person_id = officer.id, person.id
    return {
        "anonymous": {},
        "citizen": {"Authorization": f"Bearer {issue_citizen_token(settings.secret_key, person_id)}"},
        "officer": {"Authorization": f"Bearer {issue_officer_token(settings.secret_key, officer_id)}"},
        "agency": {"Authorization": f"Bearer {key}"},
        "operator": {"X-Operator-Key": operator_key(settings.secret_key)},
    }


def conformance_checks() -> list:
    """Return the schemathesis checks a response must pass besides "not a server error".

    ``status_code_conformance`` is left out on purpose: FastAPI documents only 200 and 422,
    while the routes answer 401/403/404/409/413/429 by design (see docs/SECURITY.md).
    """
    from schemathesis import checks

    return [checks.content_type_conformance, checks.response_schema_conformance,
            checks.response_headers_conformance]


def fuzz(app, callers: dict[str, dict[str, str]], examples: int, *, seed: int | None = None,
         operations: list[str] | None = None) -> FuzzReport:
    """Send ``examples`` generated cases per operation × caller × mode; never stop at a failure."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings as hsettings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.python import asgi

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = FuzzReport()
    extra_checks = conformance_checks()
    ops = [r.ok() for r in schema.get_all_operations()]
    if operations:
        ops = [op for op in ops if op.label in operations]
    unsatisfiable: set[str] = set()
    with asgi.get_client(app) as client:  # one in-process client: a new one per call costs ~50 ms
        for op in ops:
            started = time.perf_counter()
            for caller, headers in callers.items():
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    if mode is GenerationMode.NEGATIVE and op.label in unsatisfiable:
                        continue
                    strategy = op.as_strategy(generation_mode=mode)

                    @hsettings(max_examples=examples, deadline=None, database=None, derandomize=seed is not None,
                               phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                               verbosity=Verbosity.quiet, print_blob=False)
                    @given(case=strategy)
                    def run(case) -> None:
                        report.cases += 1
                        client.cookies.clear()
                        try:
                            response = case.call(session=client, headers=headers)
                        except Exception as exc:  # noqa: BLE001 - an exception escaping the app IS the finding
                            report.findings.append(Finding(op.label, caller, "server_error", None,
                                                           f"{type(exc).__name__}: {exc}",
                                                           case.as_curl_command(headers)))
                            return
                        report.statuses[response.status_code // 100 * 100] += 1
                        if response.status_code >= 500:
                            report.findings.append(Finding(op.label, caller, "server_error", response.status_code,
                                                           response.text[:300], case.as_curl_command(headers)))
                            return
                        try:
                            case.validate_response(response, checks=extra_checks, headers=headers)
                        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a FailureGroup
                            report.findings.append(Finding(op.label, caller, "nonconforming", response.status_code,
                                                           str(exc)[:2000], case.as_curl_command(headers)))

                    try:
                        run()  # the closure reads this iteration's caller and headers; it runs right here
                    except Unsatisfiable:
                        # nothing in the operation can be made invalid (only free-text path parameters)
                        unsatisfiable.add(op.label)
                        report.skipped.append(op.label)
            report.seconds[op.label] += time.perf_counter() - started
    return report


def _first_failure(detail: str) -> str:
    """Return the first line naming a check failure in a schemathesis failure text."""
    for line in detail.splitlines():
        if line.startswith("- "):
            return line[2:]
    return detail.splitlines()[0] if detail else ""


def build_app(folder: Path):
    """Return (app, settings, engine) on a fresh migrated SQLite database in ``folder``."""
    from chudong.app import create_app
    from chudong.db import make_engine, session_factory, upgrade
    from chudong.geo.service import load_units

    settings = Settings(env="test", data_dir=folder)
    engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        load_units(s)
        s.commit()
    return create_app(settings, engine), settings, engine


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz and print cases, status classes, server errors and non-conforming responses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help="cases per operation × caller × mode (default %(default)s ≈ 10,400 cases)")
    parser.add_argument("--seed", type=int, default=None, help="derandomize generation")
    parser.add_argument("--operation", action="append", help="only this operation, e.g. 'GET /healthz'")
    parser.add_argument("--verbose", action="store_true", help="also print the slowest operations")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        app, settings, engine = build_app(Path(tmp))
        callers = seed_callers(engine, settings)
        started = time.perf_counter()
        report = fuzz(app, callers, args.examples, seed=args.seed, operations=args.operation)
        elapsed = time.perf_counter() - started
        engine.dispose()
    print(f"cases: {report.cases} in {elapsed:.0f} s ({report.cases / max(elapsed, 1e-9):.0f}/s)")
    print("status classes: " + ", ".join(f"{k // 100}xx={v}" for k, v in sorted(report.statuses.items())))
    print(f"server errors: {len(report.server_errors)}")
    print(f"non-conforming responses: {len(report.nonconforming)}")
    for f in report.server_errors[:50]:
        print(f"- SERVER ERROR {f.operation} as {f.caller}: {f.status} {f.detail[:300]!r}\n    {f.curl[:400]}")
    kinds = Counter((f.operation, f.status, _first_failure(f.detail)) for f in report.nonconforming)
    for (operation, status, what), n in sorted(kinds.items()):
        print(f"- non-conforming x{n}: {operation} -> {status}: {what}")
    if args.verbose:
        for label, seconds in sorted(report.seconds.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {seconds:6.1f} s  {label}")
    return 1 if report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
