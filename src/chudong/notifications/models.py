"""Outbox, delivery history, portal inbox, contact preferences and delivery receipts.

``person_id`` is a plain indexed column, not a foreign key: an outbox row must survive
person-index merges and must never be blocked (or lost) by a change in the registry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime
from chudong.privacy.types import SealedDocument, SealedValues

_ID = BigInteger().with_variant(Integer, "sqlite")

# Outbox states (GOV.UK Notify vocabulary where it fits).
QUEUED = "queued"  # waiting for (or being handled by) a dispatcher
SENT = "sent"  # the provider accepted it; waiting for a delivery receipt
DELIVERED = "delivered"
PERMANENT_FAILURE = "permanent-failure"  # every planned channel failed permanently
TECHNICAL_FAILURE = "technical-failure"  # retries exhausted: an operator must look
CANCELLED = "cancelled"  # opted out of a non-mandatory notice
FINAL_STATES = (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, CANCELLED)


class Notification(Base):
    """One message to one recipient for one (event, step): the outbox row."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("event_key", "step", "recipient_key"),
        Index("ix_notification_status_due_at", "status", "due_at"),
        Index("ix_notification_provider_message", "provider", "provider_message_id"),
        # the dispatcher's "sent, no receipt in time" query: only rows waiting to fall back have deliver_by
        Index("ix_notification_overdue", "deliver_by", postgresql_where=text("deliver_by IS NOT NULL"),
              sqlite_where=text("deliver_by IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(60))
    recipient_key: Mapped[str] = mapped_column(String(220))  # person:12 / phone:+84... / email:...
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    service: Mapped[str] = mapped_column(String(60), default="")
    template_id: Mapped[str] = mapped_column(String(60))
    template_version: Mapped[int] = mapped_column(Integer)
    template_hash: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=True)
    # "21:00-07:00" (Vietnam time) when SMS must wait for morning; None for urgent messages.
    quiet_hours: Mapped[str | None] = mapped_column(String(11), nullable=True)
    channels: Mapped[list] = mapped_column(JSON)  # the plan, in order
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(10))
    destinations: Mapped[dict] = mapped_column(SealedValues("contact"))  # channel -> address, each sealed
    rendered: Mapped[dict] = mapped_column(SealedDocument("message"))  # channel -> {subject, body, ...}, sealed
    body_purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # retention ran
    status: Mapped[str] = mapped_column(String(24), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # on the current channel
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    deliver_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    @property
    def idempotency_key(self) -> str:
        """Return the key sent to providers: stable across retries and workers for a channel."""
        return f"cd-{self.id}-{self.channel}"



class NotificationEvent(Base):
    """One step of a notification's history (sent, failed, retried, fell back, receipt...)."""

    __tablename__ = "notification_event"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str] = mapped_column(String(500), default="")


class InboxMessage(Base):
    """A message in a citizen's portal inbox (every notice to a person lands here too)."""

    __tablename__ = "inbox_message"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), unique=True, nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ContactPreference(Base):
    """How a person wants to be reached: channel order, language, quiet hours, opt-out."""

    __tablename__ = "contact_preference"

    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channels: Mapped[list] = mapped_column(JSON)  # e.g. ["zalo", "sms"]
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "21:00", Vietnam time
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    opt_out_optional: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_unaccented: Mapped[bool] = mapped_column(Boolean, default=False)
    push_tokens: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DeliveryReceipt(Base):
    """Every authenticated delivery receipt, kept even when it matches no message (yet)."""

    __tablename__ = "delivery_receipt"
    __table_args__ = (Index("ix_delivery_receipt_provider_message", "provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_message_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))  # delivered / failed
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), index=True, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))  # applied / duplicate / unknown / matched-later
    payload: Mapped[dict] = mapped_column(SealedDocument("receipt"))  # sealed at rest
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
