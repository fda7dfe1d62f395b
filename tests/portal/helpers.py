"""Helpers for portal tests: forms with CSRF tokens, sign-in through the real flows."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from chudong.auth import service as auth
from chudong.notifications.models import Notification

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF_PASSWORD = "a long staff password"


def csrf(client, path: str) -> str:
    """GET a page and return the CSRF token of its first form."""
    r = client.get(path, headers={"accept": "text/html"})
    m = TOKEN.search(r.text)
    assert m, f"no csrf token on {path}: {r.status_code}"
    return m.group(1)


def post(client, path: str, data: dict, *, form_page: str | None = None, follow: bool = False):
    """POST a form with the CSRF token taken from ``form_page`` (default: the same path)."""
    token = csrf(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token}, headers={"accept": "text/html"},
                       follow_redirects=follow)


def last_code(session, person_id: int) -> str:
    """Return the one-time code in the newest sign-in message for a person (as the provider got it)."""
    session.expire_all()
    row = session.scalar(select(Notification).where(Notification.person_id == person_id,
                                                    Notification.template_id == "otp")
                         .order_by(Notification.id.desc()).limit(1))
    assert row is not None, "no sign-in code was queued"
    m = re.search(r"\b(\d{6})\b", json.dumps(row.rendered, ensure_ascii=False))
    assert m
    return m.group(1)


def citizen_signin(client, session, person) -> None:
    """Sign a citizen in through the real one-time-code flow."""
    r = post(client, "/signin", {"pid": person.pid})
    assert r.status_code == 200, r.text
    code = last_code(session, person.id)
    r = post(client, "/signin/code", {"pid": person.pid, "code": code}, form_page=None or "/signin")
    assert r.status_code == 303 and r.headers["location"] == "/me", r.text


def staff_account(session, username: str, role: str, *, unit_code: str | None = None, agency: str | None = None):
    """Create a staff account with the standard test password."""
    return auth.create_staff(session, username=username, full_name=username.title(), role=role,
                             password=STAFF_PASSWORD, unit_code=unit_code, agency=agency)


def staff_signin(client, username: str) -> None:
    """Sign a staff member in with the standard test password."""
    r = post(client, "/staff/signin", {"username": username, "password": STAFF_PASSWORD})
    assert r.status_code == 303, r.text


def version_on(html: str) -> str:
    """Return the dossier version a page's forms carry (optimistic concurrency)."""
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m, "no version field on the page"
    return m.group(1)


CITIZEN_VALUES = {"child_name": "Lê Minh An", "father_pid": "048090001234", "father_pid_choice": "has",
                  "father_name": "Lê Văn Hùng"}


def citizen_fields(html: str) -> dict[str, str]:
    """Return a value for every field the citizen must give on a dossier page."""
    names = re.findall(r'name="f_(\w+)"', html)
    return {f"f_{n}": CITIZEN_VALUES.get(n, "Giá trị thử") for n in names}


def birth_case(session) -> dict:
    """Commit a province with a mother, her offered birth dossier and the commune's officer (staff account lan.cb)."""
    from chudong.dossiers import service as dossiers
    from tests.dossiers import builders as b

    b.units(session)
    mother = b.person(session, full_name="Nguyễn Thị Lan")
    ev = b.life_event(session, "birth-registration", person=mother, vital=b.vital_event(session, mother=mother))
    code = dossiers.open_dossiers(session, [ev.id]).codes[0]
    d = dossiers.get_by_code(session, code)
    officer = b.officer(session, d.handling_unit_code, username="lan.cb")
    staff_account(session, "lan.cb", "officer", unit_code=officer.unit_code, agency=officer.agency)
    session.commit()
    return {"mother": mother, "code": code, "officer": officer}
