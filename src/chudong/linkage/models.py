"""The review queue of uncertain links (probability between the review and auto thresholds)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime


class LinkReview(Base):
    """A candidate link of one agency record to one person, waiting for an officer's decision."""

    __tablename__ = "link_review"
    __table_args__ = (Index("ix_link_review_status_probability", "status", "probability"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # the record being linked: a source_record id, or the caller's own id (then NULL here)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), index=True, nullable=True)
    record_ref: Mapped[int] = mapped_column(BigInteger, index=True)  # LinkQuery.record_id as given
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # the candidate
    probability: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open / accepted / rejected
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
