"""Magic addresses of test mode and the simulators (like GOV.UK Notify's test numbers).

They let a test or the demo drive every state without a real provider.
"""

from __future__ import annotations

TEMPORARY_FAILURE = "+84900000001"  # provider error every time → retries → technical-failure
PERMANENT_FAILURE = "+84900000002"  # number not reachable / invalid → next channel
NO_RECEIPT = "+84900000003"  # accepted, no delivery receipt ever → fallback when overdue
RECEIPT_FAILED = "+84900000004"  # accepted, then the receipt says undelivered → next channel

EMAIL_TEMPORARY = "temp-fail@simulator.chudong.invalid"
EMAIL_PERMANENT = "perm-fail@simulator.chudong.invalid"
PUSH_UNREGISTERED = "unregistered-token"
PUSH_TEMPORARY = "temp-fail-token"


def phone_behaviour(phone: str) -> str:
    """Return what a simulated provider does with ``phone`` (E.164 or 84... form)."""
    e164 = phone if phone.startswith("+") else "+" + phone
    return {
        TEMPORARY_FAILURE: "temporary",
        PERMANENT_FAILURE: "permanent",
        NO_RECEIPT: "no-receipt",
        RECEIPT_FAILED: "receipt-failed",
    }.get(e164, "ok")
