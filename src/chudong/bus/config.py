"""Event bus settings (prefix ``CHUDONG_BUS_``); the NATS URL is the shared ``CHUDONG_NATS_URL``.

Kept inside the feature so the shared ``Settings`` stays small. The stream name and the
subject prefix are settings so that tests, staging and a second province can share one
NATS server without their streams overlapping.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    """Every setting of the event bus."""

    model_config = SettingsConfigDict(env_prefix="CHUDONG_BUS_", env_file=".env", extra="ignore")

    stream: str = Field("CHUDONG", pattern=r"^[A-Za-z0-9_-]+$")
    subject_prefix: str = Field("chudong", pattern=r"^[a-z0-9_-]+$")
    # JetStream drops a second message with the same Nats-Msg-Id within this window. It must
    # exceed the longest time a relay may crash between PubAck and marking the event published.
    duplicate_window_seconds: float = 2 * 3600.0
    # How long the stream keeps events for subscribers that were away (0 = forever).
    max_age_days: float = 30.0
    publish_timeout_seconds: float = 2.0
    connect_timeout_seconds: float = 2.0
    batch_size: int = Field(500, ge=1)

    def subject_for(self, event_type: str) -> str:
        """Return the NATS subject an event of ``event_type`` is published on."""
        return f"{self.subject_prefix}.{event_type}"

    @property
    def all_subjects(self) -> str:
        """Return the wildcard subject covering every event."""
        return f"{self.subject_prefix}.>"
