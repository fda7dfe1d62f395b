"""The dossier lifecycle as an explicit state machine; anything else is refused.

Dossier services: detected → offered → confirmed → in_processing ⇄ supplement_requested
→ approved / rejected → result_issued → closed (a citizen may decline an offer; an
unanswered offer expires; a verified dossier may be approved straight from confirmed
by post-check or bulk approval). Notice-only services: detected → offered → acted_on / expired.
"""

from __future__ import annotations

from chudong.kit.errors import Conflict

DOSSIER_TRANSITIONS: dict[str, dict[str, str]] = {
    # from status: {event kind: to status}
    "detected": {"offered": "offered", "expired": "expired"},
    "offered": {"confirmed": "confirmed", "declined": "declined", "expired": "expired"},
    "confirmed": {"claimed": "in_processing", "approved": "approved", "rejected": "rejected"},
    "in_processing": {
        "supplement_requested": "supplement_requested", "approved": "approved", "rejected": "rejected",
    },
    "supplement_requested": {"supplement_supplied": "in_processing", "rejected": "rejected"},
    "approved": {"result_issued": "result_issued"},
    "result_issued": {"closed": "closed"},
    "rejected": {"closed": "closed"},
}

NOTICE_TRANSITIONS: dict[str, dict[str, str]] = {
    "detected": {"offered": "offered", "expired": "expired"},
    "offered": {"acted_on": "acted_on", "expired": "expired"},
}

TERMINAL = frozenset({"closed", "declined", "expired", "acted_on"})
# statuses in which the settlement clock runs or is stopped (work is owed by the state)
IN_PROGRESS = frozenset({"confirmed", "in_processing", "supplement_requested"})
SETTLED = frozenset({"approved", "rejected", "result_issued", "closed"})
ALL_STATUSES = frozenset(
    {s for t in (DOSSIER_TRANSITIONS, NOTICE_TRANSITIONS) for s in t}
    | {to for t in (DOSSIER_TRANSITIONS, NOTICE_TRANSITIONS) for m in t.values() for to in m.values()}
)


class IllegalTransition(Conflict):
    """The dossier is not in a status from which this step is allowed."""

    code = "illegal_transition"


def table_for(kind: str) -> dict[str, dict[str, str]]:
    """Return the transition table of a dossier kind ("dossier" or "notice")."""
    if kind == "notice":
        return NOTICE_TRANSITIONS
    if kind == "dossier":
        return DOSSIER_TRANSITIONS
    raise ValueError(f"unknown dossier kind {kind!r}")


def allowed_events(kind: str, status: str) -> list[str]:
    """Return the event kinds allowed from ``status``, sorted."""
    return sorted(table_for(kind).get(status, {}))


def next_status(kind: str, status: str, event: str) -> str:
    """Return the status after ``event``, or raise IllegalTransition saying what is allowed."""
    target = table_for(kind).get(status, {}).get(event)
    if target is None:
        allowed = allowed_events(kind, status)
        hint = f"allowed now: {', '.join(allowed)}" if allowed else "no further step is possible"
        raise IllegalTransition(f"cannot {event.replace('_', ' ')} a {kind} that is {status.replace('_', ' ')} ({hint})")
    return target
