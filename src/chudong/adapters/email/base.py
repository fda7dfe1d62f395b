"""The e-mail provider interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from chudong.adapters import SendResult


@dataclass(frozen=True)
class EmailMessage:
    """One plain-text e-mail; the key becomes its Message-ID so re-sends are recognisable."""

    to: str
    subject: str
    body: str
    idempotency_key: str


class EmailProvider(ABC):
    """An e-mail sender."""

    name: str
    rate_per_second: float
    supports_idempotency: bool

    @abstractmethod
    def send_batch(self, messages: list[EmailMessage]) -> list[SendResult]:
        """Send messages; return one result per message, in order."""

    def close(self) -> None:
        """Release connections."""
