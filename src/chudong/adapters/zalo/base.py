"""The Zalo ZNS provider interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from chudong.adapters import SendResult


@dataclass(frozen=True)
class ZnsMessage:
    """One ZNS template message: phone (E.164), approved template id, its parameters, our tracking id."""

    phone: str
    template_id: str
    template_data: dict[str, str]
    tracking_id: str


class ZaloProvider(ABC):
    """A ZNS sender (one message per call, as the ZNS API is)."""

    name: str
    rate_per_second: float
    supports_idempotency: bool

    @abstractmethod
    def send(self, message: ZnsMessage) -> SendResult:
        """Send one template message."""

    def close(self) -> None:
        """Release connections."""
