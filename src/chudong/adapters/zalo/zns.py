"""Zalo ZNS template messages over HTTP.

``POST {url}/message/template`` with header ``access_token`` and JSON
``{"phone": "84…", "template_id", "template_data", "tracking_id"}`` → HTTP 200 with
``{"error": 0, "message": "Success", "data": {"msg_id", "sent_time"}}``, or a negative
``error`` code. Codes handled (as the simulator implements them, modelled on ZNS):
-108 invalid phone, -118 the phone has no Zalo account, -124 invalid access token,
-131 template not approved → permanent; -32 request limit exceeded, -1 / -500 server
error → temporary. ZNS does not promise de-duplication on ``tracking_id``; the
simulator does, and for the real service delivery is at-least-once (docs).
"""

from __future__ import annotations

import httpx

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.zalo.base import ZaloProvider, ZnsMessage

PERMANENT_CODES = {-108: "invalid_phone", -118: "no_zalo_account", -131: "template_not_approved"}
PROVIDER_WIDE_PERMANENT = {-124: "invalid_access_token"}


class ZnsClient(ZaloProvider):
    """A client of the ZNS API."""

    supports_idempotency = False

    def __init__(self, url: str, access_token: str, *, name: str = "zalo-zns",
                 rate_per_second: float = 500.0, timeout: float = 10.0) -> None:
        self.name = name
        self.rate_per_second = rate_per_second
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                    headers={"access_token": access_token})

    def send(self, message: ZnsMessage) -> SendResult:
        """Send one ZNS message and map the answer."""
        body = {"phone": message.phone.lstrip("+"), "template_id": message.template_id,
                "template_data": message.template_data, "tracking_id": message.tracking_id}
        try:
            resp = self._client.post("/message/template", json=body)
        except httpx.HTTPError as exc:
            return temporary("network", f"{self.name}: {type(exc).__name__}: {exc}")
        if resp.status_code >= 500:
            return temporary(f"http_{resp.status_code}", f"{self.name}: server error {resp.status_code}")
        try:
            data = resp.json()
            code = int(data.get("error", -1))
        except (ValueError, TypeError):
            return temporary("bad_response", f"{self.name}: unreadable answer ({resp.status_code})")
        if code == 0:
            return SendResult("accepted", str(data["data"]["msg_id"]))
        text = f"{self.name}: error {code}: {data.get('message', '')}"
        if code in PERMANENT_CODES:
            return permanent(PERMANENT_CODES[code], text)
        if code in PROVIDER_WIDE_PERMANENT:
            return temporary(PROVIDER_WIDE_PERMANENT[code], text)
        if code == -32:
            return temporary("rate_limited", text, retry_after=1.0)
        return temporary(f"zns_{code}", text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
