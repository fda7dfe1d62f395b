"""Dossier codes citizens can quote: structured, unique and not guessable.

``<province 2 digits>-<service short>-<yymmdd>-<8 Crockford base32 chars>``, e.g.
``48-KS-261102-7MZQ4K0D``: 40 random bits, so codes of other dossiers cannot be enumerated.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERVICE_SHORT = {
    "birth-registration": "KS", "death-registration": "KT", "school-admission": "TS",
    "id-card-reissue": "CCCD", "driving-licence-renewal": "GPLX", "passport-expiry": "HC",
    "medical-licence-renewal": "CCHN", "tour-guide-card-renewal": "HDV",
    "veterinary-cert-renewal": "TY", "transport-licence-renewal": "VT",
    "poor-household-confirmation": "HN", "house-building-bundle": "XD",
}
CODE_RE = re.compile(r"^\d{2}-[A-Z0-9]{1,6}-\d{6}-[0-9A-HJKMNP-TV-Z]{8}$")


def service_short(service_id: str) -> str:
    """Return the short letters of a service in codes (initials for services not listed)."""
    known = SERVICE_SHORT.get(service_id)
    if known:
        return known
    return "".join(p[:1] for p in service_id.split("-") if p).upper()[:6] or "X"


# RFC 4648 base32 digit → Crockford digit (same value), so the standard encoder can be used
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD)


def new_code(province_code: int, service_id: str, day: dt.date) -> str:
    """Return a fresh random dossier code."""
    # 40 random bits = exactly 8 base32 digits, no padding
    tail = base64.b32encode(secrets.token_bytes(5)).decode("ascii").translate(_TO_CROCKFORD)
    return f"{province_code % 100:02d}-{service_short(service_id)}-{day:%y%m%d}-{tail}"


def normalise_code(text: str) -> str:
    """Return a quoted code in canonical form (upper case; Crockford O→0, I/L→1 in the tail)."""
    code = text.strip().upper()
    head, sep, tail = code.rpartition("-")
    if sep:
        code = head + "-" + tail.replace("O", "0").replace("I", "1").replace("L", "1")
    return code
