"""The providers in force: fakes in test mode, HTTP/SMTP clients in live mode; rate limits.

SMS providers are ordered by priority; a provider that fails as a whole (5xx, 429,
network, refused key) is skipped for ``COOLDOWN`` seconds and the next one takes its
traffic (failover), as GOV.UK Notify does between its SMS providers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

from chudong.adapters.email.base import EmailProvider
from chudong.adapters.email.fake import FakeEmail
from chudong.adapters.email.smtp import SmtpEmail
from chudong.adapters.push.base import PushProvider
from chudong.adapters.push.fake import FakePush
from chudong.adapters.push.fcm import FcmPush
from chudong.adapters.sms.base import SmsProvider
from chudong.adapters.sms.fake import FakeSms
from chudong.adapters.sms.http_gateway import HttpSmsGateway
from chudong.adapters.sms.kannel import kannel_from_settings
from chudong.adapters.zalo.base import ZaloProvider
from chudong.adapters.zalo.fake import FakeZalo
from chudong.adapters.zalo.zns import ZnsClient
from chudong.config import get_settings
from chudong.notifications.config import NotifySettings, get_notify_settings

COOLDOWN = 30.0
PARALLEL_SENDS = 16  # concurrent one-message calls (ZNS, push) per worker process


class RateLimiter:
    """A token bucket: ``acquire(n)`` waits until ``n`` sends fit under the per-second rate."""

    def __init__(self, rate_per_second: float) -> None:
        self.rate = rate_per_second
        self.tokens = rate_per_second
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        """Block until ``n`` tokens are available, then take them."""
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
                self.at = now
                if self.tokens >= n or self.tokens >= self.rate:
                    self.tokens -= n
                    return
                wait = (n - self.tokens) / self.rate
            time.sleep(min(wait, 1.0))


@dataclass
class Providers:
    """The senders per channel, with rate limiters and SMS failover state."""

    settings: NotifySettings
    sms: list[SmsProvider] = field(default_factory=list)
    zalo: ZaloProvider | None = None
    email: EmailProvider | None = None
    push: PushProvider | None = None
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    down_until: dict[str, float] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    def __post_init__(self) -> None:
        self.sms.sort(key=lambda p: p.priority)
        for p in [*self.sms, self.zalo, self.email, self.push]:
            if p is not None:
                self.limiters[p.name] = RateLimiter(p.rate_per_second)

    def sms_in_order(self) -> list[SmsProvider]:
        """Return SMS providers by priority, those cooling down after a failure last."""
        now = time.monotonic()
        up = [p for p in self.sms if self.down_until.get(p.name, 0) <= now]
        return up + [p for p in self.sms if p not in up]

    def mark_down(self, name: str) -> None:
        """Skip provider ``name`` for a while after it failed as a whole."""
        self.down_until[name] = time.monotonic() + COOLDOWN

    def throttle(self, name: str, n: int) -> None:
        """Wait for the provider's rate limit."""
        limiter = self.limiters.get(name)
        if limiter is not None:
            limiter.acquire(n)

    def pool(self) -> ThreadPoolExecutor:
        """Return the threads that overlap one-message provider calls (kept for the process's life)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PARALLEL_SENDS, thread_name_prefix="notify-send")
        return self._pool

    def close(self) -> None:
        """Close every client."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for p in [*self.sms, self.zalo, self.email, self.push]:
            if p is not None:
                p.close()


def fake_providers(settings: NotifySettings | None = None) -> Providers:
    """Return test-mode providers: in-process fakes, nothing leaves the machine."""
    return Providers(settings or get_notify_settings(), sms=[FakeSms("fake-sms")], zalo=FakeZalo(),
                     email=FakeEmail(), push=FakePush())


def build_providers(ns: NotifySettings) -> Providers:
    """Return the providers the settings describe (fakes in test mode)."""
    if ns.mode == "test":
        return fake_providers(ns)
    t = ns.http_timeout_seconds
    sms: list[SmsProvider] = [HttpSmsGateway(g.name, g.url, g.api_key, priority=g.priority,
                                             rate_per_second=g.rate_per_second, timeout=t) for g in ns.sms_gateways]
    sms += kannel_from_settings(get_settings())
    zalo = ZnsClient(ns.zalo_url, ns.zalo_access_token, rate_per_second=ns.zalo_rate_per_second, timeout=t) if ns.zalo_url else None
    email = SmtpEmail(ns.smtp_host, ns.smtp_port, ns.smtp_sender, starttls=ns.smtp_starttls, username=ns.smtp_username,
                      password=ns.smtp_password, timeout=t) if ns.smtp_host else None
    push = FcmPush(ns.push_url, ns.push_project, ns.push_token, timeout=t) if ns.push_url else None
    return Providers(ns, sms=sms, zalo=zalo, email=email, push=push)


@lru_cache(maxsize=1)
def get_providers() -> Providers:
    """Return the process-wide providers built from the environment."""
    return build_providers(get_notify_settings())
