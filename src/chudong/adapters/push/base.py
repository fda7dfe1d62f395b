"""The app push provider interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from chudong.adapters import SendResult


@dataclass(frozen=True)
class PushMessage:
    """One push notification to one device token; the key is the collapse key (one visible copy)."""

    token: str
    title: str
    body: str
    idempotency_key: str


class PushProvider(ABC):
    """A push gateway."""

    name: str
    rate_per_second: float
    supports_idempotency: bool

    @abstractmethod
    def send(self, message: PushMessage) -> SendResult:
        """Send one push message."""

    def close(self) -> None:
        """Release connections."""
