"""Local provider simulators: real HTTP servers speaking the SMS gateway, ZNS and push APIs.

Used by the tests, the benchmark and the demo (``chudong notifications simulators``).
They validate credentials and numbers, implement the magic numbers, de-duplicate on the
idempotency key / tracking id (counting re-sends), can be told to fail or rate-limit,
and optionally post signed delivery receipts to chudong.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chudong.adapters.magic import PUSH_TEMPORARY, PUSH_UNREGISTERED, phone_behaviour
from chudong.adapters.sms.base import is_vn_mobile
from chudong.adapters.sms.http_gateway import MAX_BATCH
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.notifications.signing import HEADER, sign

log = logging.getLogger("chudong.simulators")


@dataclass
class Received:
    """One distinct message the simulator accepted."""

    message_id: str
    api: str
    to: str
    text: str
    first_seen: float
    sends: int = 1


@dataclass
class SimulatorState:
    """What one simulator received; thread-safe."""

    name: str
    api_key: str
    rate_per_second: float = 0.0  # 0 = unlimited
    messages: dict[str, Received] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer next, in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _window: tuple[float, int] = (0.0, 0)

    def accept(self, api: str, key: str, to: str, text: str) -> str:
        """Record a message (once per key) and return its message id."""
        with self.lock:
            got = self.messages.get(key)
            if got is not None:
                got.sends += 1
                return got.message_id
            mid = f"{self.name}-{next(self._seq)}"
            self.messages[key] = Received(mid, api, to, text, time.time())
            return mid

    def take_failure(self) -> int | None:
        """Return the next scripted failure status, if any."""
        with self.lock:
            return self.fail_next.pop(0) if self.fail_next else None

    def over_rate(self, n: int) -> bool:
        """Return True when ``n`` more messages would exceed the per-second rate."""
        if not self.rate_per_second:
            return False
        with self.lock:
            second, used = self._window
            now = int(time.time())
            if now != second:
                second, used = now, 0
            if used + n > self.rate_per_second:
                self._window = (second, used)
                return True
            self._window = (second, used + n)
            return False

    def stats(self, full: bool = False) -> dict[str, Any]:
        """Return counts (and with ``full`` every key with first-seen time and send count)."""
        with self.lock:
            body: dict[str, Any] = {
                "accepted": len(self.messages),
                "resends_absorbed": sum(r.sends - 1 for r in self.messages.values()),
            }
            if full:
                body["messages"] = {k: [r.first_seen, r.sends, r.to] for k, r in self.messages.items()}
            return body


class ReceiptSender:
    """Post signed delivery receipts to chudong from a background thread.

    ``providers`` maps the simulator's API ("sms", "zns") to the provider name chudong
    knows it by and that provider's receipt key.
    """

    def __init__(self, callback_url: str, providers: dict[str, tuple[str, bytes]], delay: float = 0.2) -> None:
        self.url, self.providers, self.delay = callback_url.rstrip("/"), providers, delay
        self._q: queue.Queue[tuple[str, str, str]] = queue.Queue()
        threading.Thread(target=self._run, daemon=True).start()

    def post(self, api: str, message_id: str, status: str) -> None:
        """Queue a receipt."""
        if api in self.providers:
            self._q.put((api, message_id, status))

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                api, mid, status = self._q.get()
                provider, key = self.providers[api]
                time.sleep(self.delay)
                body = json.dumps({"message_id": mid, "status": status}).encode()
                try:
                    client.post(f"{self.url}/api/v1/notifications/receipts/{provider}", content=body,
                                headers={HEADER: sign(key, body), "Content-Type": "application/json"})
                except httpx.HTTPError as exc:
                    log.warning("receipt for %s not posted: %s", mid, exc)


def _bearer(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def build_app(state: SimulatorState, receipts: ReceiptSender | None = None) -> Starlette:
    """Return the simulator's ASGI app (SMS gateway, ZNS and push APIs on one server)."""

    def receipt(api: str, mid: str, behaviour: str) -> None:
        if receipts is not None and behaviour != "no-receipt":
            receipts.post(api, mid, "failed" if behaviour == "receipt-failed" else "delivered")

    def sms_one(m: dict[str, Any]) -> dict[str, Any]:
        key = str(m.get("idempotency_key") or "")
        try:
            to = normalise_phone(str(m.get("to", "")))
        except InvalidPhone as exc:
            return {"idempotency_key": key, "error": {"code": "invalid_number", "message": str(exc)}}
        if not is_vn_mobile(to):
            return {"idempotency_key": key, "error": {"code": "invalid_number", "message": "not a mobile number"}}
        if not key:
            return {"idempotency_key": key, "error": {"code": "missing_idempotency_key", "message": "required"}}
        behaviour = phone_behaviour(to)
        if behaviour == "temporary":
            return {"idempotency_key": key, "error": {"code": "carrier_unavailable", "message": "try later"}}
        if behaviour == "permanent":
            return {"idempotency_key": key, "error": {"code": "unknown_subscriber", "message": "no such subscriber"}}
        mid = state.accept("sms", key, to, str(m.get("text", "")))
        receipt("sms", mid, behaviour)
        return {"idempotency_key": key, "message_id": mid}

    def gate(n: int) -> JSONResponse | None:
        failure = state.take_failure()
        if failure:
            return JSONResponse({"error": {"code": "scripted", "message": f"scripted {failure}"}}, failure)
        if state.over_rate(n):
            return JSONResponse({"error": {"code": "rate_limited", "message": "slow down"}}, 429,
                                headers={"Retry-After": "1"})
        return None

    async def sms_batch(request: Request) -> JSONResponse:
        if _bearer(request) != state.api_key:
            return JSONResponse({"error": {"code": "unauthorized", "message": "bad API key"}}, 401)
        try:
            messages = (await request.json())["messages"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": {"code": "bad_request", "message": "JSON {messages: [...]} expected"}}, 400)
        if not isinstance(messages, list) or len(messages) > MAX_BATCH:
            return JSONResponse({"error": {"code": "too_many_messages",
                                           "message": f"a list of at most {MAX_BATCH} messages per request"}}, 413)
        refused = gate(len(messages))
        if refused is not None:
            return refused
        return JSONResponse({"results": [sms_one(m) for m in messages]})

    async def zns(request: Request) -> JSONResponse:
        if request.headers.get("access_token") != state.api_key:
            return JSONResponse({"error": -124, "message": "Access token is invalid"})
        failure = state.take_failure()
        if failure:
            return JSONResponse({"error": -1, "message": "scripted failure"}, failure)
        if state.over_rate(1):
            return JSONResponse({"error": -32, "message": "Exceeded the limit of request per minute"})
        body = await request.json()
        phone = "+" + str(body.get("phone", "")).lstrip("+")
        try:
            phone = normalise_phone(phone)
        except InvalidPhone:
            return JSONResponse({"error": -108, "message": "Phone number is invalid"})
        behaviour = phone_behaviour(phone)
        if behaviour == "temporary":
            return JSONResponse({"error": -1, "message": "Unknown error, try again"})
        if behaviour == "permanent":
            return JSONResponse({"error": -118, "message": "Zalo account does not exist"})
        key = str(body.get("tracking_id") or "")
        mid = state.accept("zns", key, phone, json.dumps(body.get("template_data", {}), ensure_ascii=False))
        receipt("zns", mid, behaviour)
        return JSONResponse({"error": 0, "message": "Success", "data": {"msg_id": mid, "sent_time": str(int(time.time() * 1000))}})

    async def push(request: Request) -> JSONResponse:
        if _bearer(request) != state.api_key:
            return JSONResponse({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, 401)
        refused = gate(1)
        if refused is not None:
            status = "QUOTA_EXCEEDED" if refused.status_code == 429 else "UNAVAILABLE"
            return JSONResponse({"error": {"code": refused.status_code, "status": status}}, refused.status_code)
        msg = (await request.json()).get("message", {})
        token = str(msg.get("token", ""))
        if token == PUSH_UNREGISTERED:
            return JSONResponse({"error": {"code": 404, "status": "UNREGISTERED"}}, 404)
        if token == PUSH_TEMPORARY or not token:
            return JSONResponse({"error": {"code": 503, "status": "UNAVAILABLE"}}, 503)
        key = str(msg.get("data", {}).get("idempotency_key", ""))
        mid = state.accept("push", key, token, str(msg.get("notification", {}).get("body", "")))
        return JSONResponse({"name": f"projects/{request.path_params['project']}/messages/{mid}"})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats(full=request.query_params.get("full") == "1"))

    async def script_failures(request: Request) -> JSONResponse:
        body = await request.json()
        with state.lock:
            state.fail_next.extend([int(body.get("status", 503))] * int(body.get("count", 1)))
        return JSONResponse({"queued": len(state.fail_next)})

    return Starlette(routes=[
        Route("/v1/sms/batch", sms_batch, methods=["POST"]),
        Route("/message/template", zns, methods=["POST"]),
        Route("/v1/projects/{project}/messages:send", push, methods=["POST"]),
        Route("/_sim/stats", stats),
        Route("/_sim/fail", script_failures, methods=["POST"]),
    ])


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimulatorServer:
    """Run one simulator in a background thread (tests, demo); use as a context manager."""

    def __init__(self, name: str, api_key: str = "test-key", *, port: int = 0, rate_per_second: float = 0.0,
                 receipts: ReceiptSender | None = None) -> None:
        import uvicorn

        self.state = SimulatorState(name, api_key, rate_per_second)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(self.state, receipts), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"simulator {self.state.name} did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def main() -> None:
    """Serve one simulator in the foreground (used by the benchmark as a subprocess)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="chudong provider simulator (SMS gateway, ZNS, push)")
    parser.add_argument("--name", default="sim-sms")
    parser.add_argument("--port", type=int, default=9101)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--rate", type=float, default=0.0)
    args = parser.parse_args()
    state = SimulatorState(args.name, args.api_key, args.rate)
    uvicorn.run(build_app(state), host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
