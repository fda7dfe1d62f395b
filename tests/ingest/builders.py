"""Plain builders for ingestion tests: agencies, CSV bodies, valid persons."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from chudong.ingest.feeds import CSV_FEEDS
from chudong.registry.models import Agency
from chudong.registry.service import add_agency

DA_NANG_WARD = 20194  # Phường Hải Vân, a 2025 ward of Đà Nẵng


def agency(session: Session, code: str = "police-dn", kind: str = "population") -> Agency:
    """Add an agency (its key is returned by ``agency_with_key``)."""
    return add_agency(session, code, code, kind)[0]


def agency_with_key(session: Session, code: str, kind: str) -> tuple[Agency, str]:
    """Add an agency and return it with its API key."""
    return add_agency(session, code, code, kind)


def csv_body(feed: str, rows: list[dict[str, str]], optional: tuple[str, ...] = ()) -> bytes:
    """Return a UTF-8 CSV file of ``feed`` with ``rows`` (missing columns empty), plus ``optional`` columns."""
    cols = (*CSV_FEEDS[feed].columns, *optional)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
    return buf.getvalue().encode("utf-8")


def person_row(n: int = 1, **over: str) -> dict[str, str]:
    """Return a valid persons-feed row (female born 1990 in Đà Nẵng unless overridden)."""
    row = {
        "source_key": f"P{n}", "pid": f"048190{n:06d}", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-05-12",
        "sex": "F", "ethnicity": "Kinh", "ward_code": str(DA_NANG_WARD), "household_code": f"HH{n}",
        "phone": "0905 123 456", "email": "", "zalo_id": "", "death_date": "",
    }
    row.update(over)
    return row


def licence_row(n: int = 1, **over: str) -> dict[str, str]:
    """Return a valid licences-feed row (a driving licence of the person of ``person_row(n)``)."""
    row = {"source_key": f"L{n}", "kind": "driving_licence", "licence_class": "B2", "number": f"48000{n:07d}",
           "holder_pid": f"048190{n:06d}", "holder_name": "Nguyễn Thị Lan", "holder_birth_date": "1990-05-12",
           "holder_sex": "F", "holder_ward_code": "", "issued_on": "2020-01-15", "expires_on": "2030-01-15",
           "issuing_agency": "Sở GTVT Đà Nẵng"}
    row.update(over)
    return row
