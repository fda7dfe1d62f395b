"""Typed adapters to outside services, one package per capability, one file per vendor.

Every channel adapter returns a :class:`SendResult` per message instead of raising, so
the dispatcher can decide retry / next channel / failover from one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["accepted", "delivered", "temporary", "permanent", "receipt-failed"]


@dataclass(frozen=True)
class SendResult:
    """What a provider said about one message.

    ``accepted``: handed over, a delivery receipt may follow; ``delivered``: the
    provider confirmed delivery at once (push gateways, fakes); ``temporary``: try again
    later (rate limit, 5xx, timeout); ``permanent``: this address will never work on
    this channel; ``receipt-failed``: accepted, then reported undelivered (fakes only).
    ``provider_wide`` marks failures of the provider itself (5xx, 429, network), which
    justify failover to another provider of the same channel.
    """

    outcome: Outcome
    message_id: str | None = None
    error_code: str | None = None
    detail: str = ""
    provider_wide: bool = False
    retry_after: float | None = None


def temporary(code: str, detail: str, *, provider_wide: bool = True, retry_after: float | None = None) -> SendResult:
    """Return a temporary-failure result."""
    return SendResult("temporary", None, code, detail[:300], provider_wide, retry_after)


def permanent(code: str, detail: str) -> SendResult:
    """Return a permanent-failure result."""
    return SendResult("permanent", None, code, detail[:300])
