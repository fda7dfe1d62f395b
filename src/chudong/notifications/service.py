"""Notification rules: enqueue into the outbox, dispatch, fall back, receipts, stats.

Guarantee (docs/notifications.md): one outbox row per (event, step, recipient), written
in the caller's transaction. A dispatcher claims due rows with a lease, sends with a
per-row, per-channel idempotency key, and records the provider's message id. A worker
killed mid-send leaves the lease to expire; the row is re-sent with the *same* key, so a
provider that de-duplicates on it (our SMS gateway API) delivers exactly once; for
SMTP, FCM and ZNS delivery is at-least-once, duplicates being possible only for rows in
flight at the moment of a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, func, insert, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chudong.adapters import SendResult, permanent
from chudong.adapters.email.base import EmailMessage
from chudong.adapters.push.base import PushMessage
from chudong.adapters.sms.base import SmsMessage, is_vn_mobile
from chudong.adapters.zalo.base import ZnsMessage
from chudong.db import unit_of_work
from chudong.kit import clock
from chudong.kit.clock import VN_TZ
from chudong.kit.errors import NotFound, Unauthorized, Unprocessable
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
    DeliveryReceipt,
    InboxMessage,
    Notification,
    NotificationEvent,
)
from chudong.notifications.providers import Providers
from chudong.notifications.signing import receipt_key, verify
from chudong.notifications.templates import MessageTemplate, get_template

log = logging.getLogger("chudong.notifications")

EXTERNAL_CHANNELS = ("zalo", "sms", "email", "push")
RECEIPT_CHANNELS = ("sms", "zalo")  # channels whose providers send delivery receipts
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
    return [n for i in enqueue_many(session, [req]) if (n := session.get(Notification, i)) is not None]


def enqueue_many(session: Session, requests: list[EnqueueRequest],
                 settings: NotifySettings | None = None) -> list[int]:
    """Enqueue several notifications with a few statements; return their ids in request order. Never commits.

    For feeds and batch jobs: rows are written with Core inserts (no ORM objects), so a
    thousand notices cost a handful of round trips.
    """
    from chudong.registry.models import Person

    ns = settings or get_notify_settings()
    if not requests:
        return []
    keyed = [(req, _recipient_key(req)) for req in requests]
    triples = {(r.event_key, r.step, k) for r, k in keyed}
    ids = _existing(session, triples)
    person_ids = {r.person_id for r, _ in keyed if r.person_id is not None}
    persons: dict[int, _PersonContact] = {}
    if person_ids:
        q = select(Person.id, Person.phone, Person.email, Person.zalo_id).where(Person.id.in_(person_ids))
        persons = {row.id: _PersonContact(row.id, row.phone, row.email, row.zalo_id) for row in session.execute(q)}
    missing = person_ids - set(persons)
    if missing:
        raise NotFound(f"no person with id {sorted(missing)[0]}", field="person_id")
    prefs = ({p.person_id: p for p in session.scalars(select(ContactPreference).where(ContactPreference.person_id.in_(person_ids)))}
             if person_ids else {})
    now = clock.now()
    fresh: list[tuple[tuple[str, str, str], dict[str, Any], dict[str, Any] | None]] = []
    planned: set[tuple[str, str, str]] = set()
    quality: dict[int, tuple[str, str]] = {}
    for req, rkey in keyed:
        triple = (req.event_key, req.step, rkey)
        if triple in ids or triple in planned:
            continue
        tpl = get_template(req.template_id)
        person = persons.get(req.person_id) if req.person_id is not None else None
        row, inbox, issue = _build(tpl, req, rkey, person, prefs.get(req.person_id or -1), ns, now)
        if issue and person is not None:
            quality[person.id] = issue
        planned.add(triple)
        fresh.append((triple, row, inbox))
    if fresh:
        ids.update(_insert(session, fresh))
    if quality:
        _record_quality_issues(session, quality, now)
    return [ids[(r.event_key, r.step, k)] for r, k in keyed]


@dataclass(frozen=True)
class _PersonContact:
    id: int
    phone: str | None
    email: str | None
    zalo_id: str | None


def _existing(session: Session, triples: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    keys = sorted({t[0] for t in triples})
    cols = (Notification.event_key, Notification.step, Notification.recipient_key, Notification.id)
    for i in range(0, len(keys), 1000):
        # Filter on event_key only (the unique index's first column) and match the triple here:
        # a 3-column tuple IN costs three times the bind parameters for no selectivity gain.
        for ek, st, rk, nid in session.execute(select(*cols).where(Notification.event_key.in_(keys[i:i + 1000]))):
            if (ek, st, rk) in triples:
                found[(ek, st, rk)] = nid
    return found


def _insert_with_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their ids, in order.

    PostgreSQL: ids are taken from the sequence first and the rows go in one pipelined
    executemany (a RETURNING insert of 1,000 rows is rendered as one huge statement whose
    parameter conversion dominates the cost). SQLite: INSERT … RETURNING in order.
    """
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"), {"n": len(rows)}))
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        session.connection().execute(insert(table), rows)
        return ids
    result = session.connection().execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _insert(session: Session, fresh: list[tuple[tuple[str, str, str], dict[str, Any], dict[str, Any] | None]]
            ) -> dict[tuple[str, str, str], int]:
    """Insert new rows; a concurrent enqueue of the same key wins and ours is dropped, not duplicated."""
    table = Notification.__table__
    done: dict[tuple[str, str, str], int] = {}
    try:
        with session.begin_nested():
            ids = _insert_with_ids(session, table, [row for _, row, _ in fresh])
        done = {triple: i for (triple, _, _), i in zip(fresh, ids, strict=True)}
    except IntegrityError:
        # Someone committed the same (event, step, recipient) meanwhile: insert one by one, keep theirs.
        for triple, row, _ in fresh:
            row.pop("id", None)
            try:
                with session.begin_nested():
                    done[triple] = _insert_with_ids(session, table, [row])[0]
            except IntegrityError:
                log.info("notification %s already enqueued concurrently", triple)
        theirs = _existing(session, {t for t, _, _ in fresh if t not in done})
        fresh = [f for f in fresh if f[0] in done]
        done_all = {**theirs, **done}
    else:
        done_all = done
    inboxes = [{**inbox, "notification_id": done[triple]} for triple, _, inbox in fresh if inbox is not None]
    if inboxes:
        session.connection().execute(insert(InboxMessage.__table__), inboxes)
    return done_all


def _build(tpl: MessageTemplate, req: EnqueueRequest, rkey: str, person: _PersonContact | None,
           pref: ContactPreference | None, ns: NotifySettings, now: dt.datetime
           ) -> tuple[dict[str, Any], dict[str, Any] | None, tuple[str, str] | None]:
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
    from chudong.registry.models import QualityIssue

    open_ = set(session.execute(select(QualityIssue.person_id, QualityIssue.field).where(
        QualityIssue.person_id.in_(list(issues)), QualityIssue.kind == "missing", QualityIssue.status == "open")).all())
    for pid, (fld, detail) in issues.items():
        if (pid, fld) not in open_:
            session.add(QualityIssue(kind="missing", person_id=pid, field=fld, status="open",
                                     detail=f"{detail} (found when sending a notice; it went to the portal inbox)",
                                     created_at=now))
    session.flush()


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


# --- dispatch --------------------------------------------------------------------------------------


def _parse_hhmm(value: str, name: str = "time") -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"{name} {value!r} is not HH:MM", field=name) from None


def quiet_until(quiet_hours: str | None, now: dt.datetime) -> dt.datetime | None:
    """Return when the quiet period containing ``now`` ends, or None when ``now`` is not quiet."""
    if not quiet_hours:
        return None
    start_s, end_s = quiet_hours.split("-")
    start, end = _parse_hhmm(start_s), _parse_hhmm(end_s)
    local = now.astimezone(VN_TZ)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() + dt.timedelta(days=1) if (start > end and t >= start) else local.date()
    return dt.datetime.combine(end_day, end, VN_TZ)


def worker_name() -> str:
    """Return this process's name in claims (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def claim(session: Session, worker: str, limit: int, lease: float, now: dt.datetime) -> list[Notification]:
    """Claim up to ``limit`` due rows for ``worker`` until the lease ends.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so any number of workers claim disjoint rows.
    SQLite ignores FOR UPDATE, and the single UPDATE ... RETURNING runs under SQLite's
    database write lock, so concurrent claimers still never get the same row.
    """
    due = (select(Notification.id)
           .where(Notification.status == QUEUED, Notification.due_at <= now,
                  or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
           .order_by(Notification.due_at).limit(limit).with_for_update(skip_locked=True))
    stmt = (update(Notification).where(Notification.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + dt.timedelta(seconds=lease), claimed_by=worker)
            .returning(Notification))
    return list(session.scalars(stmt, execution_options={"synchronize_session": False}))


@dataclass
class _Outcome:
    row: Notification
    provider: str
    result: SendResult
    events: list[tuple[str, str]] = field(default_factory=list)


def dispatch_once(engine: Engine, providers: Providers, *, worker: str | None = None) -> int:
    """Claim a batch, send it, record results; move overdue sends to the next channel. Return rows handled."""
    ns = providers.settings
    worker = worker or worker_name()
    with unit_of_work(engine) as s:
        rows = claim(s, worker, ns.batch_size, ns.lease_seconds, clock.now())
    outcomes: list[_Outcome] = []
    deferred: list[tuple[Notification, dt.datetime]] = []
    by_channel: dict[str, list[Notification]] = defaultdict(list)
    now = clock.now()
    for row in rows:
        if row.channel == "sms" and not row.urgent:
            until = quiet_until(row.quiet_hours, now)
            if until is not None:
                deferred.append((row, until))
                continue
        by_channel[row.channel].append(row)
    outcomes += _send_sms(providers, by_channel.get("sms", []))
    outcomes += _send_email(providers, by_channel.get("email", []))
    outcomes += _send_each(providers, "zalo", by_channel.get("zalo", []))
    outcomes += _send_each(providers, "push", by_channel.get("push", []))
    for ch in set(by_channel) - {"sms", "email", "zalo", "push"}:
        outcomes += [_Outcome(r, "none", permanent("no_channel", f"channel {ch!r} cannot be sent")) for r in by_channel[ch]]
    handled = 0
    with unit_of_work(engine) as s:
        handled += _apply(s, outcomes, deferred, ns, clock.now())
        handled += reroute_overdue(s, ns, clock.now())
    return max(handled, len(rows))


def _send_sms(providers: Providers, rows: list[Notification]) -> list[_Outcome]:
    if not rows:
        return []
    if not providers.sms:
        return [_Outcome(r, "none", permanent("no_provider", "no SMS provider is configured")) for r in rows]
    out: list[_Outcome] = []
    pending = rows
    notes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for i, provider in enumerate(providers.sms_in_order()):
        last = i == len(providers.sms) - 1
        msgs = [SmsMessage(r.destinations["sms"], r.rendered["sms"]["body"], r.idempotency_key) for r in pending]
        providers.throttle(provider.name, len(msgs))
        results = provider.send_batch(msgs)
        retry: list[Notification] = []
        for r, res in zip(pending, results, strict=True):
            if res.outcome == "temporary" and res.provider_wide and not last:
                notes[r.id].append(("failover", f"{provider.name}: {res.detail}"))
                retry.append(r)
            else:
                out.append(_Outcome(r, provider.name, res, notes.pop(r.id, [])))
        if retry:
            providers.mark_down(provider.name)
            log.warning("SMS provider %s failed for %d messages; failing over", provider.name, len(retry))
        pending = retry
        if not pending:
            break
    return out


def _send_email(providers: Providers, rows: list[Notification]) -> list[_Outcome]:
    if not rows:
        return []
    p = providers.email
    if p is None:
        return [_Outcome(r, "none", permanent("no_provider", "no e-mail provider is configured")) for r in rows]
    providers.throttle(p.name, len(rows))
    msgs = [EmailMessage(r.destinations["email"], r.rendered["email"].get("subject", ""), r.rendered["email"]["body"],
                         r.idempotency_key) for r in rows]
    return [_Outcome(r, p.name, res) for r, res in zip(rows, p.send_batch(msgs), strict=True)]


def _send_each(providers: Providers, channel: str, rows: list[Notification]) -> list[_Outcome]:
    if not rows:
        return []
    p = providers.zalo if channel == "zalo" else providers.push
    if p is None:
        return [_Outcome(r, "none", permanent("no_provider", f"no {channel} provider is configured")) for r in rows]

    def one(r: Notification) -> _Outcome:
        providers.throttle(p.name, 1)
        if channel == "zalo":
            msg = r.rendered["zalo"]
            res = p.send(ZnsMessage(r.destinations["zalo"], msg["zns_template_id"], msg.get("data", {}),  # type: ignore[union-attr, call-arg]
                                    r.idempotency_key))
        else:
            msg = r.rendered["push"]
            res = p.send(PushMessage(r.destinations["push"], msg.get("subject", ""), msg["body"], r.idempotency_key))  # type: ignore[union-attr, call-arg]
        return _Outcome(r, p.name, res)

    # ZNS and push take one message per call: overlap the network waits.
    with ThreadPoolExecutor(max_workers=min(16, len(rows))) as pool:
        return list(pool.map(one, rows))


def _backoff(ns: NotifySettings, attempts: int, retry_after: float | None) -> float:
    return max(min(ns.backoff_base_seconds * 2 ** (attempts - 1), ns.backoff_max_seconds), retry_after or 0.0)


def _next_channel(values: dict[str, Any], row: Notification, now: dt.datetime, reason: str,
                  events: list[tuple[str, str, str | None]]) -> None:
    """Move a row to its next planned channel, or end it as a permanent failure."""
    nxt = row.channel_index + 1
    if nxt < len(row.channels):
        values.update(channel_index=nxt, channel=row.channels[nxt], status=QUEUED, attempts=0, due_at=now,
                      deliver_by=None, provider=None, provider_message_id=None)
        events.append(("fallback", f"{reason}; next channel {row.channels[nxt]}", row.channels[nxt]))
    else:
        values.update(status=PERMANENT_FAILURE, deliver_by=None)
        events.append(("permanent-failure", f"{reason}; no channel left", row.channel))


def _apply(session: Session, outcomes: list[_Outcome], deferred: list[tuple[Notification, dt.datetime]],
           ns: NotifySettings, now: dt.datetime) -> int:
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def ev(nid: int, kind: str, ch: str | None, provider: str | None, detail: str) -> None:
        events.append({"notification_id": nid, "at": now, "kind": kind, "channel": ch, "provider": provider,
                       "detail": detail[:500]})

    for row, until in deferred:
        updates.append({"id": row.id, "due_at": until.astimezone(dt.UTC), "claimed_until": None, "updated_at": now})
        ev(row.id, "deferred-quiet-hours", row.channel, None, f"quiet hours {row.quiet_hours}; SMS waits until {until:%H:%M}")
    sent_ids: dict[tuple[str, str], int] = {}
    for o in outcomes:
        row, res = o.row, o.result
        for kind, detail in o.events:
            ev(row.id, kind, row.channel, o.provider, detail)
        v: dict[str, Any] = {"id": row.id, "claimed_until": None, "updated_at": now, "last_error": row.last_error}
        later: list[tuple[str, str, str | None]] = []
        if res.outcome in ("accepted", "delivered", "receipt-failed"):
            v.update(provider=o.provider, provider_message_id=res.message_id, sent_at=now, status=SENT)
            ev(row.id, "sent", row.channel, o.provider, f"provider message id {res.message_id}")
            if res.outcome == "delivered":
                v.update(status=DELIVERED, delivered_at=now)
                ev(row.id, "delivered", row.channel, o.provider, "confirmed by the provider")
            elif res.outcome == "receipt-failed":
                v["last_error"] = "the provider reported the message undelivered"
                _next_channel(v, row, now, "undelivered", later)
            else:
                wait = ns.fallback_after_seconds.get(row.channel) if row.channel in RECEIPT_CHANNELS else None
                has_next = row.channel_index + 1 < len(row.channels)
                v["deliver_by"] = now + dt.timedelta(seconds=wait) if wait and has_next else None
                if res.message_id:
                    sent_ids[(o.provider, res.message_id)] = row.id
        elif res.outcome == "temporary":
            attempts = row.attempts + 1
            v.update(attempts=attempts, last_error=f"{res.error_code}: {res.detail}"[:300])
            if attempts >= ns.max_attempts:
                v.update(status=TECHNICAL_FAILURE)
                ev(row.id, "technical-failure", row.channel, o.provider,
                   f"gave up after {attempts} attempts: {res.error_code}: {res.detail}")
            else:
                delay = _backoff(ns, attempts, res.retry_after)
                v.update(status=QUEUED, due_at=now + dt.timedelta(seconds=delay))
                ev(row.id, "temporary-failure", row.channel, o.provider,
                   f"attempt {attempts}: {res.error_code}: {res.detail}; retry in {delay:.0f} s")
        else:
            v["last_error"] = f"{res.error_code}: {res.detail}"[:300]
            ev(row.id, "permanent-failure", row.channel, o.provider, f"{res.error_code}: {res.detail}")
            _next_channel(v, row, now, f"{row.channel} failed permanently", later)
        for kind, detail, ch in later:
            ev(row.id, kind, ch, None, detail)
        updates.append(v)
    _bulk_update(session, updates)
    if events:
        session.execute(insert(NotificationEvent), events)
    if sent_ids:
        _match_early_receipts(session, sent_ids, now)
    return len(outcomes) + len(deferred)


def _bulk_update(session: Session, updates: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for u in updates:
        groups[tuple(sorted(u))].append(u)
    for group in groups.values():
        session.execute(update(Notification), group)


def reroute_overdue(session: Session, ns: NotifySettings, now: dt.datetime, limit: int = 500) -> int:
    """Move sent messages without a delivery receipt in time to their next channel (e.g. Zalo → SMS)."""
    q = (select(Notification).where(Notification.status == SENT, Notification.deliver_by.is_not(None),
                                    Notification.deliver_by <= now)
         .order_by(Notification.deliver_by).limit(limit).with_for_update(skip_locked=True))
    rows = list(session.scalars(q))
    for row in rows:
        values: dict[str, Any] = {}
        later: list[tuple[str, str, str | None]] = []
        _next_channel(values, row, now, f"no delivery receipt from {row.channel} in time", later)
        for k, val in values.items():
            setattr(row, k, val)
        row.updated_at = now
        for kind, detail, ch in later:
            session.add(NotificationEvent(notification_id=row.id, at=now, kind=kind, channel=ch, detail=detail))
    session.flush()
    return len(rows)


# --- delivery receipts -----------------------------------------------------------------------------


def verify_receipt(secret_key: str, provider: str, body: bytes, signature: str | None) -> None:
    """Raise Unauthorized unless ``signature`` is the provider's HMAC of ``body``."""
    if not verify(receipt_key(secret_key, provider), body, signature):
        raise Unauthorized(f"delivery receipt for {provider!r} has a missing or wrong signature")


@dataclass(frozen=True)
class ReceiptOutcome:
    """What a receipt did: applied, duplicate (already final) or unknown (kept for later matching)."""

    outcome: str
    notification_id: int | None
    status: str | None


def apply_receipt(session: Session, provider: str, payload: dict[str, Any]) -> ReceiptOutcome:
    """Record an authenticated receipt and update its notification; an unknown message id is kept, not dropped."""
    mid = str(payload.get("message_id") or "").strip()
    status = str(payload.get("status") or "").strip()
    if not mid or status not in ("delivered", "failed"):
        raise Unprocessable("a receipt needs message_id and status 'delivered' or 'failed'", field="status")
    now = clock.now()
    row = session.scalars(select(Notification).where(Notification.provider == provider,
                                                     Notification.provider_message_id == mid).with_for_update()).first()
    receipt = DeliveryReceipt(provider=provider, provider_message_id=mid[:120], status=status,
                              error_code=str(payload.get("error_code") or "")[:40] or None,
                              notification_id=row.id if row else None, payload=payload, received_at=now,
                              outcome="unknown")
    session.add(receipt)
    if row is None:
        session.flush()
        return ReceiptOutcome("unknown", None, None)
    receipt.outcome = _receipt_effect(session, row, status, provider, now)
    session.flush()
    return ReceiptOutcome(receipt.outcome, row.id, row.status)


def _receipt_effect(session: Session, row: Notification, status: str, provider: str, now: dt.datetime) -> str:
    if row.status != SENT:
        session.add(NotificationEvent(notification_id=row.id, at=now, kind="receipt-ignored", channel=row.channel,
                                      provider=provider, detail=f"{status} receipt while {row.status}"))
        return "duplicate"
    row.updated_at = now
    if status == "delivered":
        row.status, row.delivered_at, row.deliver_by = DELIVERED, now, None
        session.add(NotificationEvent(notification_id=row.id, at=now, kind="delivered", channel=row.channel,
                                      provider=provider, detail="delivery receipt"))
    else:
        values: dict[str, Any] = {}
        later: list[tuple[str, str, str | None]] = []
        row.last_error = "the provider reported the message undelivered"
        session.add(NotificationEvent(notification_id=row.id, at=now, kind="receipt-failed", channel=row.channel,
                                      provider=provider, detail="delivery receipt: failed"))
        _next_channel(values, row, now, "undelivered", later)
        for k, val in values.items():
            setattr(row, k, val)
        for kind, detail, ch in later:
            session.add(NotificationEvent(notification_id=row.id, at=now, kind=kind, channel=ch, detail=detail))
    return "applied"


def _match_early_receipts(session: Session, sent: dict[tuple[str, str], int], now: dt.datetime) -> None:
    """Apply receipts that arrived before the send was recorded (the provider was faster than our commit)."""
    mids = [m for _, m in sent]
    early = list(session.scalars(select(DeliveryReceipt).where(
        DeliveryReceipt.notification_id.is_(None), DeliveryReceipt.provider_message_id.in_(mids))))
    for rc in early:
        nid = sent.get((rc.provider, rc.provider_message_id))
        if nid is None:
            continue
        row = session.get(Notification, nid)
        if row is None:
            continue
        session.refresh(row)
        rc.notification_id = nid
        _receipt_effect(session, row, rc.status, rc.provider, now)
        rc.outcome = "matched-later"
    session.flush()


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


__all__ = ["Contact", "EnqueueRequest", "enqueue", "enqueue_many", "inbox_for", "set_preferences", "dispatch_once",
           "apply_receipt", "verify_receipt", "stats", "history", "failures", "quiet_until"]
