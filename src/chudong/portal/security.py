"""Browser sign-in state: session cookie → Principal, role checks and CSRF on every form.

The cookie holds a random secret signed with the secret key; the server keeps only its
hash (``auth.models.WebSession``), so sessions can be revoked ("sign out everywhere").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from chudong.auth import service as auth
from chudong.auth.models import StaffAccount, WebSession
from chudong.identity.principal import Principal
from chudong.kit.errors import ChudongError
from chudong.web.deps import SessionDep

COOKIE = "chudong_session"
SALT = "chudong.web-session"
STAFF_ROLES_PROCESSING = ("officer", "unit_head")


class SignInRequired(ChudongError):
    """The page needs a signed-in user; the handler redirects to the right sign-in page."""

    status_code = 401
    code = "sign_in_required"

    def __init__(self, audience: str) -> None:
        super().__init__("sign in to continue")
        self.audience = audience


class CsrfFailed(ChudongError):
    """A form arrived without the session's CSRF token."""

    status_code = 403
    code = "csrf_failed"


@dataclass(frozen=True)
class WebUser:
    """The signed-in user of a browser session."""

    principal: Principal
    session_row: WebSession
    display_name: str
    role: str  # citizen / officer / unit_head / data_steward / leader / auditor / operator
    account_id: int | None = None


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt=SALT)


def set_session_cookie(request: Request, response, secret: str) -> None:
    """Put the signed session secret in an HttpOnly, SameSite=Lax cookie."""
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, _serializer(request).dumps(secret), httponly=True, samesite="lax",
                        secure=secure, max_age=int(auth.SESSION_LIFETIME.total_seconds()), path="/")


def clear_session_cookie(response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/")


def cookie_secret(request: Request) -> str | None:
    """Return the session secret from a correctly signed cookie, else None (tampered → None)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    settings = request.app.state.settings
    for key in (settings.secret_key, *settings.old_secret_keys):
        try:
            value = URLSafeSerializer(key, salt=SALT).loads(raw)
        except BadSignature:
            continue
        return value if isinstance(value, str) else None
    return None


def _signed_in(session: Session, secret: str) -> WebUser | None:
    """Return the user of a live session in one query: the session with its citizen's name, or its staff
    account and officer record (only the columns shown; nothing sealed is read)."""
    from chudong.dossiers.models import Officer
    from chudong.registry.models import Person

    row = session.execute(
        select(WebSession, Person.full_name.label("citizen_name"), StaffAccount.id.label("account_id"),
               StaffAccount.username, StaffAccount.full_name, StaffAccount.role, StaffAccount.unit_code,
               StaffAccount.agency, StaffAccount.active, Officer.id.label("officer_id"),
               Officer.unit_code.label("officer_unit"), Officer.agency.label("officer_agency"),
               Officer.role.label("officer_role"))
        .outerjoin(Person, and_(WebSession.principal_kind == "citizen", Person.id == WebSession.principal_id))
        .outerjoin(StaffAccount, and_(WebSession.principal_kind == "staff", StaffAccount.id == WebSession.principal_id))
        .outerjoin(Officer, and_(Officer.username == StaffAccount.username, Officer.active.is_(True)))
        .where(WebSession.id == auth.session_id(secret))
    ).first()
    # the session row is in the identity map now: the liveness rule reads it without a query
    if row is None or auth.resolve_session(session, secret) is None:
        return None
    web_session = row.WebSession
    if web_session.principal_kind == "citizen":
        if row.citizen_name is None:
            return None
        return WebUser(Principal.citizen(web_session.principal_id), web_session, row.citizen_name, "citizen")
    if row.account_id is None or not row.active:
        return None
    if row.role in STAFF_ROLES_PROCESSING and row.officer_id is not None:
        principal = Principal(kind="officer", id=row.officer_id, label=f"officer:{row.username}",
                              unit_code=row.officer_unit, agency=row.officer_agency, role=row.officer_role)
    else:
        principal = Principal(kind="officer", id=None, label=f"staff:{row.username}", unit_code=row.unit_code,
                              agency=row.agency, role=row.role)
    return WebUser(principal, web_session, row.full_name, row.role, row.account_id)


def load_user(request: Request, session: Session) -> WebUser | None:
    """Return the signed-in user of this request, or None."""
    cached = getattr(request.state, "web_user", False)
    if cached is not False:
        return cached
    secret = cookie_secret(request)
    user = _signed_in(session, secret) if secret else None
    request.state.web_user = user
    request.state.user = user
    request.state.csrf_token = user.session_row.csrf_token if user else ""
    return user


def optional_user(request: Request, session: SessionDep) -> WebUser | None:
    """Dependency: the signed-in user or None (public pages)."""
    return load_user(request, session)


def citizen_user(request: Request, session: SessionDep) -> WebUser:
    """Dependency: a signed-in citizen, else redirect to citizen sign-in."""
    user = load_user(request, session)
    if user is None or user.role != "citizen":
        raise SignInRequired("citizen")
    return user


def staff_user(*roles: str):
    """Return a dependency admitting signed-in staff with one of ``roles``."""

    def dependency(request: Request, session: SessionDep) -> WebUser:
        user = load_user(request, session)
        if user is None or user.role == "citizen":
            raise SignInRequired("staff")
        if roles and user.role not in roles:
            from chudong.kit.errors import Forbidden

            raise Forbidden("your role may not open this page")
        return user

    return dependency


async def csrf_protect(request: Request, session: SessionDep) -> None:
    """Dependency for every form POST: the form's csrf_token must match the session's."""
    form = await request.form()
    token = form.get("csrf_token")
    user = load_user(request, session)
    if user is not None:
        if not auth.check_csrf(user.session_row, token if isinstance(token, str) else None):
            raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")
        return
    # anonymous forms (sign-in, lookup): double-submit cookie
    cookie = request.cookies.get("chudong_csrf")
    if not cookie or not isinstance(token, str) or token != cookie:
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


CitizenDep = Annotated[WebUser, Depends(citizen_user)]
OptionalUserDep = Annotated[WebUser | None, Depends(optional_user)]
CsrfDep = Depends(csrf_protect)


def redirect(url: str) -> RedirectResponse:
    """Return a 303 redirect (after a POST)."""
    return RedirectResponse(url, status_code=303)
