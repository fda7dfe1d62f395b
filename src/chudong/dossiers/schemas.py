"""Request and response bodies of the dossier API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class FieldRead(BaseModel):
    """One dossier field with its value and where it came from."""

    name: str
    value: Any = None
    source: str  # registry / citizen / missing
    path: str | None = None
    agency: str | None = None
    record_id: int | None = None
    received_at: str | None = None
    verified: bool = False
    correction: dict | None = None


class DossierSummary(BaseModel):
    """A dossier as listed in a tracker or queue."""

    code: str
    service_id: str
    title: dict[str, str]
    kind: str
    status: str
    version: int
    agency: str
    handling_unit_code: str | None
    due_on: dt.date | None
    deadline_status: str | None
    settlement_class: str | None
    risk: int
    prefill_share: float


class EventRead(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    at: dt.datetime
    data: dict


class DossierRead(DossierSummary):
    """A dossier with its fields, sub-dossiers and allowed next steps."""

    subject_kind: str
    received_on: dt.date | None
    offer_expires_on: dt.date | None
    supplement_due_on: dt.date | None
    paused_working_days: int
    fields: list[FieldRead]
    fields_total: int
    fields_prefilled: int
    auto_approved: bool
    parent_code: str | None = None
    children: list[DossierSummary] = []
    allowed: list[str] = []
    result_number: str | None = None


class PublicStatus(BaseModel):
    """What anyone holding a dossier code may see (no personal data)."""

    code: str
    title: dict[str, str]
    status: str
    due_on: dt.date | None
    deadline_status: str | None
    settlement_class: str | None
    children: list[dict[str, Any]] = []


class Versioned(BaseModel):
    """A change made from the dossier version the caller read."""

    version: int = Field(description="The dossier version you read (optimistic concurrency).")


class ConfirmIn(Versioned):
    """Confirm with what only the citizen knows and the linked procedures wanted."""

    supplied: dict[str, str] = Field(default_factory=dict)
    linked: list[str] | None = Field(default=None, description="Linked procedures wanted; omit for all.")


class CorrectionIn(Versioned):
    """A correction of a pre-filled field."""

    field: str
    value: str
    note: str = ""


class DeclineIn(Versioned):
    """Decline the offer."""

    reason: str = ""


class SupplyIn(Versioned):
    """Answer a supplement request."""

    values: dict[str, str] = Field(default_factory=dict)
    note: str = ""


class SupplementRequestIn(Versioned):
    """Ask the citizen for more."""

    reason: str
    documents: list[str] = Field(default_factory=list)


class RejectIn(Versioned):
    """Reject with the legal reason."""

    legal_reason: str


class ApproveIn(Versioned):
    """Approve."""

    note: str = ""


class BulkApproveIn(BaseModel):
    """Approve several verified dossiers at once."""

    codes: list[str]


class OpenIn(BaseModel):
    """Open dossiers for detected life events."""

    # ids are 64-bit database keys: a larger number is a 422, not a driver overflow (500)
    life_event_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(max_length=50_000)


class OpenOut(BaseModel):
    """What the bulk open did."""

    opened: int
    skipped: int
    codes: list[str]


class PostAuditIn(BaseModel):
    """The finding of a post-audit."""

    outcome: str
    finding: str = ""


class RatingIn(BaseModel):
    """The citizen's rating of a settled dossier."""

    score: int
    comment: str = ""
    complaint: bool = False


class AttachmentRead(BaseModel):
    """An accepted attachment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str


class AccessRead(BaseModel):
    """One read of the citizen's data by an officer."""

    at: dt.datetime
    officer: str
    unit_code: str
    dossier_code: str
    purpose: str


class DeadlineRunOut(BaseModel):
    """What a pass of the deadline job did."""

    expired: int
    lapsed_supplements: int
    escalated: int
