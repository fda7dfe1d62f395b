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


# the steps and statuses as people read them (vi, en), for the refusal messages
STEP_WORDS: dict[str, tuple[str, str]] = {
    "offered": ("gửi đề nghị", "offer it"), "confirmed": ("xác nhận", "confirm it"),
    "declined": ("từ chối đề nghị", "decline it"), "expired": ("đóng do hết hạn", "let it expire"),
    "claimed": ("nhận xử lý", "take it for processing"), "approved": ("phê duyệt", "approve it"),
    "rejected": ("từ chối giải quyết", "reject it"), "supplement_requested": ("yêu cầu bổ sung", "ask for documents"),
    "supplement_supplied": ("nộp bổ sung", "supply documents"), "result_issued": ("trả kết quả", "issue the result"),
    "closed": ("đóng hồ sơ", "close it"), "acted_on": ("ghi nhận đã thực hiện", "mark it done"),
}
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "detected": ("mới phát hiện", "just detected"), "offered": ("đã gửi đề nghị", "offered"),
    "confirmed": ("đã xác nhận", "confirmed"), "in_processing": ("đang xử lý", "in processing"),
    "supplement_requested": ("chờ bổ sung", "waiting for documents"), "approved": ("đã phê duyệt", "approved"),
    "rejected": ("bị từ chối", "rejected"), "result_issued": ("đã trả kết quả", "result issued"),
    "closed": ("đã đóng", "closed"), "declined": ("công dân đã từ chối", "declined"),
    "expired": ("đã hết hạn", "expired"), "acted_on": ("đã thực hiện", "done"),
}


def _words(table: dict[str, tuple[str, str]], key: str) -> tuple[str, str]:
    return table.get(key, (key.replace("_", " "), key.replace("_", " ")))


def next_status(kind: str, status: str, event: str) -> str:
    """Return the status after ``event``, or raise IllegalTransition saying why in Vietnamese and English."""
    target = table_for(kind).get(status, {}).get(event)
    if target is None:
        if kind == "notice" and event in DOSSIER_TRANSITIONS["offered"] | DOSSIER_TRANSITIONS["confirmed"]:
            raise IllegalTransition("Hồ sơ này là thông báo, không cần xác nhận hay xử lý / "
                                    "This is a notice; nothing to confirm or process")
        allowed = allowed_events(kind, status)
        step_vi, step_en = _words(STEP_WORDS, event)
        st_vi, st_en = _words(STATUS_WORDS, status)
        hint_vi = ("có thể: " + ", ".join(_words(STEP_WORDS, a)[0] for a in allowed)) if allowed \
            else "không còn bước nào"
        hint_en = ("allowed now: " + ", ".join(_words(STEP_WORDS, a)[1] for a in allowed)) if allowed \
            else "no further step is possible"
        raise IllegalTransition(f"Không thể {step_vi}: hồ sơ {st_vi} ({hint_vi}) / "
                                f"Cannot {step_en}: the dossier is {st_en} ({hint_en})")
    return target
