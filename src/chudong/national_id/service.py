"""National sign-in rules: each state answers once and briefly; the personal ID claim finds the citizen.

Services flush, never commit: the callback reports a refusal with a page, so the used state is committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from chudong.auth.oidc import NationalSignInError, VerifiedIdentity
from chudong.kit import clock
from chudong.kit.errors import ChudongError
from chudong.kit.pid import InvalidPid, validate_pid
from chudong.national_id.models import NationalSignInAttempt
from chudong.registry.models import Person

ATTEMPT_LIFETIME = dt.timedelta(minutes=10)
KEEP_USED_ATTEMPTS = dt.timedelta(days=1)


class NotInRegistry(ChudongError):
    """The provider vouched for a person the province's person index does not hold (or holds as deceased)."""

    status_code = 403
    code = "not_in_registry"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def record_attempt(session: Session, state: str) -> NationalSignInAttempt:
    """Remember a state just sent to the provider (and forget attempts older than a day)."""
    now = clock.now()
    session.execute(delete(NationalSignInAttempt).where(NationalSignInAttempt.expires_at < now - KEEP_USED_ATTEMPTS))
    attempt = NationalSignInAttempt(state_hash=_hash(state), created_at=now, expires_at=now + ATTEMPT_LIFETIME)
    session.add(attempt)
    session.flush()
    return attempt


def consume_attempt(session: Session, state: str) -> None:
    """Use a state once: refuse one never issued, already answered, or expired."""
    now = clock.now()
    h = _hash(state)
    used = session.execute(
        update(NationalSignInAttempt)
        .where(NationalSignInAttempt.state_hash == h, NationalSignInAttempt.used_at.is_(None),
               NationalSignInAttempt.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if used == 1:
        return
    attempt = session.get(NationalSignInAttempt, h)
    if attempt is None:
        raise NationalSignInError("state was never issued here")
    if attempt.used_at is not None:
        raise NationalSignInError("state was already used (replayed answer)")
    raise NationalSignInError("state expired")


def citizen_for(session: Session, identity: VerifiedIdentity) -> Person:
    """Return the living person whose personal ID number the provider asserted."""
    if not identity.pid:
        raise NationalSignInError("the ID token carries no personal ID number")
    pid = identity.pid.strip()
    try:
        validate_pid(pid, None, None)
    except InvalidPid as exc:
        raise NationalSignInError(f"the ID token's personal ID number is not valid: {exc}") from None
    person = session.scalar(select(Person).where(Person.pid == pid))  # compares the search hash
    if person is None or person.death_date is not None:
        raise NotInRegistry("the personal ID number is not in the province's person index")
    return person
