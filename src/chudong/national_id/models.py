"""A national sign-in started from a browser: its ``state`` is good for one answer, for a few minutes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime


class NationalSignInAttempt(Base):
    """One redirect to the identity provider; the state is stored hashed (the browser holds the value)."""

    __tablename__ = "national_signin_attempt"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
