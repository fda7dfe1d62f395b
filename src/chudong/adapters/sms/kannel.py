"""SMS through Kannel (the open-source SMS gateway, Debian package ``kannel``).

Each message is one ``GET {url}/cgi-bin/sendsms`` to Kannel's smsbox with the
``sendsms-user`` credentials; Kannel answers 202 ``0: Accepted for delivery`` (or
``3: Queued for later delivery``) and passes the message to the carrier's SMSC over
SMPP or the aggregator's protocol. Text that fits GSM 03.38 goes as 7-bit
(``coding=0``), anything else — Vietnamese with diacritics — as UCS-2 (``coding=2``,
``charset=UTF-8``); whether a citizen gets the unaccented variant is decided when the
message is rendered (their preference), not here.

Delivery reports: every message asks for ``dlr-mask`` 1+2+8+16 and gives Kannel a
``dlr-url`` naming our message id and an HMAC of it under the provider's receipt key;
Kannel fills in the report type (``%d``). ``parse_report`` checks the signature and
maps the type: 1 delivered, 2 / 16 failed, 4 / 8 progress (queued on, or accepted by,
the SMSC). Kannel has no idempotency key, so a re-sent message may arrive twice.
"""

from __future__ import annotations

import hashlib
import hmac
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.sms.base import SmsMessage, SmsProvider

DLR_MASK = 1 | 2 | 8 | 16
DELIVERED, FAILED, PROGRESS = "delivered", "failed", "progress"
_TYPES = {1: DELIVERED, 2: FAILED, 16: FAILED, 4: PROGRESS, 8: PROGRESS}


def dlr_signature(key: bytes, message_id: str) -> str:
    """Return the signature the ``dlr-url`` carries for ``message_id``."""
    return hmac.new(key, f"kannel-dlr:{message_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DeliveryReport:
    """A verified Kannel delivery report: our message id, Kannel's type and what it means."""

    message_id: str
    kannel_type: int
    status: str  # delivered | failed | progress


class ReportError(ValueError):
    """A delivery report that cannot be believed or read (the message says which part)."""


def parse_report(key: bytes, message_id: str | None, kannel_type: str | None, signature: str | None) -> DeliveryReport:
    """Check a report's signature and read its type; raise ReportError naming what is wrong."""
    if not message_id or len(message_id) > 120:  # nothing a signature could have been made over: unauthorised
        raise ReportError("sig: the message id is missing or longer than 120 characters, so no signature can match")
    # compared as bytes: compare_digest refuses str with non-ASCII characters (a forged report may carry any)
    if not signature or not hmac.compare_digest(dlr_signature(key, message_id).encode(),
                                                signature.encode("utf-8", "surrogatepass")):
        raise ReportError(f"sig: missing or wrong signature for message {message_id}")
    try:
        t = int(kannel_type or "")
    except ValueError:
        raise ReportError(f"type: {kannel_type!r} is not a Kannel report type (1, 2, 4, 8 or 16)") from None
    if t not in _TYPES:
        raise ReportError(f"type: {t} is not a Kannel report type (1, 2, 4, 8 or 16)")
    return DeliveryReport(message_id, t, _TYPES[t])


class KannelSms(SmsProvider):
    """A client of Kannel's ``sendsms`` HTTP interface."""

    supports_idempotency = False

    def __init__(self, name: str, url: str, username: str, password: str, *, sender: str, dlr_url: str,
                 receipt_key: bytes, smsc: str = "", priority: int = 1, rate_per_second: float = 100.0,
                 timeout: float = 10.0, parallel: int = 4) -> None:
        self.name, self.priority, self.rate_per_second = name, priority, rate_per_second
        self._auth = {"username": username, "password": password, "from": sender}
        if smsc:
            self._auth["smsc"] = smsc
        self._dlr_url, self._key = dlr_url, receipt_key
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                    limits=httpx.Limits(max_keepalive_connections=parallel))
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"kannel-{name}")

    def query(self, m: SmsMessage) -> dict[str, str]:
        """Return the ``sendsms`` parameters of one message."""
        from chudong.notifications.sms_length import sms_length

        ucs2 = sms_length(m.text).encoding == "UCS-2"
        report = f"{self._dlr_url}?" + urlencode({"id": m.idempotency_key, "sig": dlr_signature(self._key, m.idempotency_key)})
        return {**self._auth, "to": m.to, "text": m.text, "charset": "UTF-8", "coding": "2" if ucs2 else "0",
                "dlr-mask": str(DLR_MASK), "dlr-url": report + "&type=%d"}

    def send_batch(self, messages: list[SmsMessage]) -> list[SendResult]:
        """Send each message in its own request, up to ``parallel`` at a time; one result per message."""
        return list(self._pool.map(self._send, messages))

    def _send(self, m: SmsMessage) -> SendResult:
        try:
            resp = self._client.get("/cgi-bin/sendsms", params=self.query(m))
        except httpx.HTTPError as exc:
            return temporary("network", f"{self.name}: {type(exc).__name__}: {exc}")
        body = resp.text.strip()[:200]
        if resp.status_code in (200, 202) and body[:2] in ("0:", "3:"):
            return SendResult("accepted", m.idempotency_key)
        if resp.status_code == 403:  # our sendsms-user credentials: a configuration problem, fail over
            return temporary("unauthorized", f"{self.name}: Kannel refused the sendsms user: {body}")
        if resp.status_code == 400:  # Kannel refuses the message itself (receiver, text)
            return permanent("rejected", f"{self.name}: Kannel rejected the message: {body}")
        return temporary(f"http_{resp.status_code}", f"{self.name}: Kannel answered {resp.status_code}: {body}")

    def close(self) -> None:
        """Close the HTTP connections and the sending threads."""
        self._pool.shutdown()
        self._client.close()


def kannel_from_settings(settings) -> list[KannelSms]:
    """Return the Kannel provider ``CHUDONG_KANNEL_*`` describe (none when ``CHUDONG_KANNEL_URL`` is empty)."""
    from chudong.notifications.signing import receipt_key

    if not settings.kannel_url:
        return []
    base = (settings.kannel_dlr_base_url or settings.base_url).rstrip("/")
    return [KannelSms(settings.kannel_name, settings.kannel_url, settings.kannel_username, settings.kannel_password,
                      sender=settings.kannel_sender, smsc=settings.kannel_smsc,
                      dlr_url=f"{base}/api/v1/notifications/kannel/{settings.kannel_name}/dlr",
                      receipt_key=receipt_key(settings.secret_key, settings.kannel_name),
                      priority=settings.kannel_priority, rate_per_second=settings.kannel_rate_per_second)]
