"""App push over an FCM HTTP v1-style API.

``POST {url}/v1/projects/{project}/messages:send`` with ``Authorization: Bearer`` and
``{"message": {"token", "notification": {"title", "body"}, "android": {"collapse_key"},
"data": {"idempotency_key"}}}`` → 200 ``{"name": "projects/p/messages/<id>"}``; errors
as FCM: 404 ``UNREGISTERED`` / 400 ``INVALID_ARGUMENT`` permanent, 429
``QUOTA_EXCEEDED`` and 503 ``UNAVAILABLE`` temporary. FCM does not de-duplicate; the
collapse key makes a crash-time re-send replace, not add, the visible notification.
"""

from __future__ import annotations

import httpx

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.push.base import PushMessage, PushProvider


class FcmPush(PushProvider):
    """A client of the FCM-like push gateway."""

    supports_idempotency = False

    def __init__(self, url: str, project: str, token: str, *, name: str = "fcm",
                 rate_per_second: float = 500.0, timeout: float = 10.0) -> None:
        self.name = name
        self.rate_per_second = rate_per_second
        self._path = f"/v1/projects/{project}/messages:send"
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}"})

    def send(self, message: PushMessage) -> SendResult:
        """Send one push message and map the answer."""
        body = {"message": {"token": message.token,
                            "notification": {"title": message.title, "body": message.body},
                            "android": {"collapse_key": message.idempotency_key},
                            "data": {"idempotency_key": message.idempotency_key}}}
        try:
            resp = self._client.post(self._path, json=body)
        except httpx.HTTPError as exc:
            return temporary("network", f"{self.name}: {type(exc).__name__}: {exc}")
        if resp.status_code == 200:
            return SendResult("delivered", resp.json()["name"].rsplit("/", 1)[-1])
        try:
            status = resp.json().get("error", {}).get("status", "")
        except ValueError:
            status = ""
        text = f"{self.name}: {resp.status_code} {status}"
        if resp.status_code in (400, 404):
            return permanent(status or f"http_{resp.status_code}", text)
        if resp.status_code == 429:
            return temporary("QUOTA_EXCEEDED", text, retry_after=float(resp.headers.get("Retry-After", "1")))
        return temporary(status or f"http_{resp.status_code}", text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
