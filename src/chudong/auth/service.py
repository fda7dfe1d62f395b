"""Sign-in rules: staff password (+TOTP) with lock-out, citizen one-time codes, sessions.

Services flush, never commit. Failed attempts are recorded in the request's own
transaction, so sign-in routes report failure with a page (not an exception) and the
count is committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chudong.auth.models import ROLES, OneTimeCode, StaffAccount, WebSession
from chudong.auth.passwords import hash_password, verify_password, verify_totp
from chudong.kit import clock
from chudong.kit.errors import Conflict, Unprocessable

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
OTP_LIFETIME = dt.timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_staff(session: Session, *, username: str, full_name: str, role: str, password: str,
                 unit_code: str | None = None, agency: str | None = None,
                 services: list[str] | None = None, totp_secret: str | None = None) -> StaffAccount:
    """Create a staff account (the password is hashed with argon2id)."""
    if role not in ROLES:
        raise Unprocessable(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    if session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)):
        raise Conflict(f"username {username!r} already exists", field="username")
    account = StaffAccount(
        username=username, full_name=full_name, role=role, unit_code=unit_code, agency=agency,
        services=services or [], password_hash=hash_password(password), totp_secret=totp_secret,
        failed_attempts=0, active=True,
    )
    session.add(account)
    session.flush()
    return account


StaffOutcome = Literal["ok", "bad_credentials", "locked", "totp_required", "bad_totp"]


@dataclass(frozen=True)
class StaffSignIn:
    """The result of a staff sign-in attempt."""

    outcome: StaffOutcome
    account: StaffAccount | None = None


def authenticate_staff(session: Session, username: str, password: str, totp_code: str | None) -> StaffSignIn:
    """Check a staff member's credentials, counting failures and locking after too many."""
    now = clock.now()
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == username.strip()))
    if account is None or not account.active:
        # same work as a real check, so timing does not reveal which usernames exist
        verify_password("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ZmFrZWZha2VmYWtlZmFrZQ", password)
        return StaffSignIn("bad_credentials")
    if account.locked_until and account.locked_until > now:
        return StaffSignIn("locked", account)
    if not verify_password(account.password_hash, password):
        account.failed_attempts += 1
        if account.failed_attempts >= MAX_FAILED_ATTEMPTS:
            account.locked_until = now + LOCKOUT
            account.failed_attempts = 0
        session.flush()
        return StaffSignIn("bad_credentials")
    if account.totp_secret:
        if not totp_code:
            return StaffSignIn("totp_required", account)
        if not verify_totp(account.totp_secret, totp_code, now.timestamp()):
            account.failed_attempts += 1
            session.flush()
            return StaffSignIn("bad_totp", account)
    account.failed_attempts = 0
    account.locked_until = None
    session.flush()
    return StaffSignIn("ok", account)


def start_session(session: Session, kind: Literal["citizen", "staff"], principal_id: int) -> tuple[str, WebSession]:
    """Open a session; return the cookie secret (shown once) and the row (stores only its hash)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    row = WebSession(
        id=_sha256(secret), principal_kind=kind, principal_id=principal_id,
        csrf_token=secrets.token_urlsafe(24), created_at=now, expires_at=now + SESSION_LIFETIME, revoked=False,
    )
    session.add(row)
    session.flush()
    return secret, row


def session_id(secret: str) -> str:
    """Return the stored id of the session whose cookie holds ``secret`` (its hash)."""
    return _sha256(secret)


def resolve_session(session: Session, secret: str) -> WebSession | None:
    """Return the live session for a cookie secret, or None if unknown, expired or revoked."""
    row = session.get(WebSession, session_id(secret))
    if row is None or row.revoked or row.expires_at <= clock.now():
        return None
    return row


def end_session(session: Session, secret: str) -> None:
    """Sign out this session."""
    row = session.get(WebSession, _sha256(secret))
    if row is not None:
        row.revoked = True
        session.flush()


def end_all_sessions(session: Session, kind: str, principal_id: int) -> int:
    """Sign out everywhere: revoke every session of the principal; return how many."""
    return session.execute(
        update(WebSession)
        .where(WebSession.principal_kind == kind, WebSession.principal_id == principal_id, WebSession.revoked.is_(False))
        .values(revoked=True)
    ).rowcount


def check_csrf(row: WebSession, token: str | None) -> bool:
    """Return True when the form's token matches the session's."""
    return bool(token) and hmac.compare_digest(row.csrf_token, token or "")


def issue_code(session: Session, person_id: int) -> tuple[str, OneTimeCode]:
    """Create a 6-digit one-time code for a citizen; return it (to send) and its row."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = clock.now()
    # a new code replaces the older ones
    session.execute(update(OneTimeCode).where(OneTimeCode.person_id == person_id, OneTimeCode.used.is_(False)).values(used=True))
    row = OneTimeCode(person_id=person_id, code_hash=_sha256(f"{person_id}:{code}"), created_at=now,
                      expires_at=now + OTP_LIFETIME, attempts=0, used=False)
    session.add(row)
    session.flush()
    return code, row


CodeOutcome = Literal["ok", "wrong", "expired"]


def verify_code(session: Session, person_id: int, code: str) -> CodeOutcome:
    """Check a citizen's code: single use, expiring, at most a few attempts."""
    row = session.scalar(
        select(OneTimeCode).where(OneTimeCode.person_id == person_id, OneTimeCode.used.is_(False))
        .order_by(OneTimeCode.id.desc()).limit(1)
    )
    if row is None or row.expires_at <= clock.now() or row.attempts >= OTP_MAX_ATTEMPTS:
        return "expired"
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _sha256(f"{person_id}:{code.strip()}")):
        session.flush()
        return "wrong"
    row.used = True
    session.flush()
    return "ok"
