"""Life events detected by the rules: one row per (service, subject, occurrence), with why."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime
from chudong.privacy.types import SealedDocument


class LifeEvent(Base):
    """A life event that opens a proactive service for a subject; ``key`` makes detection idempotent."""

    __tablename__ = "life_event"
    __table_args__ = (Index("ix_life_event_service_id_detected_on", "service_id", "detected_on"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # "<service_id>:<subject_kind>:<subject_id>:<occurrence>"
    key: Mapped[str] = mapped_column(String(200), unique=True)
    service_id: Mapped[str] = mapped_column(String(60))
    subject_kind: Mapped[str] = mapped_column(String(20))  # person / household / building_plan
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True, nullable=True)
    building_plan_id: Mapped[int | None] = mapped_column(ForeignKey("building_plan.id"), nullable=True)
    vital_event_id: Mapped[int | None] = mapped_column(ForeignKey("vital_event.id"), nullable=True)
    occurrence: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[dt.date] = mapped_column(Date)
    detected_on: Mapped[dt.date] = mapped_column(Date)
    # {"rule", "text_vi", "text_en", "parameters": [...], "source_records": [...], "facts": {...}}
    reason: Mapped[dict] = mapped_column(SealedDocument("reason"))  # sealed at rest
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
