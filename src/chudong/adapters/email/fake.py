"""An in-process e-mail sender for test mode."""

from __future__ import annotations

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.email.base import EmailMessage, EmailProvider
from chudong.adapters.magic import EMAIL_PERMANENT, EMAIL_TEMPORARY


class FakeEmail(EmailProvider):
    """Record e-mails; the magic addresses fail as documented."""

    supports_idempotency = True

    def __init__(self, name: str = "fake-email") -> None:
        self.name = name
        self.rate_per_second = 1e9
        self.sent: dict[str, EmailMessage] = {}

    def send_batch(self, messages: list[EmailMessage]) -> list[SendResult]:
        """Record and answer each message."""
        out = []
        for m in messages:
            if m.to == EMAIL_TEMPORARY:
                out.append(temporary("smtp_451", "fake: magic address for temporary failure", provider_wide=False))
            elif m.to == EMAIL_PERMANENT:
                out.append(permanent("smtp_550", "fake: magic address for permanent failure"))
            else:
                self.sent.setdefault(m.idempotency_key, m)
                out.append(SendResult("delivered", m.idempotency_key))
        return out
