"""Plain builders for notification tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from chudong.notifications.config import NotifySettings
from chudong.registry.models import Person

_seq = itertools.count(1)

CONTEXT = {"person_name": "Nguyễn Thị Lan", "service_name": "Đăng ký khai sinh",
           "dossier_code": "H48.01-261102-0001", "confirm_url": "https://dvc.example.vn/x/AB12",
           "service_id": "birth-registration"}


def person(session: Session, *, phone: str | None = "+84912345678", email: str | None = None,
           zalo_id: str | None = None, **values: Any) -> Person:
    """Add a person with contact data (flushed)."""
    n = next(_seq)
    p = Person(full_name=values.pop("full_name", f"Nguyễn Văn {n}"), name_key=f"nguyen van {n}",
               birth_date=values.pop("birth_date", dt.date(1990, 1, 1)), sex=values.pop("sex", "F"),
               phone=phone, email=email, zalo_id=zalo_id, **values)
    session.add(p)
    session.flush()
    return p


def notify_settings(**values: Any) -> NotifySettings:
    """Dispatcher settings for tests: small backoff, the defaults otherwise."""
    base: dict[str, Any] = {"mode": "test", "backoff_base_seconds": 10, "max_attempts": 3, "lease_seconds": 30}
    base.update(values)
    return NotifySettings(**base)
