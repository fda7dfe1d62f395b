"""The SMS provider interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from chudong.adapters import SendResult


@dataclass(frozen=True)
class SmsMessage:
    """One SMS: E.164 number, text, and the key that makes a re-send harmless."""

    to: str
    text: str
    idempotency_key: str


class SmsProvider(ABC):
    """An SMS provider; lower ``priority`` is tried first, the next one on provider-wide failure."""

    name: str
    priority: int
    supports_idempotency: bool
    rate_per_second: float

    @abstractmethod
    def send_batch(self, messages: list[SmsMessage]) -> list[SendResult]:
        """Send messages; return one result per message, in order."""

    def close(self) -> None:
        """Release connections."""


def is_vn_mobile(e164: str) -> bool:
    """Return True for a normalised Vietnamese mobile number (can receive SMS)."""
    from chudong.kit.phones import is_mobile

    return is_mobile(e164)