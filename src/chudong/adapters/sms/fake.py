"""An in-process SMS provider for test mode: nothing leaves the machine; magic numbers decide."""

from __future__ import annotations

import itertools

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.magic import phone_behaviour
from chudong.adapters.sms.base import SmsMessage, SmsProvider


class FakeSms(SmsProvider):
    """Accept every message (de-duplicated by key) except the magic numbers' scripted failures."""

    supports_idempotency = True

    def __init__(self, name: str = "fake-sms", priority: int = 1) -> None:
        self.name = name
        self.priority = priority
        self.rate_per_second = 1e9
        self.sent: dict[str, SmsMessage] = {}
        self._ids: dict[str, str] = {}
        self._seq = itertools.count(1)

    def send_batch(self, messages: list[SmsMessage]) -> list[SendResult]:
        """Record and answer each message."""
        out = []
        for m in messages:
            behaviour = phone_behaviour(m.to)
            if behaviour == "temporary":
                out.append(temporary("carrier_unavailable", "fake: magic number for temporary failure", provider_wide=False))
                continue
            if behaviour == "permanent":
                out.append(permanent("invalid_number", "fake: magic number for permanent failure"))
                continue
            if m.idempotency_key not in self._ids:
                self._ids[m.idempotency_key] = f"{self.name}-{next(self._seq)}"
                self.sent[m.idempotency_key] = m
            mid = self._ids[m.idempotency_key]
            outcome = {"no-receipt": "accepted", "receipt-failed": "receipt-failed"}.get(behaviour, "delivered")
            out.append(SendResult(outcome, mid))  # type: ignore[arg-type]
        return out
