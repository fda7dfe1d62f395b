"""The two busiest pages: the officer queue (filters in SQL, paging) and the citizen's tracking page."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from chudong.dossiers import service as dossiers
from chudong.dossiers.models import Dossier
from chudong.dossiers.statemachine import IN_PROGRESS
from chudong.dossiers.views import DeadlineBands, queue_page, tracking
from chudong.identity.principal import Principal
from chudong.kit import clock as kit_clock
from chudong.kit.errors import Unprocessable
from chudong.kit.workdays import CalendarOverride, WorkingCalendar
from tests.dossiers import builders as b

from .helpers import birth_case, citizen_fields, citizen_signin, post, staff_signin, version_on

_codes = itertools.count(1)
VERIFIED = {"mother_name": {"value": "Nguyễn Thị Lan", "source": "registry", "verified": True}}


def _dossier(session, unit: str, *, due_on: dt.date | None, status: str = "in_processing", risk: int = 0,
             service_id: str = "birth-registration", fields: dict | None = None) -> Dossier:
    d = Dossier(code=f"T-{next(_codes):05d}", service_id=service_id, kind="dossier",
                title={"vi": service_id, "en": service_id}, subject_kind="person", province_code=48,
                agency="justice", handling_unit_code=unit, status=status, fields=fields or {}, risk=risk,
                opened_at=kit_clock.now(), due_on=due_on)
    session.add(d)
    return d


@pytest.fixture
def unit(session):
    b.units(session)
    officer = b.officer(session, b.unit_of(session, f"TP-{b.ward_code(session)}").code)
    return Principal(kind="officer", id=officer.id, label=f"officer:{officer.username}",
                     unit_code=officer.unit_code, agency=officer.agency, role="officer")


@pytest.mark.parametrize("today", [dt.date(2027, 2, 1) + dt.timedelta(days=n) for n in range(0, 24, 3)]
                         + [dt.date(2026, 11, 2), dt.date(2026, 12, 31)])
def test_deadline_bands_say_what_deadline_status_says(today):
    # around Tết 2027 (a week off) and with a decided day off and a worked Saturday
    cal = WorkingCalendar([CalendarOverride(dt.date(2027, 2, 17), "off"), CalendarOverride(dt.date(2027, 2, 20), "working")])
    bands = DeadlineBands.on(cal, today)
    for status in (*IN_PROGRESS, "closed", "offered"):
        for due in [None] + [today + dt.timedelta(days=n) for n in range(-3, 25)]:
            d = SimpleNamespace(status=status, due_on=due)
            assert bands.status(status, due) == dossiers.deadline_status(d, cal, today), (status, due)


def test_queue_is_most_urgent_first_and_pages(session, unit, clock):
    today = kit_clock.today()
    late = _dossier(session, unit.unit_code, due_on=today - dt.timedelta(days=2))
    risky = _dossier(session, unit.unit_code, due_on=today + dt.timedelta(days=9), risk=5)
    calm = _dossier(session, unit.unit_code, due_on=today + dt.timedelta(days=9), risk=1)
    undated = _dossier(session, unit.unit_code, due_on=None, status="confirmed")
    _dossier(session, unit.unit_code, due_on=today, status="closed")  # not in the queue
    _dossier(session, "CA-48", due_on=today)  # another unit's: not in this queue
    session.commit()
    first, more = queue_page(session, unit, per_page=3)
    assert [r.code for r in first] == [late.code, risky.code, calm.code] and more
    assert [r.deadline for r in first] == ["overdue", "on_time", "on_time"]
    second, more = queue_page(session, unit, per_page=3, page_no=2)
    assert [r.code for r in second] == [undated.code] and not more
    assert queue_page(session, unit, per_page=4) == (first + second, False)  # exactly a page: no "next"


def test_queue_filters_apply_before_paging(session, unit, clock):
    """A filter finds matching dossiers on any page (it used to filter only the 50 rows of the page)."""
    today = kit_clock.today()
    for n in range(6):
        _dossier(session, unit.unit_code, due_on=today - dt.timedelta(days=n + 1))  # overdue, first in line
    soon = _dossier(session, unit.unit_code, due_on=today, service_id="death-registration", fields=VERIFIED)
    paused = _dossier(session, unit.unit_code, due_on=today, status="supplement_requested")
    later = _dossier(session, unit.unit_code, due_on=today + dt.timedelta(days=20), service_id="death-registration")
    session.commit()
    rows, more = queue_page(session, unit, service_id="death-registration", per_page=3)
    assert [r.code for r in rows] == [soon.code, later.code] and not more
    assert rows[0].verified and not rows[1].verified
    assert [r.code for r in queue_page(session, unit, deadline="due_soon", per_page=3)[0]] == [soon.code]
    assert [r.code for r in queue_page(session, unit, deadline="paused", per_page=3)[0]] == [paused.code]
    assert [r.code for r in queue_page(session, unit, deadline="on_time", per_page=3)[0]] == [later.code]
    overdue, more = queue_page(session, unit, deadline="overdue", per_page=3)
    assert len(overdue) == 3 and more and {r.deadline for r in overdue} == {"overdue"}
    assert queue_page(session, unit, status="supplement_requested", deadline="overdue") == ([], False)
    assert queue_page(session, unit, deadline="<script>") == ([], False)  # no dossier is in an unknown band
    with pytest.raises(Unprocessable):
        queue_page(session, unit, status="closed")


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def birth(session):
    """A mother with her offered birth dossier and its officer."""
    return SimpleNamespace(**birth_case(session))


def _statements(engine):
    """Collect the SQL statements the application sends (a list, filled as requests run)."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_tracking_page_shows_linked_procedures_and_one_timeline_in_five_queries(client, session, engine, birth):
    citizen_signin(client, session, birth.mother)
    page = client.get(f"/me/dossiers/{birth.code}")
    r = post(client, f"/me/dossiers/{birth.code}/confirm",
             {**citizen_fields(page.text), "version": version_on(page.text),
              "linked": ["permanent-residence", "health-insurance-card"]}, form_page=f"/me/dossiers/{birth.code}")
    assert r.status_code == 303, r.text
    d = dossiers.get_by_code(session, birth.code)
    seen = tracking(session, d)
    children = dossiers.children_of(session, d)
    assert [c.code for c in seen.children] == [c.code for c in children] and len(children) == 2
    expected = sorted([*dossiers.timeline(session, d), *(e for c in children for e in dossiers.timeline(session, c))],
                      key=lambda e: e.at)
    assert [(e.kind, e.at) for e in seen.events] == [(e.kind, e.at) for e in expected]
    assert (seen.has_result, seen.rating) == (False, None) and seen.reason is not None

    statements = _statements(engine)
    page = client.get(f"/me/dossiers/{birth.code}", headers={"accept-language": "en"})
    assert page.status_code == 200
    for child in children:
        assert child.title["en"] in page.text
    assert page.text.count("<li><b>") >= len(expected)  # every step of the three dossiers
    # +1 since the page shows agencies, wards and households by name (one query for all the names)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 5, statements


def test_queue_page_filters_by_procedure_in_three_queries(client, session, engine, birth):
    staff_signin(client, "lan.cb")
    d = dossiers.get_by_code(session, birth.code)
    d.status, d.due_on = "in_processing", kit_clock.today() + dt.timedelta(days=10)
    session.commit()
    statements = _statements(engine)
    r = client.get("/officer/queue", headers={"accept-language": "en"})
    assert r.status_code == 200 and birth.code in r.text
    assert '<option value="birth-registration"' in r.text and "Birth registration" in r.text
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3, statements
    assert birth.code not in client.get("/officer/queue?service=death-registration").text
    assert birth.code in client.get("/officer/queue?service=birth-registration&deadline=on_time").text
