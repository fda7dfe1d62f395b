"""The in-database event log: the source of truth the relay publishes from."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime


class DomainEvent(Base):
    """A domain event (``birth.registered``, ``dossier.settled``...); ``published_at`` is set after JetStream's PubAck."""

    __tablename__ = "domain_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True, nullable=True)
