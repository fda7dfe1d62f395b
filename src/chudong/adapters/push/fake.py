"""An in-process push gateway for test mode."""

from __future__ import annotations

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.magic import PUSH_TEMPORARY, PUSH_UNREGISTERED
from chudong.adapters.push.base import PushMessage, PushProvider


class FakePush(PushProvider):
    """Record push messages; the magic tokens fail as documented."""

    supports_idempotency = True

    def __init__(self, name: str = "fake-push") -> None:
        self.name = name
        self.rate_per_second = 1e9
        self.sent: dict[str, PushMessage] = {}

    def send(self, message: PushMessage) -> SendResult:
        """Record and answer one message."""
        if message.token == PUSH_TEMPORARY:
            return temporary("UNAVAILABLE", "fake: magic token for temporary failure", provider_wide=False)
        if message.token == PUSH_UNREGISTERED:
            return permanent("UNREGISTERED", "fake: magic token for permanent failure")
        self.sent.setdefault(message.idempotency_key, message)
        return SendResult("delivered", message.idempotency_key)
