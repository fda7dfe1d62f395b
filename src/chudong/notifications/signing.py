"""HMAC signatures of delivery receipts: each provider gets its own key derived from the secret."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Chudong-Signature"


def receipt_key(secret_key: str, provider: str) -> bytes:
    """Return the receipt key given to ``provider`` (derived, so rotating the secret rotates all)."""
    return hmac.new(secret_key.encode(), f"chudong-receipts:{provider}".encode(), hashlib.sha256).digest()


def sign(key: bytes, body: bytes) -> str:
    """Return the signature header value for ``body``."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(key: bytes, body: bytes, header: str | None) -> bool:
    """Return True when ``header`` is the signature of ``body`` under ``key`` (constant time)."""
    return bool(header) and hmac.compare_digest(sign(key, body), header or "")
