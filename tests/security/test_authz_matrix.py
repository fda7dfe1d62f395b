"""Authorisation matrix: every route of the app × every kind of caller, against A's dossier.

Every route must be classified below; a new route that is not fails
``test_every_route_is_classified`` until someone decides who may call it. Each route is
then called by each caller (portal pages with the session cookie and a valid CSRF token,
API routes with bearer tokens / API keys) and the status class is checked:

- ``ok``      authorised: not 401/403/404, no redirect to a sign-in page (a 409/422 for the
              dossier's current state is fine: the check passed, the state machine answered);
- ``seen``    authorised, but the resource may not exist yet (404 allowed, e.g. no result PDF);
- ``deny``    401/403, or a redirect to the sign-in page;
- ``hidden``  404: a citizen who does not own the dossier learns nothing, not even that it exists;
- ``refuse``  any 4xx or a redirect to sign-in — never a success (e.g. bulk approval of another unit's dossier);
- ``any``     anything below 500 (sign-in forms answer 401 to a wrong code by design).

Whoever is not the owner, the handling officer or a leader never sees A's name or ID number.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from chudong.auth import service as auth
from chudong.db import session_factory
from chudong.dossiers import service as dossiers
from chudong.identity.principal import issue_citizen_token, issue_officer_token
from chudong.kit import clock as clock_mod
from chudong.notifications.models import Notification
from chudong.notifications.routes import operator_key
from chudong.portal.security import COOKIE, SALT
from chudong.registry.models import IngestRun
from chudong.registry.service import add_agency
from tests.dossiers import builders as b
from tests.portal.helpers import staff_account

CALLERS = ("anonymous", "citizen_a", "citizen_b", "officer", "officer_other", "leader",
           "agency_owner", "agency_other", "operator")
# callers who may legitimately see A's personal data on some page
TRUSTED = {"citizen_a", "officer", "leader", "operator"}
A_NAME, A_PID = "Phạm Thị Bí Mật", "048195777001"

_ALL_DENY = dict.fromkeys(CALLERS, "deny")


def _cls(**over: str) -> dict[str, str]:
    return {**_ALL_DENY, **over}


CLASSES: dict[str, dict[str, str]] = {
    "public": dict.fromkeys(CALLERS, "seen"),
    "signin_form": dict.fromkeys(CALLERS, "any"),
    # test-mode message viewer (sign-in codes): the demo or an operator; anyone else learns nothing
    "viewer": {**dict.fromkeys(CALLERS, "hidden"), "operator": "ok"},
    "metrics": _cls(operator="ok"),  # or the CHUDONG_METRICS_TOKEN bearer (tests/security/test_exposure.py)
    "webhook": _ALL_DENY,  # nobody here holds a provider's signing secret
    "api_citizen_self": _cls(citizen_a="ok", citizen_b="ok"),
    "api_dossier_read": _cls(citizen_a="ok", citizen_b="hidden", officer="ok"),
    "api_dossier_result": _cls(citizen_a="seen", citizen_b="hidden", officer="seen"),
    "api_citizen_action": _cls(citizen_a="ok", citizen_b="hidden"),
    "api_officer_any": _cls(officer="ok", officer_other="ok"),
    "api_open": _cls(officer="ok", operator="ok"),  # another agency's officer is outside the jurisdiction
    "api_officer_bulk": _cls(officer="ok", officer_other="refuse"),
    "api_officer_action": _cls(officer="ok"),
    "api_officer_post_audit": _cls(officer="seen"),  # 404 until the dossier is drawn for a post-audit
    "api_agency_send": _cls(agency_owner="ok"),
    "api_agency_run": _cls(agency_owner="ok", agency_other="hidden"),
    "api_operator": _cls(operator="ok"),
    "portal_citizen": _cls(citizen_a="ok", citizen_b="ok"),
    "portal_citizen_dossier": _cls(citizen_a="ok", citizen_b="hidden"),
    "portal_citizen_result": _cls(citizen_a="seen", citizen_b="hidden"),
    "portal_officer": _cls(officer="ok", officer_other="ok"),
    "portal_officer_bulk": _cls(officer="ok", officer_other="refuse"),
    "portal_officer_dossier": _cls(officer="ok"),
    "portal_officer_post_audit": _cls(officer="seen"),
    "portal_officer_result": _cls(officer="seen"),
    "portal_leader": _cls(leader="ok", operator="ok"),
    "portal_steward": _cls(operator="ok"),
}

MATRIX: dict[tuple[str, str], str] = {
    # shell, docs, static, open data, catalogue
    ("GET", "/"): "public", ("GET", "/lang/{lang}"): "public", ("GET", "/healthz"): "public",
    ("GET", "/metrics"): "metrics", ("GET", "/openapi.json"): "public", ("GET", "/docs"): "public",
    ("GET", "/static"): "public", ("GET", "/open-data"): "public",
    ("GET", "/open-data/index.json"): "public", ("GET", "/open-data/index.csv"): "public",
    ("GET", "/api/v1/services"): "public", ("GET", "/api/v1/services/{service_id}"): "public",
    ("GET", "/api/v1/notifications/templates/{template_id}/preview"): "public",
    ("GET", "/verify/{token}"): "public", ("GET", "/api/v1/dossiers/track/{code}"): "public",
    ("GET", "/track"): "public", ("POST", "/track"): "public", ("GET", "/overdue"): "public",
    # sign-in
    ("GET", "/signin"): "public", ("GET", "/signin/no-contact"): "public", ("GET", "/d/{code}"): "public",
    ("POST", "/signin"): "signin_form", ("POST", "/signin/code"): "signin_form",
    ("GET", "/staff/signin"): "public", ("POST", "/staff/signin"): "signin_form",
    ("GET", "/signin/national"): "signin_form", ("GET", "/signin/national/callback"): "signin_form",
    ("POST", "/signout"): "public", ("POST", "/signout/everywhere"): "public",
    # message viewer: test mode outside production, and only in the demo or for operators (see SECURITY.md)
    ("GET", "/notifications/viewer"): "viewer",
    # dossier API
    ("GET", "/api/v1/dossiers/mine"): "api_citizen_self", ("GET", "/api/v1/dossiers/access-log"): "api_citizen_self",
    ("POST", "/api/v1/dossiers/open"): "api_open", ("GET", "/api/v1/dossiers/queue"): "api_officer_any",
    ("GET", "/api/v1/dossiers/post-audits"): "api_officer_any",
    ("POST", "/api/v1/dossiers/bulk-approve"): "api_officer_bulk",
    ("GET", "/api/v1/dossiers/{code}"): "api_dossier_read",
    ("GET", "/api/v1/dossiers/{code}/timeline"): "api_dossier_read",
    ("POST", "/api/v1/dossiers/{code}/attachments"): "api_dossier_read",
    ("GET", "/api/v1/dossiers/{code}/result.pdf"): "api_dossier_result",
    ("POST", "/api/v1/dossiers/{code}/confirm"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/corrections"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/decline"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/act"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/supplement"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/rating"): "api_citizen_action",
    ("POST", "/api/v1/dossiers/{code}/claim"): "api_officer_action",
    ("POST", "/api/v1/dossiers/{code}/approve"): "api_officer_action",
    ("POST", "/api/v1/dossiers/{code}/request-supplement"): "api_officer_action",
    ("POST", "/api/v1/dossiers/{code}/reject"): "api_officer_action",
    ("POST", "/api/v1/dossiers/{code}/post-audit"): "api_officer_post_audit",
    # feeds API
    ("POST", "/api/v1/feeds/{feed}"): "api_agency_send",
    ("GET", "/api/v1/feeds/runs/{run_id}"): "api_agency_run",
    ("GET", "/api/v1/feeds/runs/{run_id}/rejections"): "api_agency_run",
    # notifications API
    ("POST", "/api/v1/notifications/receipts/{provider}"): "webhook",
    ("GET", "/api/v1/notifications/kannel/{provider}/dlr"): "webhook",  # signed dlr-url: an HMAC of the message id
    ("GET", "/api/v1/notifications/stats"): "api_operator", ("GET", "/api/v1/notifications/failures"): "api_operator",
    ("GET", "/api/v1/notifications/inbox/{person_id}"): "api_operator",
    ("PUT", "/api/v1/notifications/preferences/{person_id}"): "api_operator",
    ("GET", "/api/v1/notifications/{notification_id}"): "api_operator",
    # citizen portal
    ("GET", "/me"): "portal_citizen", ("GET", "/me/access"): "portal_citizen", ("GET", "/me/inbox"): "portal_citizen",
    ("GET", "/me/settings"): "portal_citizen", ("POST", "/me/settings"): "portal_citizen",
    ("GET", "/me/dossiers/{code}"): "portal_citizen_dossier",
    ("GET", "/me/dossiers/{code}/confirmed"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/check"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/supplement"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/confirm"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/correct"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/decline"): "portal_citizen_dossier",
    ("POST", "/me/dossiers/{code}/rate"): "portal_citizen_dossier",
    ("GET", "/me/dossiers/{code}/result.pdf"): "portal_citizen_result",
    # officer and steward portal
    ("GET", "/officer/queue"): "portal_officer", ("GET", "/officer/post-audit"): "portal_officer",
    ("POST", "/officer/bulk-approve"): "portal_officer_bulk",
    ("GET", "/officer/dossiers/{code}"): "portal_officer_dossier",
    ("GET", "/officer/dossiers/{code}/approve"): "portal_officer_dossier",
    ("GET", "/officer/dossiers/{code}/result.pdf"): "portal_officer_result",
    ("GET", "/officer/dossiers/{code}/attachments/{attachment_id}"): "portal_officer_result",
    ("GET", "/officer/overdue"): "portal_officer",
    ("POST", "/officer/dossiers/{code}/claim"): "portal_officer_dossier",
    ("POST", "/officer/dossiers/{code}/approve"): "portal_officer_dossier",
    ("POST", "/officer/dossiers/{code}/supplement"): "portal_officer_dossier",
    ("POST", "/officer/dossiers/{code}/reject"): "portal_officer_dossier",
    ("POST", "/officer/post-audit/{code}"): "portal_officer_post_audit",
    ("GET", "/steward/quality"): "portal_steward",
    # leader pages
    ("GET", "/leader"): "portal_leader", ("GET", "/leader/index"): "portal_leader",
    ("GET", "/leader/forecast"): "portal_leader", ("GET", "/leader/reports/monthly.{fmt}"): "portal_leader",
}


def app_routes(app) -> set[tuple[str, str]]:
    """Return (method, path) of every route of the app, included routers flattened (HEAD folded into GET)."""
    found: set[tuple[str, str]] = set()

    def walk(routes) -> None:
        for r in routes:
            if hasattr(r, "effective_route_contexts"):  # FastAPI ≥0.16x keeps included routers as nodes
                walk(list(r.effective_route_contexts()))
                continue
            methods = set(getattr(r, "methods", None) or {"GET"}) - {"HEAD"}
            found.update((m, r.path) for m in methods)

    walk(app.routes)
    return found


def test_every_route_is_classified(client):
    routes = app_routes(client.app)
    assert len(routes) >= 80
    unclassified = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not unclassified, f"routes with no authorisation class (add them to MATRIX): {unclassified}"
    assert not stale, f"MATRIX names routes that no longer exist: {stale}"


@dataclasses.dataclass
class Caller:
    """The credentials one caller sends: session cookie (+ its CSRF token) and/or API headers."""

    cookie: str | None = None
    csrf: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    spare: tuple[str, str] | None = None  # a second session (cookie, csrf) for the plain sign-out


@pytest.fixture
def world(engine, settings, clock):
    """A's offered birth dossier, its unit's officer, another unit's officer, B, leader, operator, agencies."""
    key = settings.secret_key
    sign = URLSafeSerializer(key, salt=SALT).dumps
    with session_factory(engine)() as s:
        b.units(s)
        mother = b.person(s, full_name=A_NAME, pid=A_PID)
        ev = b.life_event(s, "birth-registration", person=mother, vital=b.vital_event(s, mother=mother))
        code = dossiers.open_dossiers(s, [ev.id]).codes[0]
        d = dossiers.get_by_code(s, code)
        right = b.officer(s, d.handling_unit_code, username="right.cb")
        other = b.officer(s, "CA-48", username="other.cb")
        citizen_b = b.person(s, full_name="Trần Văn Khác", ward_index=1)
        accounts = {
            "officer": staff_account(s, "right.cb", "officer", unit_code=right.unit_code, agency=right.agency),
            "officer_other": staff_account(s, "other.cb", "officer", unit_code=other.unit_code, agency=other.agency),
            "leader": staff_account(s, "leader", "leader"),
            "operator": staff_account(s, "ops", "operator"),
        }
        _, owner_key = add_agency(s, "hosp-a", "Hospital A", "hospital")
        _, other_key = add_agency(s, "police-b", "Police B", "police")
        run = IngestRun(feed="births", agency_code="hosp-a", file_name="x.ndjson", status="done",
                        started_at=clock_mod.now(), finished_at=clock_mod.now())
        s.add(run)
        s.flush()
        notification_id = s.scalar(select(Notification.id).where(Notification.person_id == mother.id).limit(1))
        callers: dict[str, Caller] = {"anonymous": Caller(), "agency_owner": Caller(headers={"X-API-Key": owner_key}),
                                      "agency_other": Caller(headers={"X-API-Key": other_key})}
        for name, person in (("citizen_a", mother), ("citizen_b", citizen_b)):
            secret, row = auth.start_session(s, "citizen", person.id)
            spare, spare_row = auth.start_session(s, "citizen", person.id)
            callers[name] = Caller(sign(secret), row.csrf_token,
                                   {"Authorization": f"Bearer {issue_citizen_token(key, person.id)}"},
                                   (sign(spare), spare_row.csrf_token))
        for name, account in accounts.items():
            secret, row = auth.start_session(s, "staff", account.id)
            spare, spare_row = auth.start_session(s, "staff", account.id)
            callers[name] = Caller(sign(secret), row.csrf_token, spare=(sign(spare), spare_row.csrf_token))
        callers["officer"].headers["Authorization"] = f"Bearer {issue_officer_token(key, right.id)}"
        callers["officer_other"].headers["Authorization"] = f"Bearer {issue_officer_token(key, other.id)}"
        callers["operator"].headers["X-Operator-Key"] = operator_key(key)
        s.commit()
        values = {"code": code, "token": "not-a-real-token", "fmt": "csv", "provider": "sim", "template_id": "otp",
                  "person_id": str(mother.id), "notification_id": str(notification_id), "feed": "births",
                  "run_id": str(run.id), "service_id": "birth-registration", "lang": "en",
                  "life_event_id": str(ev.id), "attachment_id": "1"}  # none exists: the officer gets a 404
    return {"code": code, "callers": callers, "values": values}


FORM = {"version": "1", "score": "5", "reason": "lý do kiểm thử", "legal_reason": "Điều 16 Luật Hộ tịch",
        "documents": "", "field_name": "child_name", "value": "X", "note": "", "outcome": "passed", "finding": "",
        "pid": "048195777002", "code": "000000", "username": "nobody", "password": "wrong", "phone_last4": "0000",
        "first": "sms", "language": "vi"}
JSON_BODY = {"version": 1, "supplied": {}, "field": "child_name", "value": "X", "reason": "lý do kiểm thử",
             "values": {}, "legal_reason": "Điều 16 Luật Hộ tịch", "note": "", "documents": [], "life_event_ids": [],
             "outcome": "passed", "finding": "", "score": 5, "channels": ["sms"]}
SIGNIN = re.compile(r"/(staff/)?signin$")


def _send(client, method: str, template: str, world, caller: Caller):
    """Call one route as one caller, with the body and credentials the route needs."""
    path = re.sub(r"\{(\w+)\}", lambda m: world["values"][m.group(1)], template)
    if template.startswith("/api/v1/dossiers/{code}") and method == "GET":
        path += "?purpose=authorisation+matrix"  # officers must say why; without it the 422 comes first
    if template == "/static":
        path = "/static/app.css"
    if template == "/signout" and caller.spare:
        # the plain sign-out ends the session it is called with; "everywhere" comes after on the main one
        caller = dataclasses.replace(caller, cookie=caller.spare[0], csrf=caller.spare[1])
    client.cookies.clear()
    cookies = {"chudong_csrf": "double-submit-token"}
    if caller.cookie:
        cookies[COOKIE] = caller.cookie
    for name, value in cookies.items():
        client.cookies.set(name, value)
    headers = dict(caller.headers)
    is_api = template.startswith("/api/")
    if not is_api:
        headers["accept"] = "text/html"
    kwargs: dict = {}
    if method in ("POST", "PUT"):
        if template == "/api/v1/dossiers/{code}/attachments":
            kwargs = {"data": {"kind": "other"}, "files": {"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}}
        elif template == "/api/v1/feeds/{feed}":
            kwargs = {"content": b"not a bundle", "headers": {**headers, "content-type": "application/fhir+json"}}
        elif template == "/api/v1/dossiers/open":  # A's life event: already opened, so "skipped"
            kwargs = {"json": {"life_event_ids": [int(world["values"]["life_event_id"])]}}
        elif template == "/api/v1/dossiers/bulk-approve":
            kwargs = {"json": {"codes": [world["code"]]}}
        elif is_api:
            kwargs = {"json": JSON_BODY}
        else:
            data = {**FORM, "csrf_token": caller.csrf or "double-submit-token"}
            if template == "/officer/bulk-approve":
                data["codes"] = world["code"]
            kwargs = {"data": data}
    kwargs.setdefault("headers", headers)
    return client.request(method, path, follow_redirects=False, **kwargs)


def _verdict(expect: str, r) -> bool:
    to_signin = r.status_code in (302, 303, 307) and bool(SIGNIN.search(r.headers.get("location", "")))
    denied = r.status_code in (401, 403) or to_signin
    if r.status_code >= 500:
        return False
    return {
        "ok": not denied and r.status_code != 404,
        "seen": not denied,
        "deny": denied,
        "hidden": r.status_code == 404,
        "refuse": 400 <= r.status_code < 500 or to_signin,
        "any": True,
    }[expect]


def _order(key: tuple[str, str]) -> tuple[int, str, str]:
    # sign-out ends the callers' sessions: last; the plain one (on a spare session) before "everywhere"
    return ({"/signout": 1, "/signout/everywhere": 2}.get(key[1], 0), key[1], key[0])


def test_authorisation_matrix(client, world):
    failures, cells = [], 0
    for method, template in sorted(MATRIX, key=_order):
        expected = CLASSES[MATRIX[(method, template)]]
        # callers expected to be refused go first, so the allowed ones cannot change the state they see
        for name in sorted(CALLERS, key=lambda c: expected[c] in ("ok", "seen", "any")):
            r = _send(client, method, template, world, world["callers"][name])
            cells += 1
            where = f"{method} {template} as {name}: expected {expected[name]}, got {r.status_code}"
            if not _verdict(expected[name], r):
                failures.append(f"{where} {r.text[:160]!r}")
            elif name not in TRUSTED and (A_NAME in r.text or A_PID in r.text):
                failures.append(f"{where} — LEAKS A's personal data")
    assert cells == len(MATRIX) * len(CALLERS)
    assert not failures, f"{len(failures)} of {cells} cells wrong:\n" + "\n".join(failures)
