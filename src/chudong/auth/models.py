"""Tables for accounts, sessions, one-time codes and rate-limit buckets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime

ROLES = ("officer", "unit_head", "data_steward", "leader", "auditor", "operator")


class StaffAccount(Base):
    """A civil servant's account: role and jurisdiction (unit, agency, services)."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    agency: Mapped[str | None] = mapped_column(String(40), nullable=True)
    services: Mapped[list] = mapped_column(JSON, default=list)  # empty = every service of the agency
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebSession(Base):
    """A signed-in browser session; revocable (sign-out everywhere)."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the random cookie secret
    principal_kind: Mapped[str] = mapped_column(String(10))  # citizen / staff
    principal_id: Mapped[int] = mapped_column(BigInteger, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class OneTimeCode(Base):
    """A sign-in code sent to a citizen's registered contact: expiring, single-use, few attempts."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class RateLimitBucket(Base):
    """Hits of one key (e.g. sign-in by personal ID, lookup by IP) in one fixed window."""

    __tablename__ = "rate_limit_bucket"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
