"""E-mail over SMTP (one connection per batch, STARTTLS and login when configured).

SMTP has no idempotency key: the Message-ID is derived from ours so a re-send after a
crash is recognisable, but delivery is at-least-once (see docs/notifications.md).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.email.base import EmailMessage, EmailProvider


class SmtpEmail(EmailProvider):
    """Send through an SMTP relay."""

    supports_idempotency = False

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False, username: str = "",
                 password: str = "", name: str = "smtp", rate_per_second: float = 200.0,
                 timeout: float = 10.0) -> None:
        self.name = name
        self.rate_per_second = rate_per_second
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def _mime(self, m: EmailMessage) -> MimeMessage:
        msg = MimeMessage()
        msg["From"] = self.sender
        msg["To"] = m.to
        msg["Subject"] = m.subject
        msg["Date"] = formatdate(localtime=False)
        domain = self.sender.rsplit("@", 1)[-1]
        msg["Message-ID"] = f"<{m.idempotency_key}@{domain}>"
        msg.set_content(m.body)
        return msg

    def send_batch(self, messages: list[EmailMessage]) -> list[SendResult]:
        """Send every message over one SMTP session."""
        if not messages:
            return []
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return [temporary("smtp_connect", f"{self.name}: cannot connect: {exc}")] * len(messages)
        out: list[SendResult] = []
        try:
            if self.starttls:
                conn.starttls()
            if self.username:
                conn.login(self.username, self.password)
            for m in messages:
                mime = self._mime(m)
                try:
                    conn.send_message(mime)
                    out.append(SendResult("accepted", mime["Message-ID"].strip("<>")))
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()))
                    out.append(_by_code(code, text))
                except smtplib.SMTPResponseException as exc:
                    out.append(_by_code(exc.smtp_code, exc.smtp_error))
        except (OSError, smtplib.SMTPException) as exc:
            out += [temporary("smtp_session", f"{self.name}: {exc}")] * (len(messages) - len(out))
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()
        return out


def _by_code(code: int, text: bytes | str) -> SendResult:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    # 5xx is a permanent refusal of this recipient; 4xx asks us to try again later.
    if 500 <= code < 600:
        return permanent(f"smtp_{code}", detail)
    return temporary(f"smtp_{code}", detail, provider_wide=False)
