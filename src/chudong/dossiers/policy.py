"""What the dossier engine needs to know about a service, read from the rules catalogue.

Keeping this small, typed view separate means the engine never depends on the
catalogue's internals, and a linked procedure (which has no catalogue entry of its
own) gets a policy built from its parent service's ``linked`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from chudong.kit.errors import NotFound


@dataclass(frozen=True)
class DataItemSpec:
    """One field of a dossier and where its value comes from ("citizen" = asked)."""

    field: str
    source: str


@dataclass(frozen=True)
class LinkedSpec:
    """A linked procedure (liên thông) fanned out from a confirmed dossier."""

    service_id: str
    names: dict[str, str]
    agency: str
    settlement_working_days: int


@dataclass(frozen=True)
class Policy:
    """The rules of one service that drive its dossiers."""

    service_id: str
    kind: str  # dossier / notice
    names: dict[str, str]
    legal_basis: str
    agency: str
    data_items: tuple[DataItemSpec, ...] = ()
    settlement_working_days: int | None = None
    settlement_calendar_days: int | None = None
    supplement_window_working_days: int | None = None
    post_check_allowed: bool = False
    audit_share: float = 0.0
    linked: tuple[LinkedSpec, ...] = ()
    templates: dict[str, str] = field(default_factory=dict)
    routing: str = "residence_ward"


def _from_service_def(sd) -> Policy:  # sd: chudong.rules.catalogue.ServiceDef
    settlement = getattr(sd, "settlement", None)
    post_check = getattr(sd, "post_check", None)
    return Policy(
        service_id=sd.id,
        kind=sd.kind,
        names=dict(sd.names),
        legal_basis="; ".join(f"{b.document}, art. {b.article}" for b in (sd.legal_basis or ())),
        agency=sd.lead_agency,
        data_items=tuple(DataItemSpec(d.field, d.source) for d in (sd.data_items or ())),
        settlement_working_days=getattr(settlement, "working_days", None),
        settlement_calendar_days=getattr(settlement, "calendar_days", None),
        supplement_window_working_days=getattr(sd, "supplement_window_working_days", None),
        post_check_allowed=bool(getattr(post_check, "allowed", False)),
        audit_share=float(getattr(post_check, "audit_share", 0.0) or 0.0),
        linked=tuple(
            LinkedSpec(lp.service_id, dict(lp.names), lp.agency, int(lp.settlement_working_days))
            for lp in (getattr(sd, "linked", None) or ())
        ),
        templates=dict(getattr(sd, "templates", None) or {}),
        routing=getattr(sd, "routing", None) or "residence_ward",
    )


@lru_cache(maxsize=64)
def policy_for(service_id: str) -> Policy:
    """Return the policy of a catalogue service, or raise NotFound."""
    from chudong.rules.catalogue import get_catalogue

    return _from_service_def(get_catalogue().service(service_id))


def linked_policy(parent: Policy, spec: LinkedSpec) -> Policy:
    """Return the policy of a linked sub-dossier: its own agency and deadline, the parent's rules."""
    return Policy(
        service_id=spec.service_id,
        kind="dossier",
        names=spec.names,
        legal_basis=parent.legal_basis,
        agency=spec.agency,
        data_items=(),
        settlement_working_days=spec.settlement_working_days,
        supplement_window_working_days=parent.supplement_window_working_days,
        post_check_allowed=False,
        routing="any_competent_unit" if parent.routing == "any_competent_unit" else "residence_ward",
    )


def policy_of_dossier(service_id: str, parent_service_id: str | None) -> Policy:
    """Return the policy of a dossier, looking linked procedures up in their parent's service."""
    if parent_service_id is None:
        return policy_for(service_id)
    parent = policy_for(parent_service_id)
    for spec in parent.linked:
        if spec.service_id == service_id:
            return linked_policy(parent, spec)
    raise NotFound(f"{service_id!r} is not a linked procedure of {parent_service_id!r}")
