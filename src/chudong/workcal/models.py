"""The override table: days declared off or working by a decision ``holidays`` does not know."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base


class CalendarOverrideRow(Base):
    """One day off or working day decided ad hoc, with the decision that made it."""

    __tablename__ = "calendar_override"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # off / working
    reason: Mapped[str] = mapped_column(String(300), default="")
    legal_reference: Mapped[str] = mapped_column(String(200), default="")
