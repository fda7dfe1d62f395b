"""National sign-in pages: send the citizen to the national identity provider, take its answer back.

The browser keeps this sign-in's state, nonce and PKCE verifier in a signed, short-lived cookie; the server
keeps the state's hash, usable once (service.consume_attempt). Every refusal is a page offering the
one-time-code sign-in, never a 500.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from chudong.auth import ratelimit
from chudong.auth import service as auth
from chudong.auth.oidc import NationalSignInError, OidcClient, ProviderUnavailable, client_for
from chudong.kit import clock
from chudong.national_id import service
from chudong.portal.pages import page
from chudong.portal.security import redirect, set_session_cookie
from chudong.portal.signin import IP_LIMIT
from chudong.web.deps import SessionDep
from chudong.web.i18n import gettext as _

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

START = "/signin/national"
CALLBACK = "/signin/national/callback"
COOKIE = "chudong_national_signin"
SALT = "chudong.national-signin"


def configured_client(request: Request) -> OidcClient | None:
    """Return the client of the configured national identity provider, or None when none is configured."""
    s = request.app.state.settings
    if not s.oidc_issuer:
        return None
    return client_for(s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret, s.base_url.rstrip("/") + CALLBACK,
                      s.oidc_scope, s.oidc_pid_claim)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt=SALT)


def _pending(request: Request) -> dict | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw, max_age=int(service.ATTEMPT_LIFETIME.total_seconds()))
    except BadSignature:  # includes an expired signature
        return None
    return value if isinstance(value, dict) else None


def _failed(request: Request, status_code: int, message: str) -> Response:
    response = page(request, "national_id/failed.html", status_code=status_code, error=message)
    response.delete_cookie(COOKIE, path=START)
    return response


@router.get(START)
def national_signin_start(request: Request, session: SessionDep) -> Response:
    """Send the browser to the national identity provider (authorization code with PKCE, state and nonce)."""
    client = configured_client(request)
    if client is None:
        return _failed(request, 404, _("Sign-in with the national electronic identity is not offered here yet."))
    where = request.client.host if request.client else "unknown"
    try:
        ratelimit.hit(request.app.state.engine, f"national-ip:{where}", limit=IP_LIMIT[0], window_seconds=IP_LIMIT[1])
        outgoing = client.begin()
    except ratelimit.RateLimited:
        return _failed(request, 429, _("Too many attempts. Please wait a few minutes."))
    except ProviderUnavailable as exc:
        log.warning("national sign-in: %s", exc.message)
        return _failed(request, 503, _("The national identity service is not answering right now. Please try "
                                       "again later, or sign in with a one-time code."))
    service.record_attempt(session, outgoing.state)
    response = RedirectResponse(outgoing.url, status_code=303)
    cookie = _serializer(request).dumps({"state": outgoing.state, "nonce": outgoing.nonce,
                                         "verifier": outgoing.code_verifier})
    # Lax: the provider sends the browser back with a top-level GET from its own site
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        max_age=int(service.ATTEMPT_LIFETIME.total_seconds()), path=START)
    return response


@router.get(CALLBACK)
def national_signin_callback(
    request: Request, session: SessionDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=100)] = "",
    iss: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """Check the provider's answer (state, issuer, code, ID token) and open the citizen's session."""
    client = configured_client(request)
    if client is None:
        return _failed(request, 404, _("Sign-in with the national electronic identity is not offered here yet."))
    pending = _pending(request)
    try:
        if pending is None or not hmac.compare_digest(str(pending.get("state", "")).encode(), state.encode()):
            raise NationalSignInError("state does not match this browser's sign-in")
        service.consume_attempt(session, state)
        if error:
            if error == "access_denied":
                return _failed(request, 401, _("You cancelled the national sign-in."))
            raise NationalSignInError(f"the provider answered {error}")
        client.check_response_issuer(iss)
        identity = client.finish(code=code, code_verifier=str(pending["verifier"]), nonce=str(pending["nonce"]),
                                 now=clock.now())
        person = service.citizen_for(session, identity)
    except NationalSignInError as exc:
        log.warning("national sign-in refused: %s", exc.reason)
        return _failed(request, 401, _("National sign-in could not be completed. Please try again, or sign in "
                                       "with a one-time code."))
    except service.NotInRegistry:
        return _failed(request, 403, _("The national identity service confirmed who you are, but your personal ID "
                                       "number is not in this province's population records."))
    except ProviderUnavailable as exc:
        log.warning("national sign-in: %s", exc.message)
        return _failed(request, 503, _("The national identity service is not answering right now. Please try "
                                       "again later, or sign in with a one-time code."))
    secret, _row = auth.start_session(session, "citizen", person.id)
    response = redirect("/me")
    set_session_cookie(request, response, secret)
    response.delete_cookie(COOKIE, path=START)
    return response
