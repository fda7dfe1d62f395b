"""Audit tables: the hash-chained entries and the anchors that pin the chain's tail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime


class AuditEntry(Base):
    """One audited action; ``hash`` commits to every field and to the previous entry's hash."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_kind", "subject_id"),)

    # Assigned by the service (tail + 1), never by the database: the number is part of the hash.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # unique: the chain can never fork
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """A published checkpoint: the hash of entry ``seq`` as it was when the anchor was taken."""

    __tablename__ = "audit_anchor"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
