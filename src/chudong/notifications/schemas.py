"""API shapes of the notifications feature.

Operators handle deliveries, not people: addresses are masked and any ID number, phone or
e-mail quoted in an error or event detail is redacted (data minimisation, docs/SECURITY.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chudong.kit.redact import mask_address, redact

Redacted = Annotated[str, AfterValidator(redact)]
MaskedAddress = Annotated[str, AfterValidator(lambda v: mask_address(v) or "")]


class EventRead(BaseModel):
    """One step of a notification's history."""

    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    kind: str
    channel: str | None
    provider: str | None
    detail: Redacted


class NotificationRead(BaseModel):
    """A notification with its full history (operator view)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_key: str
    step: str
    recipient_key: MaskedAddress  # person:12 as is; phone:/email: masked
    person_id: int | None
    service: str
    template_id: str
    template_version: int
    template_hash: str
    language: str
    urgent: bool
    mandatory: bool
    channels: list[str]
    channel: str
    status: str
    attempts: int
    provider: str | None
    provider_message_id: str | None
    last_error: Redacted | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    history: list[EventRead] = Field(default_factory=list)


class StatsRowRead(BaseModel):
    """Counts for one day, channel and service."""

    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    channel: str
    service: str
    total: int
    sent: int
    delivered: int
    failed: int
    pending: int


class InboxMessageRead(BaseModel):
    """A portal inbox message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: Redacted
    body: Redacted
    language: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class PreferencesWrite(BaseModel):
    """A person's contact preferences."""

    channels: list[str] = Field(description="Channels in order of preference: zalo, sms, email, push.")
    language: str | None = Field(None, pattern="^(vi|en)$")
    quiet_start: str | None = Field(None, pattern=r"^\d\d:\d\d$")
    quiet_end: str | None = Field(None, pattern=r"^\d\d:\d\d$")
    opt_out_optional: bool = False
    sms_unaccented: bool = False
    push_tokens: list[str] | None = None


class PreviewRead(BaseModel):
    """A template rendered with its sample values."""

    template_id: str
    version: int
    channel: str
    language: str
    subject: str
    body: str
    sms_encoding: str | None = None
    sms_segments: int | None = None


class ReceiptResult(BaseModel):
    """What a delivery receipt did."""

    outcome: str
    notification_id: int | None
    status: str | None
