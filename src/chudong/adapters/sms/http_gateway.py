"""chudong's HTTP SMS gateway API (documented in docs/notifications.md).

``POST {url}/v1/sms/batch`` with ``Authorization: Bearer <key>`` and
``{"messages": [{"to", "text", "idempotency_key"}]}`` → 200
``{"results": [{"idempotency_key", "message_id"} | {"idempotency_key", "error": {"code", "message"}}]}``.
Whole-request errors: 401 bad key, 413 more than ``MAX_BATCH`` messages, 429 rate limited
(``Retry-After``), 5xx gateway down. Per-message codes: ``invalid_number``, ``blocked`` and
``unknown_subscriber`` are permanent, ``carrier_unavailable`` temporary. A repeated
``idempotency_key`` returns the first message id and sends nothing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from chudong.adapters import SendResult, permanent, temporary
from chudong.adapters.sms.base import SmsMessage, SmsProvider

PERMANENT_CODES = {"invalid_number", "blocked", "unknown_subscriber"}
MAX_BATCH = 1000  # messages the gateway API takes in one request


class HttpSmsGateway(SmsProvider):
    """A client of the SMS gateway API."""

    supports_idempotency = True

    def __init__(self, name: str, url: str, api_key: str, *, priority: int = 1,
                 rate_per_second: float = 5000.0, timeout: float = 10.0, chunk: int = 500, parallel: int = 4) -> None:
        self.name = name
        self.priority = priority
        self.rate_per_second = rate_per_second
        self.chunk = max(1, min(chunk, MAX_BATCH))
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                    headers={"Authorization": f"Bearer {api_key}"},
                                    limits=httpx.Limits(max_keepalive_connections=parallel))
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"sms-{name}")

    def send_batch(self, messages: list[SmsMessage]) -> list[SendResult]:
        """Send messages in requests of ``chunk`` messages, up to ``parallel`` at a time on kept-alive connections."""
        if len(messages) <= self.chunk:
            return self._send(messages)
        parts = [messages[i:i + self.chunk] for i in range(0, len(messages), self.chunk)]
        return [r for part in self._pool.map(self._send, parts) for r in part]

    def _send(self, messages: list[SmsMessage]) -> list[SendResult]:
        if not messages:
            return []
        payload = {"messages": [{"to": m.to, "text": m.text, "idempotency_key": m.idempotency_key} for m in messages]}
        try:
            resp = self._client.post("/v1/sms/batch", json=payload)
        except httpx.HTTPError as exc:
            return [temporary("network", f"{self.name}: {type(exc).__name__}: {exc}")] * len(messages)
        if resp.status_code == 429:
            after = float(resp.headers.get("Retry-After", "1") or 1)
            return [temporary("rate_limited", f"{self.name}: 429 rate limited", retry_after=after)] * len(messages)
        if resp.status_code >= 500:
            return [temporary(f"http_{resp.status_code}", f"{self.name}: gateway error {resp.status_code}")] * len(messages)
        if resp.status_code in (401, 403):
            # A wrong key is our configuration problem, not the citizen's number: retry (and fail over).
            return [temporary("unauthorized", f"{self.name}: gateway refused our API key ({resp.status_code})")] * len(messages)
        if resp.status_code != 200:
            return [temporary(f"http_{resp.status_code}", f"{self.name}: unexpected {resp.status_code}: {resp.text[:200]}")] * len(messages)
        by_key = {r.get("idempotency_key"): r for r in resp.json().get("results", [])}
        out: list[SendResult] = []
        for m in messages:
            r = by_key.get(m.idempotency_key)
            if r is None:
                out.append(temporary("missing_result", f"{self.name}: no result for {m.idempotency_key}"))
            elif "error" in r:
                code = str(r["error"].get("code", "error"))
                text = f"{self.name}: {code}: {r['error'].get('message', '')}"
                out.append(permanent(code, text) if code in PERMANENT_CODES
                           else temporary(code, text, provider_wide=False))
            else:
                out.append(SendResult("accepted", str(r["message_id"])))
        return out

    def close(self) -> None:
        """Close the HTTP connections and the sending threads."""
        self._pool.shutdown()
        self._client.close()
