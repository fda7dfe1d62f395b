"""Dossiers (hồ sơ), their timeline of domain events, units, officers, results and audits.

Person, household and life-event ids are stored without foreign keys on purpose: those
tables belong to other features whose migrations are separate heads until the lead
re-chains them; integrity is enforced by the service that reads them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chudong.db import Base, UTCDateTime
from chudong.privacy.types import SealedDocument

BigId = BigInteger().with_variant(Integer, "sqlite")
_OPEN_SQL = "status IN ('confirmed', 'in_processing', 'supplement_requested')"


class Unit(Base):
    """An office that receives or handles dossiers (commune civil status, police, ...)."""

    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(40), index=True)
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    # None = a province-level unit competent for the whole province
    ward_code: Mapped[int | None] = mapped_column(ForeignKey("ward.code"), index=True, nullable=True)
    # service ids this unit handles; ["*"] = every service of its agency
    services: Mapped[list] = mapped_column(JSON, default=list)
    capacity_weight: Mapped[float] = mapped_column(Float, default=1.0)


class Officer(Base):
    """A civil servant of a unit who processes dossiers (sign-in comes with the portals)."""

    __tablename__ = "officer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), index=True)
    agency: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(12), default="officer")  # officer / unit_head
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Dossier(Base):
    """One administrative case of one procedure for one subject, with pre-filled fields."""

    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_queue", "handling_unit_code", "status", "due_on"),
        # the officer queue page: a unit's open dossiers (IN_PROGRESS, written out) in deadline order
        Index("ix_dossier_open_queue", "handling_unit_code", "due_on",
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    service_id: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # dossier / notice
    title: Mapped[dict] = mapped_column(JSON)  # {"vi": ..., "en": ...}
    # a life event opens at most one top-level dossier; sub-dossiers have none
    life_event_id: Mapped[int | None] = mapped_column(BigId, unique=True, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True, nullable=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # person / household / building_plan / business
    person_id: Mapped[int | None] = mapped_column(BigId, index=True, nullable=True)
    household_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    building_plan_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    vital_event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    business_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    province_code: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agency: Mapped[str] = mapped_column(String(40))
    receiving_unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), nullable=True)
    handling_unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), nullable=True)
    assigned_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    event_count: Mapped[int] = mapped_column(Integer, default=0)  # last timeline seq
    # {name: {value, source: registry|citizen|missing, path, record_id, agency, received_at, verified}}
    fields: Mapped[dict] = mapped_column(SealedDocument("dossier"), default=dict)  # sealed at rest
    fields_total: Mapped[int] = mapped_column(Integer, default=0)
    fields_prefilled: Mapped[int] = mapped_column(Integer, default=0)
    prefill_share: Mapped[float] = mapped_column(Float, default=0.0)
    risk: Mapped[int] = mapped_column(Integer, default=0)
    linked_choice: Mapped[list | None] = mapped_column(JSON, nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    offer_expires_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    received_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # clock starts
    settlement_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    settlement_calendar_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supplement_window_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    supplement_due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, index=True, nullable=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    settled_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    settlement_class: Mapped[str | None] = mapped_column(String(10), nullable=True)  # early/on_time/late
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # read with the dossier by an officer's request (service.get_by_code(with_unit=True)); no SQL change
    handling_unit: Mapped[Unit | None] = relationship(foreign_keys=[handling_unit_code], viewonly=True)

    __mapper_args__ = {"version_id_col": version}


class DossierEvent(Base):
    """One entry of a dossier's timeline; transitions are the domain events others read."""

    __tablename__ = "dossier_event"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # no index of its own: the (dossier_id, seq) unique index serves look-ups by dossier (migration 0012)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    actor: Mapped[str] = mapped_column(String(80))  # system, citizen:<pid>, officer:<username>
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    data: Mapped[dict] = mapped_column(SealedDocument("dossier"), default=dict)  # sealed at rest


class DossierAttachment(Base):
    """A document attached to a dossier, checked against what it claims to be."""

    __tablename__ = "dossier_attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DataAccessLog(Base):
    """An officer's read of a dossier's personal data (the citizen's "who accessed my data")."""

    __tablename__ = "data_access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    person_id: Mapped[int | None] = mapped_column(BigId, index=True, nullable=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DossierResult(Base):
    """The result of a settled dossier, as structured data, verifiable through a QR token."""

    __tablename__ = "dossier_result"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(SealedDocument("dossier"))  # sealed at rest
    nonce: Mapped[str] = mapped_column(String(32))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ResultVerification(Base):
    """One public verification of a result's QR token, and what it answered."""

    __tablename__ = "result_verification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_result.id"), index=True, nullable=True)
    outcome: Mapped[str] = mapped_column(String(12))  # genuine / revoked / unknown
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PostAudit(Base):
    """A post-check (hậu kiểm) of an automatically approved dossier and its finding."""

    __tablename__ = "post_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), index=True, nullable=True)
    selected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending / passed / failed
    auditor_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"), nullable=True)
    finding: Mapped[str | None] = mapped_column(Text, nullable=True)
    audited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DossierRating(Base):
    """The citizen's rating (1–5) of a settled dossier, with an optional complaint."""

    __tablename__ = "dossier_rating"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    rated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
