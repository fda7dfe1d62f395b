"""An in-process ZNS sender for test mode (magic numbers as for SMS)."""

from __future__ import annotations

import itertools

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.magic import phone_behaviour
from chudong.adapters.zalo.base import ZaloProvider, ZnsMessage


class FakeZalo(ZaloProvider):
    """Accept every message (de-duplicated by tracking id) except scripted failures."""

    supports_idempotency = True

    def __init__(self, name: str = "fake-zalo") -> None:
        self.name = name
        self.rate_per_second = 1e9
        self.sent: dict[str, ZnsMessage] = {}
        self._ids: dict[str, str] = {}
        self._seq = itertools.count(1)

    def send(self, message: ZnsMessage) -> SendResult:
        """Record and answer one message."""
        behaviour = phone_behaviour(message.phone)
        if behaviour == "temporary":
            return temporary("zns_-1", "fake: magic number for temporary failure", provider_wide=False)
        if behaviour == "permanent":
            return permanent("no_zalo_account", "fake: magic number for permanent failure")
        if message.tracking_id not in self._ids:
            self._ids[message.tracking_id] = f"{self.name}-{next(self._seq)}"
            self.sent[message.tracking_id] = message
        outcome = {"no-receipt": "accepted", "receipt-failed": "receipt-failed"}.get(behaviour, "delivered")
        return SendResult(outcome, self._ids[message.tracking_id])  # type: ignore[arg-type]
