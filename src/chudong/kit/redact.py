"""Find and hide personal identifiers in free text: personal ID numbers, phone numbers, e-mail addresses.

Two uses: ``redact`` replaces every identifier in a log line (defence in depth: code should
not log them in the first place), and the ``mask_*`` helpers shorten one known value for
display to someone who needs to recognise it but not to read it in full.
"""

from __future__ import annotations

import re

# 12 digits standing alone (CCCD); letters or digits around them make it part of another token
PID = re.compile(r"(?<![\w])\d{12}(?![\w])")
# +84 / 84 / 0 then 8-10 more digits, each optionally after one space, dot or dash (0905.123.456)
PHONE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .\-]?\d){8,10}(?![\w])")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def redact(text: str) -> str:
    """Return ``text`` with every personal ID number, phone number and e-mail address replaced."""
    if not any(c.isdigit() or c == "@" for c in text):
        return text
    text = EMAIL.sub("[email]", text)
    text = PID.sub("[pid]", text)
    return PHONE.sub("[phone]", text)


def mask_pid(pid: str | None) -> str | None:
    """Return an ID number with all but its last 3 digits hidden (``•••••••••123``)."""
    if not pid:
        return pid
    return "•" * max(0, len(pid) - 3) + pid[-3:]


def mask_phone(phone: str | None) -> str | None:
    """Return a phone number with all but its last 3 digits hidden."""
    return mask_pid(phone)


def mask_email(email: str | None) -> str | None:
    """Return an e-mail address as its first letter and its domain (``a•••@example.vn``)."""
    if not email or "@" not in email:
        return mask_pid(email)
    local, domain = email.split("@", 1)
    return local[:1] + "•••@" + domain


def mask_address(address: str | None) -> str | None:
    """Mask a notification address: ``person:12`` stays (an internal id), phones and e-mails are masked."""
    if not address:
        return address
    kind, sep, value = address.partition(":")
    if sep and kind in ("phone", "email", "zalo", "push"):
        return f"{kind}:{mask_address(value)}"
    if address.startswith("person:"):
        return address
    return mask_email(address) if "@" in address else mask_pid(address)
