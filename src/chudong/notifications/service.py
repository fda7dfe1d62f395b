"""Notification rules: enqueue into the outbox, preferences, the portal inbox, operator statistics.

Guarantee (docs/notifications.md): one outbox row per (event, step, recipient), written
in the caller's transaction. Sending, fallback and delivery receipts are in
:mod:`chudong.notifications.dispatch`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, column, func, insert, select, values
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chudong.adapters.sms.base import is_vn_mobile
from chudong.kit import clock
from chudong.kit.bulk import Precompiled, copy_rows, is_postgres, one_of
from chudong.kit.clock import VN_TZ
from chudong.kit.errors import ChudongError, NotFound, Unprocessable
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.notifications.config import NotifySettings, get_notify_settings
from chudong.notifications.models import (
    CANCELLED,
    DELIVERED,
    PERMANENT_FAILURE,
    QUEUED,
    SENT,
    TECHNICAL_FAILURE,
    ContactPreference,
    InboxMessage,
    Notification,
    NotificationEvent,
)
from chudong.notifications.templates import MessageTemplate, get_template

log = logging.getLogger("chudong.notifications")

EXTERNAL_CHANNELS = ("zalo", "sms", "email", "push")
INBOX_PROVIDER = "portal-inbox"


@dataclass(frozen=True)
class Contact:
    """Contact data for a recipient, overriding (or standing in for) the person index."""

    phone: str | None = None
    email: str | None = None
    zalo_id: str | None = None
    push_tokens: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class EnqueueRequest:
    """One call of :func:`enqueue`, for :func:`enqueue_many`."""

    event_key: str
    step: str
    person_id: int | None
    template_id: str
    context: dict[str, Any]
    urgent: bool = False
    mandatory: bool = True
    contact_override: Contact | None = None


def _recipient_key(req: EnqueueRequest) -> str:
    if req.person_id is not None:
        return f"person:{req.person_id}"
    c = req.contact_override
    if c is None:
        raise Unprocessable("a notification needs a person_id or a contact_override", field="person_id")
    if c.phone:
        return f"phone:{_phone_or_none(c.phone) or c.phone}"
    if c.email:
        return f"email:{c.email.strip().lower()}"
    raise Unprocessable("contact_override has neither phone nor e-mail", field="contact_override")


def _phone_or_none(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalise_phone(text)
    except InvalidPhone:
        return None


def enqueue(
    session: Session,
    *,
    event_key: str,
    step: str,
    person_id: int | None,
    template_id: str,
    context: dict[str, Any],
    urgent: bool = False,
    mandatory: bool = True,
    contact_override: Contact | None = None,
) -> list[Notification]:
    """Write the notification for (event, step, recipient) into the outbox of the caller's transaction.

    Idempotent: calling again with the same (event_key, step, recipient) returns the
    existing row and writes nothing. Never commits.
    """
    req = EnqueueRequest(event_key, step, person_id, template_id, context, urgent, mandatory, contact_override)
    ids = enqueue_many(session, [req])
    return list(session.scalars(select(Notification).where(Notification.id.in_(ids))))


Triple = tuple[str, str, str]  # (event_key, step, recipient_key): one outbox row each
_Built = tuple[dict[str, Any], dict[str, Any] | None, tuple[str, str] | None]  # row, inbox row, quality issue
# Up to this many new rows go in as one INSERT … ON CONFLICT DO NOTHING RETURNING (one round
# trip). Larger batches on PostgreSQL go by COPY: a multi-row VALUES statement of thousands of
# rows costs the server more to plan than COPY costs to load them.
COPY_FROM = 50


def enqueue_many(session: Session, requests: list[EnqueueRequest],
                 settings: NotifySettings | None = None) -> list[int]:
    """Enqueue several notifications with a few statements; return their ids in request order. Never commits.

    Idempotent per (event, step, recipient): a key already in the outbox, or enqueued by a
    concurrent transaction, keeps its row and its id is returned. A small batch costs three
    round trips (contacts with preferences, outbox rows, inbox rows); a large one on
    PostgreSQL a few more, whatever its size.
    """
    ns = settings or get_notify_settings()
    if not requests:
        return []
    keyed = [(req, _recipient_key(req)) for req in requests]
    contacts = _contacts(session, {r.person_id for r, _ in keyed if r.person_id is not None})
    now = clock.now()
    fresh: dict[Triple, _Built] = {}
    failed: list[tuple[Triple, ChudongError]] = []
    for req, rkey in keyed:
        triple = (req.event_key, req.step, rkey)
        if triple in fresh:
            continue
        person, pref = contacts[req.person_id] if req.person_id is not None else (None, None)
        try:
            fresh[triple] = _build(get_template(req.template_id), req, rkey, person, pref, ns, now)
        except ChudongError as exc:
            failed.append((triple, exc))
    ids: dict[Triple, int] = {}
    if failed:
        # a notice that cannot be built now may be in the outbox already (a retried step): that is no error
        ids = _existing(session, {t for t, _ in failed})
        for triple, exc in failed:
            if triple not in ids:
                raise exc
    inserted = _insert(session, fresh) if fresh else {}
    ids.update(inserted)
    if len(inserted) < len(fresh):  # keys already in the outbox: return their rows' ids
        ids.update(_existing(session, {t for t in fresh if t not in inserted}))
    quality = {row["person_id"]: issue for t, (row, _, issue) in fresh.items() if issue and t in inserted}
    if quality:
        _record_quality_issues(session, quality, now)
    return [ids[(r.event_key, r.step, k)] for r, k in keyed]


@dataclass(frozen=True)
class _PersonContact:
    id: int
    phone: str | None
    email: str | None
    zalo_id: str | None


@dataclass(frozen=True)
class _Preference:
    """The part of a person's ContactPreference that plans a notice."""

    channels: list[str]
    language: str | None
    quiet_start: str | None
    quiet_end: str | None
    opt_out_optional: bool
    sms_unaccented: bool
    push_tokens: list[str]


def _contacts(session: Session, person_ids: set[int]) -> dict[int, tuple[_PersonContact, _Preference | None]]:
    """Return each person's contact data and preferences (one query), or raise NotFound."""
    from chudong.registry.models import Person

    if not person_ids:
        return {}
    p = ContactPreference
    # ORM columns, not text SQL: the person index's contact columns are decrypted by their types
    q = (select(Person.id, Person.phone, Person.email, Person.zalo_id, p.person_id.label("pref_of"), p.channels,
                p.language, p.quiet_start, p.quiet_end, p.opt_out_optional, p.sms_unaccented, p.push_tokens)
         .outerjoin(p, p.person_id == Person.id).where(one_of(session, Person.id, sorted(person_ids))))
    found = {
        r.id: (_PersonContact(r.id, r.phone, r.email, r.zalo_id),
               None if r.pref_of is None else _Preference(r.channels, r.language, r.quiet_start, r.quiet_end,
                                                           r.opt_out_optional, r.sms_unaccented, r.push_tokens))
        for r in session.execute(q)
    }
    missing = person_ids - set(found)
    if missing:
        raise NotFound(f"no person with id {sorted(missing)[0]}", field="person_id")
    return found


def _existing(session: Session, triples: set[Triple]) -> dict[Triple, int]:
    found: dict[Triple, int] = {}
    cols = (Notification.event_key, Notification.step, Notification.recipient_key, Notification.id)
    # Filter on event_key only (the unique index's first column) and match the triple here:
    # a 3-column tuple IN costs three times the bind parameters for no selectivity gain.
    keys = sorted({t[0] for t in triples})
    for ek, st, rk, nid in session.execute(select(*cols).where(one_of(session, Notification.event_key, keys))):
        if (ek, st, rk) in triples:
            found[(ek, st, rk)] = nid
    return found


def _insert(session: Session, fresh: dict[Triple, _Built]) -> dict[Triple, int]:
    """Write the new rows and their inbox messages; return the ids of the rows written.

    A key already in the outbox, or written meanwhile by a concurrent transaction (whose
    commit the insert waits for), is skipped, never duplicated.
    """
    postgres = is_postgres(session)
    if postgres and len(fresh) >= COPY_FROM:
        written = _copy_new(session, fresh)
        if written is not None:
            return written
    elif postgres:
        return _insert_with_inbox(session, fresh)
    table = Notification.__table__
    dialect_insert = pg_insert if postgres else sqlite_insert
    stmt = (dialect_insert(table).on_conflict_do_nothing(index_elements=[table.c[k] for k in _KEY])
            .returning(table.c.id, *(table.c[k] for k in _KEY)))
    conn = session.connection()
    written = {(ek, st, rk): nid for nid, ek, st, rk in conn.execute(stmt, [row for row, _, _ in fresh.values()])}
    _insert_inbox(session, [(inbox, written[t]) for t, (_, inbox, _) in fresh.items()
                            if inbox is not None and t in written])
    return written


_KEY = ("event_key", "step", "recipient_key")
_INBOX_VALUES = ("person_id", "subject", "body", "language", "created_at")


def _insert_with_inbox(session: Session, fresh: dict[Triple, _Built]) -> dict[Triple, int]:
    """Write a small batch and its inbox messages in one statement (PostgreSQL: one round trip).

    An inbox message goes in only with the outbox row it belongs to (a key already queued
    gets neither). Values are bound through the column types, like any Core insert.
    """
    rows = [row for row, _, _ in fresh.values()]
    boxed = [(t, box) for t, (_, box, _) in fresh.items() if box is not None]
    columns = tuple(rows[0])
    params = {f"r{i}_{c}": row[c] for i, row in enumerate(rows) for c in columns}
    for j, (t, box) in enumerate(boxed):
        params.update({f"b{j}_{k}": v for k, v in zip(_KEY, t)})
        params.update({f"b{j}_{n}": box[n] for n in _INBOX_VALUES})
    stmt = _small_batch_statement(session.get_bind().dialect, columns, len(rows), len(boxed))
    return {(ek, st, rk): nid for nid, ek, st, rk in stmt.execute(session, params)}


@lru_cache(maxsize=256)
def _small_batch_statement(dialect: Any, columns: tuple[str, ...], rows: int, boxes: int) -> Precompiled:
    """Return, compiled once per shape, ``WITH new AS (INSERT … ON CONFLICT DO NOTHING RETURNING …),
    box AS (INSERT INTO inbox_message … FROM (VALUES …) JOIN new) SELECT … FROM new``."""
    table, inbox = Notification.__table__, InboxMessage.__table__
    new = (pg_insert(table)
           .values([{c: bindparam(f"r{i}_{c}", type_=table.c[c].type) for c in columns} for i in range(rows)])
           .on_conflict_do_nothing(index_elements=[table.c[k] for k in _KEY])
           .returning(table.c.id, *(table.c[k] for k in _KEY)).cte("new"))
    stmt = select(new.c.id, *(new.c[k] for k in _KEY))
    if boxes:
        types = {**{k: table.c[k].type for k in _KEY}, **{n: inbox.c[n].type for n in _INBOX_VALUES}}
        data = values(*(column(k, t) for k, t in types.items()), name="box_values").data(
            [tuple(bindparam(f"b{j}_{k}", type_=t) for k, t in types.items()) for j in range(boxes)])
        found = select(new.c.id, *(data.c[n] for n in _INBOX_VALUES)).join(
            new, and_(*(new.c[k] == data.c[k] for k in _KEY)))
        stmt = stmt.add_cte(insert(inbox).from_select(["notification_id", *_INBOX_VALUES], found).cte("box"))
    return Precompiled.of(stmt, dialect)


def _copy_new(session: Session, fresh: dict[Triple, _Built]) -> dict[Triple, int] | None:
    """Write a large batch by COPY with ids taken from the sequence (PostgreSQL).

    Returns None, with nothing written, when a concurrent transaction wrote one of the keys
    between the look-up and the COPY: the caller then inserts with ON CONFLICT DO NOTHING.
    """
    table = Notification.__table__
    existing = _existing(session, set(fresh))
    todo = [(t, built) for t, built in fresh.items() if t not in existing]
    if not todo:
        return {}
    new_ids = list(session.scalars(select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
                                   .select_from(func.generate_series(1, len(todo)))))
    try:
        with session.begin_nested():
            copy_rows(session, table, [{**row, "id": nid} for (_, (row, _, _)), nid in zip(todo, new_ids, strict=True)])
    except IntegrityError:
        log.info("a concurrent enqueue wrote some of %d keys first; inserting row by row", len(todo))
        return None
    _insert_inbox(session, [(inbox, nid) for (_, (_, inbox, _)), nid in zip(todo, new_ids) if inbox is not None])
    return {t: nid for (t, _), nid in zip(todo, new_ids)}


def _insert_inbox(session: Session, inboxes: list[tuple[dict[str, Any], int]]) -> None:
    rows = [{**inbox, "notification_id": nid} for inbox, nid in inboxes]
    if len(rows) >= COPY_FROM and is_postgres(session):
        copy_rows(session, InboxMessage.__table__, rows)
    elif rows:
        session.connection().execute(insert(InboxMessage.__table__), rows)


def _build(tpl: MessageTemplate, req: EnqueueRequest, rkey: str, person: _PersonContact | None,
           pref: _Preference | None, ns: NotifySettings, now: dt.datetime) -> _Built:
    override = req.contact_override or Contact()
    raw_phone = override.phone or (person.phone if person is not None else None)
    phone = _phone_or_none(raw_phone)
    email = override.email or (person.email if person is not None else None)
    zalo_id = override.zalo_id or (person.zalo_id if person is not None else None)
    tokens = list(override.push_tokens) or list(pref.push_tokens if pref else [])
    language = override.language or (pref.language if pref and pref.language else None) or "vi"
    mobile = phone if phone and is_vn_mobile(phone) else None
    available: dict[str, str] = {}
    if mobile and zalo_id:
        available["zalo"] = mobile  # ZNS addresses the Zalo account by its phone number
    if mobile:
        available["sms"] = mobile
    if email and "@" in email:
        available["email"] = email.strip()
    if tokens:
        available["push"] = tokens[-1]
    order = list(pref.channels) if pref and pref.channels else list(ns.default_channels)
    plan = [c for c in order if c in available and c in tpl.channels]
    issue: tuple[str, str] | None = None
    if person is not None and not mobile:
        issue = ("phone", f"phone {raw_phone!r} is not a Vietnamese mobile number" if raw_phone
                 else "no phone number: notices cannot go by SMS or Zalo")
    has_inbox = person is not None and "inbox" in tpl.channels
    if not plan:
        if not has_inbox:
            raise Unprocessable(f"no usable contact for {rkey} on the channels of template {tpl.id!r} "
                                f"({', '.join(c for c in tpl.channels if c != 'inbox')})", field="contact")
        plan = ["inbox"]
    rendered: dict[str, Any] = {}
    unaccented = bool(pref and pref.sms_unaccented)
    for ch in dict.fromkeys([*plan, *(["inbox"] if has_inbox else [])]):
        r = tpl.render(ch, language, req.context, unaccented=unaccented)
        rendered[ch] = r.as_dict()
        if ch == "zalo":
            rendered[ch]["data"] = {v: str(req.context[v]) for v in tpl.variables if v in req.context}
    quiet = None
    if not req.urgent:
        quiet = f"{(pref.quiet_start if pref and pref.quiet_start else ns.quiet_start)}-" \
                f"{(pref.quiet_end if pref and pref.quiet_end else ns.quiet_end)}"
    status = QUEUED
    last_error = None
    if plan == ["inbox"]:
        status = DELIVERED
    if not req.mandatory and pref is not None and pref.opt_out_optional:
        status, last_error = CANCELLED, "the person opted out of non-mandatory notices"
    delivered = status == DELIVERED
    row: dict[str, Any] = {
        "event_key": req.event_key, "step": req.step, "recipient_key": rkey, "person_id": req.person_id,
        "service": str(req.context.get("service_id", ""))[:60], "template_id": tpl.id,
        "template_version": tpl.version, "template_hash": tpl.hash, "language": language, "urgent": req.urgent,
        "mandatory": req.mandatory, "quiet_hours": quiet, "channels": plan, "channel_index": 0, "channel": plan[0],
        "destinations": {c: available.get(c, "") for c in plan}, "rendered": rendered, "status": status,
        "attempts": 0, "due_at": now, "claimed_until": None, "claimed_by": None,
        "provider": INBOX_PROVIDER if delivered else None, "provider_message_id": None, "deliver_by": None,
        "last_error": last_error, "created_at": now, "sent_at": None, "delivered_at": now if delivered else None,
        "updated_at": now,
    }
    inbox = None
    if has_inbox and person is not None:
        inbox = {"person_id": person.id, "subject": rendered["inbox"].get("subject", "")[:300],
                 "body": rendered["inbox"]["body"], "language": language, "created_at": now, "read_at": None}
    return row, inbox, issue


def _record_quality_issues(session: Session, issues: dict[int, tuple[str, str]], now: dt.datetime) -> None:
    """Open a 'missing' data-quality issue per person and field, unless one is open already (Core insert)."""
    from chudong.registry.models import QualityIssue

    open_ = set(session.execute(select(QualityIssue.person_id, QualityIssue.field).where(
        one_of(session, QualityIssue.person_id, sorted(issues)), QualityIssue.kind == "missing",
        QualityIssue.status == "open")).all())
    rows = [{"kind": "missing", "person_id": pid, "field": fld, "status": "open", "created_at": now,
             "detail": f"{detail} (found when sending a notice; it went to the portal inbox)"}
            for pid, (fld, detail) in issues.items() if (pid, fld) not in open_]
    if rows:
        session.connection().execute(insert(QualityIssue.__table__), rows)


# --- preferences and inbox -------------------------------------------------------------------------


def set_preferences(session: Session, person_id: int, *, channels: list[str], language: str | None = None,
                    quiet_start: str | None = None, quiet_end: str | None = None, opt_out_optional: bool = False,
                    sms_unaccented: bool = False, push_tokens: list[str] | None = None) -> ContactPreference:
    """Create or replace a person's contact preferences."""
    bad = [c for c in channels if c not in EXTERNAL_CHANNELS]
    if bad:
        raise Unprocessable(f"unknown channel {bad[0]!r}; use {', '.join(EXTERNAL_CHANNELS)}", field="channels")
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if value is not None:
            _parse_hhmm(value, name)
    if language is not None and language not in ("vi", "en"):
        raise Unprocessable("language must be vi or en", field="language")
    pref = session.get(ContactPreference, person_id) or ContactPreference(person_id=person_id, push_tokens=[])
    pref.channels, pref.language, pref.quiet_start, pref.quiet_end = channels, language, quiet_start, quiet_end
    pref.opt_out_optional, pref.sms_unaccented = opt_out_optional, sms_unaccented
    pref.push_tokens = push_tokens if push_tokens is not None else (pref.push_tokens or [])
    pref.updated_at = clock.now()
    session.add(pref)
    session.flush()
    return pref


def inbox_for(session: Session, person_id: int) -> list[InboxMessage]:
    """Return a person's portal inbox, newest first."""
    q = select(InboxMessage).where(InboxMessage.person_id == person_id).order_by(InboxMessage.id.desc())
    return list(session.scalars(q))


# --- time of day (preferences; the dispatcher's quiet hours) ---------------------------------------


def _parse_hhmm(value: str, name: str = "time") -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"{name} {value!r} is not HH:MM", field=name) from None


# --- operator view ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsRow:
    """Counts for one day, channel and service."""

    day: dt.date
    channel: str
    service: str
    total: int
    sent: int
    delivered: int
    failed: int
    pending: int


def stats(session: Session, since: dt.date | None = None, until: dt.date | None = None) -> list[StatsRow]:
    """Return sent / delivered / failed per day (Vietnam time), channel and service."""
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("Asia/Ho_Chi_Minh", Notification.created_at))
    else:
        day = func.date(Notification.created_at, "+7 hours")
    failed = Notification.status.in_((PERMANENT_FAILURE, TECHNICAL_FAILURE))
    q = (select(day.label("day"), Notification.channel, Notification.service, func.count(),
                func.count(Notification.sent_at),
                func.sum(func.cast(Notification.status == DELIVERED, Integer())),
                func.sum(func.cast(failed, Integer())),
                func.sum(func.cast(Notification.status.in_((QUEUED, SENT)), Integer())))
         .group_by(day, Notification.channel, Notification.service)
         .order_by(day, Notification.channel, Notification.service))
    if since:
        q = q.where(Notification.created_at >= dt.datetime.combine(since, dt.time(), VN_TZ))
    if until:
        q = q.where(Notification.created_at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), VN_TZ))
    out = []
    for d, ch, svc, total, sent_n, delivered, failed_n, pending in session.execute(q):
        day_value = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        out.append(StatsRow(day_value, ch, svc, total, sent_n, int(delivered or 0), int(failed_n or 0), int(pending or 0)))
    return out


def history(session: Session, notification_id: int) -> tuple[Notification, list[NotificationEvent]]:
    """Return a notification and its full history, oldest first."""
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"no notification {notification_id}")
    events = list(session.scalars(select(NotificationEvent).where(NotificationEvent.notification_id == notification_id)
                                  .order_by(NotificationEvent.id)))
    return row, events


def failures(session: Session, limit: int = 100) -> list[Notification]:
    """Return the latest technical failures (what operators must look at)."""
    q = (select(Notification).where(Notification.status == TECHNICAL_FAILURE)
         .order_by(Notification.updated_at.desc()).limit(limit))
    return list(session.scalars(q))


__all__ = ["Contact", "EnqueueRequest", "enqueue", "enqueue_many", "inbox_for", "set_preferences", "stats", "history",
           "failures"]
