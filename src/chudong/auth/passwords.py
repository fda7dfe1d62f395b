"""Password hashing (argon2id) and TOTP second factor."""

from __future__ import annotations

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class WeakPassword(ValueError):
    """The password does not meet the policy."""


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` after checking the policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Return True when ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    """Return a new base32 TOTP secret."""
    return pyotp.random_base32()


def verify_totp(secret: str, code: str, at: float) -> bool:
    """Return True when ``code`` is valid for ``secret`` at unix time ``at`` (±1 step)."""
    return pyotp.TOTP(secret).verify(code.strip(), for_time=at, valid_window=1)
