"""The caller of a request: a citizen, an officer, the system or the public.

Until the portals bring real sign-in, callers prove who they are with a bearer token
signed with the secret key (``chudong dossiers officer-token`` / ``citizen-token``).
Routes depend on ``PrincipalDep`` (or ``OfficerDep`` / ``CitizenDep``), so the portals
can replace ``current_principal`` without touching the routes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from chudong.kit.errors import Forbidden, Unauthorized
from chudong.web.deps import SessionDep

OFFICER_SALT = "chudong.officer-token"
CITIZEN_SALT = "chudong.citizen-token"


@dataclass(frozen=True)
class Principal:
    """Who acts: ``label`` is what timelines and audit logs record."""

    kind: Literal["citizen", "officer", "system", "public"]
    id: int | None = None
    label: str = "public"
    unit_code: str | None = None
    agency: str | None = None
    role: str | None = None

    @classmethod
    def system(cls, what: str = "system") -> Principal:
        """Return the principal of automatic steps (jobs, post-check)."""
        return cls(kind="system", label=what if what.startswith("system") else f"system:{what}")

    @classmethod
    def citizen(cls, person_id: int) -> Principal:
        """Return the principal of the citizen with this person id."""
        return cls(kind="citizen", id=person_id, label=f"citizen:{person_id}")


def _serializer(secret: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=salt)


def issue_officer_token(secret: str, officer_id: int) -> str:
    """Return a bearer token naming an officer (signed; verified against the officer table)."""
    return _serializer(secret, OFFICER_SALT).dumps({"o": officer_id})


def issue_citizen_token(secret: str, person_id: int) -> str:
    """Return a bearer token naming a citizen by person id (signed)."""
    return _serializer(secret, CITIZEN_SALT).dumps({"p": person_id})


def operator_key(secret_key: str) -> str:
    """Return the operator API key derived from the secret (sent as ``X-Operator-Key``)."""
    return hmac.new(secret_key.encode(), b"chudong-notifications-operator", hashlib.sha256).hexdigest()[:40]


def has_operator_key(request: Request) -> bool:
    """Return True if the request carries the operator key in ``X-Operator-Key``."""
    given = request.headers.get("x-operator-key", "")
    return bool(given) and hmac.compare_digest(given.encode(), operator_key(request.app.state.settings.secret_key).encode())


def _secrets(request: Request) -> list[str]:
    settings = request.app.state.settings
    return [settings.secret_key, *settings.old_secret_keys]


def _load(secrets: list[str], salt: str, token: str) -> dict | None:
    for secret in secrets:
        try:
            value = _serializer(secret, salt).loads(token)
        except BadSignature:
            continue
        if isinstance(value, dict):
            return value
    return None


def principal_from_token(session: Session, secrets: list[str], token: str) -> Principal:
    """Return the principal a bearer token names, or raise Unauthorized."""
    from chudong.dossiers.models import Officer

    officer = _load(secrets, OFFICER_SALT, token)
    if officer is not None and isinstance(officer.get("o"), int):
        row = session.get(Officer, officer["o"])
        if row is None or not row.active:
            raise Unauthorized("this officer token names no active officer")
        return Principal(kind="officer", id=row.id, label=f"officer:{row.username}",
                         unit_code=row.unit_code, agency=row.agency, role=row.role)
    citizen = _load(secrets, CITIZEN_SALT, token)
    if citizen is not None and isinstance(citizen.get("p"), int):
        return Principal.citizen(citizen["p"])
    raise Unauthorized("the bearer token is not valid")


def current_principal(request: Request, session: SessionDep) -> Principal:
    """Return the caller named by ``Authorization: Bearer <token>``, else the public."""
    header = request.headers.get("authorization", "")
    if not header:
        return Principal(kind="public")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use the header `Authorization: Bearer <token>`")
    return principal_from_token(session, _secrets(request), token.strip())


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_officer(principal: PrincipalDep) -> Principal:
    """Return the caller if an officer, else refuse (401 unsigned, 403 a citizen)."""
    if principal.kind == "public":
        raise Unauthorized("sign in as an officer (Authorization: Bearer <officer token>)")
    if principal.kind != "officer":
        raise Forbidden("only officers may do this")
    return principal


def require_citizen(principal: PrincipalDep) -> Principal:
    """Return the caller if a citizen, else refuse (401 unsigned, 403 an officer)."""
    if principal.kind == "public":
        raise Unauthorized("sign in as a citizen (Authorization: Bearer <citizen token>)")
    if principal.kind != "citizen":
        raise Forbidden("only the citizen concerned may do this")
    return principal


OfficerDep = Annotated[Principal, Depends(require_officer)]
CitizenDep = Annotated[Principal, Depends(require_citizen)]
