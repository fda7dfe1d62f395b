"""A simulated period of the proactive cycle: detection, dossiers, citizens and officers at work.

Deterministic for a seed. Each simulated day: detection runs for that day, dossiers open
for the new life events, a share of citizens confirm their offers (after a few days), each
unit's officers work through their queue up to a daily capacity (so realistic queues and
some late settlements remain), and the deadline job runs.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from chudong.db import unit_of_work
from chudong.kit import clock
from chudong.kit.errors import ChudongError

GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Khánh", "Linh", "Minh", "Ngọc", "Phúc", "Quân", "Thảo", "Vy")
MIDDLE = ("Minh", "Ngọc", "Gia", "Bảo", "Thanh", "Anh", "Khánh")


@dataclass
class SimulationResult:
    """What happened over the simulated period."""

    days: int = 0
    events: Counter = field(default_factory=Counter)
    opened: int = 0
    confirmed: int = 0
    settled: int = 0
    supplements: int = 0
    rejected: int = 0


def _citizen_value(name: str, rng: random.Random, family: str) -> str:
    if name.endswith("_name"):
        return f"{family} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    if name.endswith("_pid"):
        return f"048{rng.choice('02')}{rng.randint(70, 99)}{rng.randint(0, 999_999):06d}"
    if name.endswith("contact"):
        return f"09{rng.randint(0, 99_999_999):08d}"
    return "Đã nộp bản điện tử"


def _officers_by_unit(session) -> dict[str, list]:
    from chudong.dossiers.models import Officer

    units: dict[str, list] = {}
    for o in session.scalars(select(Officer).where(Officer.active.is_(True), Officer.role == "officer")):
        units.setdefault(o.unit_code, []).append(o)
    return units


def _principal(o):
    from chudong.identity.principal import Principal

    return Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                     agency=o.agency, role=o.role)


def simulate(engine: Engine, start: dt.date, end: dt.date, *, seed: int = 1,
             confirm_share: float = 0.85, daily_capacity: int = 6,
             on_day: Callable[[dt.date], None] | None = None,
             on_morning: Callable[[dt.date], None] | None = None) -> SimulationResult:
    """Run the proactive cycle for every day of [start, end]; commit day by day."""
    from chudong.dossiers import service as dossiers
    from chudong.dossiers.models import Dossier
    from chudong.identity.principal import Principal
    from chudong.registry.models import Person
    from chudong.rules.service import detect

    rng = random.Random(seed)
    result = SimulationResult()
    day = start
    while day <= end:
        with clock.use_clock(clock.FixedClock(dt.datetime.combine(day, dt.time(7, 30), clock.VN_TZ))) as fixed:
            if on_morning:
                on_morning(day)
            with unit_of_work(engine) as s:
                found = detect(s, as_of=day)
                for e in found.created:
                    result.events[e.service_id] += 1
                result.opened += dossiers.open_pending(s).opened
            fixed.advance(dt.timedelta(hours=1))
            with unit_of_work(engine) as s:  # citizens answer offers a few days after they arrive
                offers = s.scalars(select(Dossier).where(Dossier.status == "offered", Dossier.kind == "dossier",
                                                         Dossier.parent_id.is_(None),
                                                         Dossier.opened_at < clock.now() - dt.timedelta(days=1))
                                   .order_by(Dossier.id)).all()
                # the newest offer of each service is still waiting for its citizen: a visitor finds one to answer
                waiting = {d.service_id: d.id for d in offers}
                for d in offers:
                    if waiting[d.service_id] == d.id or rng.random() > confirm_share / 3:  # a third answer each day
                        continue
                    person = s.get(Person, d.person_id) if d.person_id else None
                    family = person.full_name.split(" ")[0] if person else "Nguyễn"
                    supplied = {k: _citizen_value(k, rng, family) for k, f in d.fields.items() if f["source"] == "citizen"}
                    try:
                        with s.begin_nested():
                            dossiers.confirm(s, d, Principal.citizen(d.person_id), supplied=supplied, linked=None,
                                             version=d.version)
                        result.confirmed += 1
                    except ChudongError:
                        continue
                for d in s.scalars(select(Dossier).where(Dossier.status == "offered", Dossier.kind == "notice",
                                                         Dossier.opened_at < clock.now() - dt.timedelta(days=2))):
                    if rng.random() < 0.15:
                        try:
                            with s.begin_nested():
                                dossiers.act_on_notice(s, d, Principal.citizen(d.person_id), version=d.version)
                        except ChudongError:
                            continue
            fixed.advance(dt.timedelta(hours=1))
            with unit_of_work(engine) as s:  # officers work through their queues
                # the newest confirmed dossier that may need a supplement is held back; on the last day, unless a
                # supplement is still awaited after the deadline job, its officer asks for one (for the visitor)
                held = s.scalar(select(Dossier).where(Dossier.status.in_(("confirmed", "in_processing")),
                                                      Dossier.supplement_window_working_days.is_not(None),
                                                      Dossier.person_id.is_not(None), Dossier.parent_id.is_(None))
                                .order_by(Dossier.id.desc()).limit(1))
                by_unit = _officers_by_unit(s)
                for unit_code, officers in by_unit.items():
                    lead = officers[0]
                    queue = [d for d in dossiers.queue(s, _principal(lead), limit=daily_capacity * len(officers))
                             if d.received_on is None or d.received_on < day]  # today's arrivals wait
                    for i, d in enumerate(queue):
                        if (held is not None and d.id == held.id) or rng.random() < 0.25:  # not all are reached
                            continue
                        officer = _principal(officers[i % len(officers)])
                        fixed.advance(dt.timedelta(minutes=rng.randint(2, 9)))  # reading and checking
                        try:
                            with s.begin_nested():
                                if d.status == "confirmed":
                                    dossiers.claim(s, d, officer, version=d.version)
                                if d.status == "supplement_requested":
                                    continue
                                fixed.advance(dt.timedelta(minutes=rng.randint(3, 25)))
                                roll = rng.random()
                                if d.supplement_window_working_days and roll < 0.05:
                                    dossiers.request_supplement(s, d, officer, reason="Bổ sung bản sao giấy tờ",
                                                                documents=["bản sao có chứng thực"], version=d.version)
                                    result.supplements += 1
                                elif roll < 0.07:
                                    dossiers.reject(s, d, officer, legal_reason="Không đủ điều kiện theo quy định",
                                                    version=d.version)
                                    result.rejected += 1
                                else:
                                    dossiers.approve(s, d, officer, version=d.version)
                                    result.settled += 1
                        except ChudongError:
                            continue
                dossiers.run_deadlines(s)
                if held is not None and day == end and held.handling_unit_code in by_unit and s.scalar(
                        select(Dossier.id).where(Dossier.status == "supplement_requested",
                                                 Dossier.parent_id.is_(None)).limit(1)) is None:
                    officer = _principal(by_unit[held.handling_unit_code][0])
                    if held.status == "confirmed":
                        dossiers.claim(s, held, officer, version=held.version)
                    dossiers.request_supplement(s, held, officer, reason="Bổ sung bản sao giấy tờ",
                                                documents=["bản sao có chứng thực"], version=held.version)
                    result.supplements += 1
        result.days += 1
        if on_day:
            on_day(day)
        day += dt.timedelta(days=1)
    return result
