"""Sign-in pages: citizens by personal ID number + one-time code; staff by password (+TOTP)."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from chudong.auth import ratelimit
from chudong.auth import service as auth
from chudong.kit.errors import Unprocessable
from chudong.kit.pid import InvalidPid, validate_pid
from chudong.privacy.crypto import keyring
from chudong.portal.pages import page
from chudong.portal.validation import pid_message, too_many_message
from chudong.portal.security import (
    CsrfDep, OptionalUserDep, clear_session_cookie, cookie_secret, csrf_protect, redirect, set_session_cookie,
)
from chudong.registry.models import Person
from chudong.web.deps import SessionDep
from chudong.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

PID_LIMIT = (5, 900)  # codes per personal ID number per 15 minutes
IP_LIMIT = (30, 900)  # sign-in attempts per client address per 15 minutes


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Where a citizen may be sent after sign-in: their home or one of their dossiers (a notice's link).
_NEXT = re.compile(r"/me(/dossiers/[A-Za-z0-9.\-]{1,40})?")


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a citizen page this portal may redirect to after sign-in, else ``/me``."""
    return target if target and _NEXT.fullmatch(target) else "/me"


@router.get("/signin")
def citizen_signin_form(request: Request, user: OptionalUserDep, next: str | None = None) -> Response:
    """Show the citizen sign-in form (personal ID number); ``next`` is the page to land on afterwards."""
    if user is not None and user.role == "citizen":
        return redirect(safe_next(next))
    return page(request, "portal/signin.html", next=safe_next(next))


@router.get("/signin/no-contact")
def citizen_no_contact(request: Request) -> Response:
    """Explain how to register a phone, Zalo or e-mail address (the page is the same for everyone)."""
    return page(request, "portal/signin_no_contact.html")


@router.post("/signin", dependencies=[CsrfDep])
def citizen_signin_start(request: Request, session: SessionDep, pid: Annotated[str, Form(max_length=40)] = "",
                         next: Annotated[str, Form(max_length=80)] = "") -> Response:
    """Send a one-time code to the citizen's registered contact (same answer whether or not the ID exists)."""
    engine = request.app.state.engine
    pid = pid.strip().replace(" ", "")
    nxt = safe_next(next)
    try:
        validate_pid(pid, None, None)
    except InvalidPid:
        return page(request, "portal/signin.html", status_code=422, error=pid_message(pid), pid=pid, next=nxt)
    try:
        ratelimit.hit(engine, f"signin-ip:{_client(request)}", limit=IP_LIMIT[0], window_seconds=IP_LIMIT[1])
        # the bucket is named by the ID's search hash: the rate-limit table holds no ID numbers
        ratelimit.hit(engine, f"signin-pid:{keyring().blind('pid', pid)}", limit=PID_LIMIT[0],
                      window_seconds=PID_LIMIT[1])
    except ratelimit.RateLimited as exc:
        return page(request, "portal/signin.html", status_code=429, error=too_many_message(exc), pid=pid, next=nxt)
    person = session.scalar(select(Person).where(Person.pid == pid))
    if person is not None and person.death_date is None:
        from chudong.notifications.service import enqueue

        try:
            with session.begin_nested():
                code, row = auth.issue_code(session, person.id)
                enqueue(session, event_key=f"otp:{row.id}", step="otp", person_id=person.id, template_id="otp",
                        context={"code": code, "minutes": int(auth.OTP_LIFETIME.total_seconds() // 60)},
                        urgent=True, mandatory=True)
        except Unprocessable as exc:
            # no contact to send the code to: the page is the one everybody sees (it links to how to add one);
            # the operator's log names the reason, never the page
            log.info("sign-in code not sent: %s", exc.message)
    return page(request, "portal/signin_code.html", pid=pid, next=nxt)


@router.post("/signin/code", dependencies=[CsrfDep])
def citizen_signin_code(request: Request, session: SessionDep,
                        pid: Annotated[str, Form(max_length=40)] = "",
                        code: Annotated[str, Form(max_length=12)] = "",
                        next: Annotated[str, Form(max_length=80)] = "") -> Response:
    """Check the one-time code and open the citizen's session on the page they came for."""
    engine = request.app.state.engine
    nxt = safe_next(next)
    try:
        ratelimit.hit(engine, f"code-ip:{_client(request)}", limit=IP_LIMIT[0], window_seconds=IP_LIMIT[1])
    except ratelimit.RateLimited as exc:
        return page(request, "portal/signin_code.html", status_code=429, pid=pid, next=nxt, error=too_many_message(exc))
    person = session.scalar(select(Person).where(Person.pid == pid.strip()))
    outcome = auth.verify_code(session, person.id, code) if person is not None else "wrong"
    if outcome != "ok":
        message = _("The code has expired or was used; ask for a new one.") if outcome == "expired" else _("The code is not correct.")
        return page(request, "portal/signin_code.html", status_code=401, pid=pid, next=nxt, error=message)
    secret, _row = auth.start_session(session, "citizen", person.id)
    response = redirect(nxt)
    set_session_cookie(request, response, secret)
    return response


@router.get("/staff/signin")
def staff_signin_form(request: Request, user: OptionalUserDep) -> Response:
    """Show the staff sign-in form."""
    if user is not None and user.role != "citizen":
        return redirect(home_for(user.role))
    return page(request, "portal/staff_signin.html")


def home_for(role: str) -> str:
    """Return the landing page of a role."""
    return {"leader": "/leader", "data_steward": "/steward/quality", "auditor": "/leader",
            "operator": "/leader"}.get(role, "/officer/queue")


@router.post("/staff/signin", dependencies=[CsrfDep])
def staff_signin(request: Request, session: SessionDep,
                 username: Annotated[str, Form(max_length=60)] = "",
                 password: Annotated[str, Form(max_length=200)] = "",
                 totp: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Check a staff member's password (and TOTP code) and open a session."""
    try:
        ratelimit.hit(request.app.state.engine, f"staff-ip:{_client(request)}", limit=IP_LIMIT[0], window_seconds=IP_LIMIT[1])
    except ratelimit.RateLimited as exc:
        return page(request, "portal/staff_signin.html", status_code=429, username=username, error=too_many_message(exc))
    result = auth.authenticate_staff(session, username, password, totp or None)
    messages = {
        "bad_credentials": _("Wrong username or password."),
        "locked": _("This account is locked for 15 minutes after repeated failures."),
        "totp_required": _("Enter the 6-digit code from your authenticator app."),
        "bad_totp": _("The authenticator code is not correct."),
    }
    if result.outcome != "ok":
        return page(request, "portal/staff_signin.html", status_code=401, username=username,
                    error=messages[result.outcome], need_totp=result.outcome in ("totp_required", "bad_totp"))
    secret, _row = auth.start_session(session, "staff", result.account.id)
    response = redirect(home_for(result.account.role))
    set_session_cookie(request, response, secret)
    return response


@router.post("/signout")
async def signout(request: Request, session: SessionDep, user: OptionalUserDep) -> Response:
    """Sign out of this browser (a session already ended elsewhere just has its cookie cleared)."""
    if user is not None:
        await csrf_protect(request, session)  # only a live session can be ended by a forged form
        secret = cookie_secret(request)
        if secret:
            auth.end_session(session, secret)
    response = redirect("/")
    clear_session_cookie(response)
    return response


@router.post("/signout/everywhere", dependencies=[CsrfDep])
def signout_everywhere(request: Request, session: SessionDep, user: OptionalUserDep) -> Response:
    """Sign out of every browser and device."""
    if user is not None:
        kind = "citizen" if user.role == "citizen" else "staff"
        principal_id = user.principal.id if kind == "citizen" else user.account_id
        auth.end_all_sessions(session, kind, principal_id)
    response = redirect("/")
    clear_session_cookie(response)
    return response
