"""Notification settings (prefix ``CHUDONG_NOTIFY_``): test or live mode, providers, timings.

Kept inside the feature so the shared ``Settings`` stays small. In ``test`` mode (the
default, like GOV.UK Notify's test keys) every provider is an in-process fake: nothing
leaves the machine, and the magic numbers of ``docs/notifications.md`` exercise every state.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmsGatewaySettings(BaseModel):
    """One HTTP SMS gateway; lower ``priority`` numbers are tried first."""

    name: str
    url: str
    api_key: str
    priority: int = 1
    rate_per_second: float = 5000.0


class NotifySettings(BaseSettings):
    """Every setting of the notifications feature."""

    model_config = SettingsConfigDict(env_prefix="CHUDONG_NOTIFY_", env_file=".env", extra="ignore")

    mode: Literal["test", "live"] = "test"
    # JSON list in the environment, e.g. [{"name":"sms-a","url":"http://...","api_key":"k","priority":1}]
    sms_gateways: list[SmsGatewaySettings] = Field(default_factory=list)
    zalo_url: str = ""
    zalo_access_token: str = ""
    zalo_rate_per_second: float = 500.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "thongbao@chudong.example"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    push_url: str = ""
    push_project: str = "chudong"
    push_token: str = ""
    # Dispatcher
    batch_size: int = 500
    lease_seconds: float = 30.0
    max_attempts: int = 5
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 600.0
    http_timeout_seconds: float = 10.0
    # Fall back to the next channel when no delivery receipt arrives in time.
    fallback_after_seconds: dict[str, float] = Field(
        default_factory=lambda: {"zalo": 900.0, "sms": 3600.0}
    )
    default_channels: list[str] = Field(default_factory=lambda: ["zalo", "sms", "email", "push"])
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"


@lru_cache
def get_notify_settings() -> NotifySettings:
    """Return the process-wide notification settings, reading the environment once."""
    return NotifySettings()
