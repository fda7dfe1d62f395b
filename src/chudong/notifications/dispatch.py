"""The outbox dispatcher (claim → send → record), fallback when overdue, and delivery receipts.

One batch of up to ``batch_size`` due rows at a time:

* **PostgreSQL**: one transaction per batch. ``SELECT … FOR UPDATE SKIP LOCKED`` locks the
  due rows: the row locks *are* the claim, so any number of workers take disjoint rows
  without waiting and without writing anything to claim them. The batch is sent while the
  locks are held; then every outcome is written with one ``UPDATE … FROM unnest(…)`` per
  kind of outcome and one events ``INSERT … SELECT FROM unnest(…)``, and the transaction
  commits. A worker killed mid-batch loses its connection: PostgreSQL rolls its
  transaction back and the rows are due again at once, and are re-sent with the same
  idempotency key. A worker that hangs is cut off by ``idle_in_transaction_session_timeout``
  (set to ``lease_seconds`` for the batch's transaction), which releases the rows the same way.
* **SQLite** (one writer at a time, no row locks): :func:`claim` writes a lease
  (``claimed_until``) with one ``UPDATE … RETURNING`` and commits; the batch is sent outside
  any transaction; the outcomes are written in a second transaction. A killed worker's rows
  wait for their lease to end.

Rows travel as :class:`Claimed` tuples read with Core (no ORM objects); only the rare paths
(fallback when overdue, receipts) use the ORM. The guarantee is in docs/notifications.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, any_, bindparam, cast, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chudong.adapters import SendResult, permanent
from chudong.adapters.email.base import EmailMessage
from chudong.adapters.push.base import PushMessage
from chudong.adapters.sms.base import SmsMessage
from chudong.adapters.zalo.base import ZnsMessage
from chudong.db import unit_of_work
from chudong.kit import clock
from chudong.kit.clock import VN_TZ
from chudong.kit.errors import Unauthorized, Unprocessable
from chudong.notifications.config import NotifySettings
from chudong.notifications.models import (
    DELIVERED,
    PERMANENT_FAILURE,
    QUEUED,
    SENT,
    TECHNICAL_FAILURE,
    DeliveryReceipt,
    Notification,
    NotificationEvent,
)
from chudong.notifications.providers import Providers
from chudong.notifications.service import _parse_hhmm
from chudong.notifications.signing import receipt_key, verify

log = logging.getLogger("chudong.notifications")

RECEIPT_CHANNELS = ("sms", "zalo")  # channels whose providers send delivery receipts
_N = Notification.__table__
_E = NotificationEvent.__table__
# What a dispatcher reads of a due row (the address column is decrypted by its column type), then the
# message: all of ``rendered`` (sealed whole at rest), whose current channel's part is sent.
_COLUMNS = (_N.c.id, _N.c.channel, _N.c.channel_index, _N.c.channels, _N.c.attempts, _N.c.urgent,
            _N.c.quiet_hours, _N.c.last_error, _N.c.destinations)




@dataclass(slots=True)
class Claimed:
    """A due outbox row as the dispatcher needs it: the current channel's address and message."""

    id: int
    channel: str
    channel_index: int
    channels: list[str]
    attempts: int
    urgent: bool
    quiet_hours: str | None
    last_error: str | None
    destination: str
    message: dict[str, Any]

    @property
    def idempotency_key(self) -> str:
        """Return the key sent to providers: the same for every attempt of this row on this channel."""
        return f"cd-{self.id}-{self.channel}"

    @classmethod
    def of(cls, row: Any, message_only: bool) -> Claimed:
        """Build from a result row of :data:`_COLUMNS` and the channel's ``message`` (or all of ``rendered``)."""
        ch = row.channel
        message = (row.rendered or {}).get(ch)  # sealed whole at rest: opened here, the channel's part picked
        return cls(row.id, ch, row.channel_index, row.channels, row.attempts, row.urgent, row.quiet_hours,
                   row.last_error, (row.destinations or {}).get(ch) or "", message or {})


@dataclass
class _Outcome:
    row: Claimed
    provider: str
    result: SendResult
    events: list[tuple[str, str]] = field(default_factory=list)


def worker_name() -> str:
    """Return this process's name in claims (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def _due(now: Any) -> Any:
    return (_N.c.status == QUEUED, _N.c.due_at <= now,
            or_(_N.c.claimed_until.is_(None), _N.c.claimed_until < now))


# PostgreSQL's claim, built once (the time and the limit are parameters).
_LOCK_DUE = (select(*_COLUMNS, _N.c.rendered)
             .where(*_due(bindparam("now", type_=_N.c.due_at.type))).order_by(_N.c.due_at)
             .limit(bindparam("limit", type_=Integer())).with_for_update(skip_locked=True))
_LOCK_SETTINGS = text("SELECT set_config('enable_bitmapscan', 'off', true), "
                      "set_config('idle_in_transaction_session_timeout', :ms, true)")


def lock_due(session: Session, limit: int, lease: float, now: dt.datetime) -> list[Claimed]:
    """PostgreSQL: lock up to ``limit`` due rows, oldest first, for the rest of the transaction.

    ``enable_bitmapscan`` is off for the transaction: right after a burst the planner's
    estimate of queued rows is stale (a handful), and it would then pick a bitmap scan that
    reads and sorts the whole backlog on every claim (150 ms for 100,000 rows) instead of
    walking ``ix_notification_status_due_at`` in order and stopping after ``limit`` rows.
    """
    conn = session.connection()
    conn.execute(_LOCK_SETTINGS, {"ms": str(max(1000, int(lease * 1000)))})
    return [Claimed.of(r, True) for r in conn.execute(_LOCK_DUE, {"now": now, "limit": limit}).all()]


def claim(session: Session, worker: str, limit: int, lease: float, now: dt.datetime) -> list[Claimed]:
    """Claim up to ``limit`` due rows for ``worker`` with a lease (``claimed_until``); the caller commits.

    The SQLite path (and any caller that must not hold a transaction while sending). SQLite
    ignores FOR UPDATE, but the single UPDATE … RETURNING runs under its database write lock,
    so concurrent claimers never get the same row; on PostgreSQL SKIP LOCKED does the same.
    """
    due = select(_N.c.id).where(*_due(now)).order_by(_N.c.due_at).limit(limit).with_for_update(skip_locked=True)
    stmt = (update(_N).where(_N.c.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + dt.timedelta(seconds=lease), claimed_by=worker)
            .returning(*_COLUMNS, _N.c.rendered))
    return [Claimed.of(r, False) for r in session.execute(stmt).all()]


def dispatch_once(engine: Engine, providers: Providers, *, worker: str | None = None) -> int:
    """Claim a batch, send it, record the outcomes; move overdue sends to their next channel.

    Return the rows handled (0 when there was nothing to do).
    """
    ns = providers.settings
    worker = worker or worker_name()
    if engine.dialect.name == "postgresql":
        rows: list[Claimed] = []
        try:
            with unit_of_work(engine) as s:
                rows = lock_due(s, ns.batch_size, ns.lease_seconds, clock.now())
                outcomes, deferred = _send(providers, rows, clock.now())
                handled = _apply(s, outcomes, deferred, ns, clock.now(), worker)
                handled += reroute_overdue(s, ns, clock.now())
        except Exception:
            if rows:
                _hold(engine, rows, worker, ns.lease_seconds)
            raise
        return max(handled, len(rows))
    with unit_of_work(engine) as s:
        rows = claim(s, worker, ns.batch_size, ns.lease_seconds, clock.now())
    outcomes, deferred = _send(providers, rows, clock.now())
    with unit_of_work(engine) as s:
        handled = _apply(s, outcomes, deferred, ns, clock.now(), worker)
        handled += reroute_overdue(s, ns, clock.now())
    return max(handled, len(rows))


def _hold(engine: Engine, rows: list[Claimed], worker: str, lease: float) -> None:
    """After a batch whose outcome could not be recorded (rolled back), hold its rows for a lease.

    Without this a persistent error after sending (a bug, a constraint) would re-send the same
    batch every second — duplicates for the providers that do not de-duplicate; with it, once
    per lease, as on SQLite. If the database itself is gone this fails too, and the rows are
    simply due again.
    """
    try:
        with unit_of_work(engine) as s:
            s.execute(update(_N).where(_N.c.id.in_([r.id for r in rows]), _N.c.status == QUEUED)
                      .values(claimed_until=clock.now() + dt.timedelta(seconds=lease), claimed_by=worker))
    except Exception:  # the original error is what matters; it is re-raised by the caller
        log.exception("could not hold %d notifications after a failed batch", len(rows))


# --- sending ----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _quiet_window(quiet_hours: str) -> tuple[dt.time, dt.time]:
    start_s, end_s = quiet_hours.split("-")
    return _parse_hhmm(start_s), _parse_hhmm(end_s)


def quiet_until(quiet_hours: str | None, now: dt.datetime) -> dt.datetime | None:
    """Return when the quiet period containing ``now`` ends, or None when ``now`` is not quiet."""
    if not quiet_hours:
        return None
    start, end = _quiet_window(quiet_hours)
    local = now.astimezone(VN_TZ)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() + dt.timedelta(days=1) if (start > end and t >= start) else local.date()
    return dt.datetime.combine(end_day, end, VN_TZ)


def _send(providers: Providers, rows: list[Claimed], now: dt.datetime
          ) -> tuple[list[_Outcome], list[tuple[Claimed, dt.datetime]]]:
    """Send every row on its current channel; return the outcomes and the SMS held for quiet hours."""
    deferred: list[tuple[Claimed, dt.datetime]] = []
    by_channel: dict[str, list[Claimed]] = defaultdict(list)
    for row in rows:
        if row.channel == "sms" and not row.urgent and row.quiet_hours:
            until = quiet_until(row.quiet_hours, now)
            if until is not None:
                deferred.append((row, until))
                continue
        by_channel[row.channel].append(row)
    outcomes = _send_sms(providers, by_channel.pop("sms", []))
    outcomes += _send_email(providers, by_channel.pop("email", []))
    outcomes += _send_each(providers, "zalo", by_channel.pop("zalo", []))
    outcomes += _send_each(providers, "push", by_channel.pop("push", []))
    for ch, left in by_channel.items():
        outcomes += [_Outcome(r, "none", permanent("no_channel", f"channel {ch!r} cannot be sent")) for r in left]
    return outcomes, deferred


def _send_sms(providers: Providers, rows: list[Claimed]) -> list[_Outcome]:
    """Send through the SMS gateways by priority; a provider-wide failure fails over to the next one."""
    if not rows:
        return []
    if not providers.sms:
        return [_Outcome(r, "none", permanent("no_provider", "no SMS provider is configured")) for r in rows]
    out: list[_Outcome] = []
    pending = rows
    notes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    gateways = providers.sms_in_order()
    for i, provider in enumerate(gateways):
        last = i == len(gateways) - 1
        msgs = [SmsMessage(r.destination, r.message["body"], r.idempotency_key) for r in pending]
        providers.throttle(provider.name, len(msgs))
        retry: list[Claimed] = []
        for r, res in zip(pending, provider.send_batch(msgs), strict=True):
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


def _send_email(providers: Providers, rows: list[Claimed]) -> list[_Outcome]:
    if not rows:
        return []
    p = providers.email
    if p is None:
        return [_Outcome(r, "none", permanent("no_provider", "no e-mail provider is configured")) for r in rows]
    providers.throttle(p.name, len(rows))
    msgs = [EmailMessage(r.destination, r.message.get("subject", ""), r.message["body"], r.idempotency_key)
            for r in rows]
    return [_Outcome(r, p.name, res) for r, res in zip(rows, p.send_batch(msgs), strict=True)]


def _send_each(providers: Providers, channel: str, rows: list[Claimed]) -> list[_Outcome]:
    """ZNS and push take one message per call: overlap the calls on the providers' thread pool."""
    if not rows:
        return []
    p = providers.zalo if channel == "zalo" else providers.push
    if p is None:
        return [_Outcome(r, "none", permanent("no_provider", f"no {channel} provider is configured")) for r in rows]

    def one(r: Claimed) -> _Outcome:
        providers.throttle(p.name, 1)
        msg = r.message
        if channel == "zalo":
            res = p.send(ZnsMessage(r.destination, msg["zns_template_id"], msg.get("data", {}),  # type: ignore[union-attr, call-arg]
                                    r.idempotency_key))
        else:
            res = p.send(PushMessage(r.destination, msg.get("subject", ""), msg["body"], r.idempotency_key))  # type: ignore[union-attr, call-arg]
        return _Outcome(r, p.name, res)

    return list(providers.pool().map(one, rows))


# --- recording outcomes -------------------------------------------------------------------------------


def _backoff(ns: NotifySettings, attempts: int, retry_after: float | None) -> float:
    return max(min(ns.backoff_base_seconds * 2 ** (attempts - 1), ns.backoff_max_seconds), retry_after or 0.0)


def _next_channel(values: dict[str, Any], row: Any, now: dt.datetime, reason: str,
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


def _apply(session: Session, outcomes: list[_Outcome], deferred: list[tuple[Claimed, dt.datetime]],
           ns: NotifySettings, now: dt.datetime, worker: str) -> int:
    """Write every outcome and its history with a few statements; return the rows recorded."""
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
        v: dict[str, Any] = {"id": row.id, "claimed_until": None, "claimed_by": worker, "updated_at": now,
                             "last_error": row.last_error}
        later: list[tuple[str, str, str | None]] = []
        if res.outcome in ("accepted", "delivered", "receipt-failed"):
            v.update(provider=o.provider, provider_message_id=res.message_id, sent_at=now, status=SENT,
                     deliver_by=None)
            ev(row.id, "sent", row.channel, o.provider, f"provider message id {res.message_id}")
            if res.outcome == "delivered":
                v.update(status=DELIVERED, delivered_at=now)
                ev(row.id, "delivered", row.channel, o.provider, "confirmed by the provider")
            elif res.outcome == "receipt-failed":
                v["last_error"] = "the provider reported the message undelivered"
                _next_channel(v, row, now, "undelivered", later)
            else:
                wait = ns.fallback_after_seconds.get(row.channel) if row.channel in RECEIPT_CHANNELS else None
                if wait and row.channel_index + 1 < len(row.channels):
                    v["deliver_by"] = now + dt.timedelta(seconds=wait)
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
    _update_rows(session, updates)
    _insert_rows(session, _E, events)
    if sent_ids:
        _match_early_receipts(session, sent_ids, now)
    return len(outcomes) + len(deferred)


@lru_cache(maxsize=128)
def _statement(kind: str, table: Any, keys: tuple[str, ...], varying: tuple[str, ...]) -> Any:
    """PostgreSQL: the UPDATE (``kind`` "update", by ``id``) or INSERT of rows with ``keys``, built once per shape.

    The values travel as one array parameter per column in ``varying`` (``unnest(…) AS v(…)``)
    and one scalar parameter per other column: the statement has a parameter per *column*,
    not per value, so it compiles once and costs the server one join, where a VALUES list or
    an executemany costs per row; constants (the time, the status, the provider) travel once.
    """
    v = func.unnest(*(cast(bindparam(f"u_{k}", type_=ARRAY(table.c[k].type)), ARRAY(table.c[k].type))
                      for k in varying)).table_valued(*varying).render_derived(name="v")
    col = {k: v.c[k] if k in varying else cast(bindparam(f"c_{k}", type_=table.c[k].type), table.c[k].type)
           for k in keys}
    if kind == "update":
        return update(table).where(table.c.id == col["id"]).values({k: col[k] for k in keys if k != "id"})
    return insert(table).from_select(keys, select(*(col[k] for k in keys)))


def _write(session: Session, kind: str, table: Any, rows: list[dict[str, Any]], key: str) -> None:
    """PostgreSQL: update (by ``id``) or insert ``rows``, all with the same keys, with one statement.

    ``key`` (the id) always travels as an array; another column does when its value differs between rows.
    """
    keys = tuple(rows[0])
    first = rows[0]
    varying = tuple(k for k in keys if k == key or any(r[k] != first[k] for r in rows))
    params = {f"u_{k}": [r[k] for r in rows] for k in varying}
    params.update({f"c_{k}": first[k] for k in keys if k not in varying})
    session.connection().execute(_statement(kind, table, keys, varying), params)


def _update_rows(session: Session, updates: list[dict[str, Any]]) -> None:
    """Write per-row values (each dict has ``id``): one statement per set of columns written."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for u in updates:
        groups[tuple(sorted(u))].append(u)
    pg = session.get_bind().dialect.name == "postgresql"
    for keys, group in groups.items():
        if pg:
            _write(session, "update", _N, [{k: u[k] for k in keys} for u in group], "id")
        else:
            cols = [k for k in keys if k != "id"]
            stmt = update(_N).where(_N.c.id == bindparam("b_id")).values({k: bindparam(f"b_{k}") for k in cols})
            session.connection().execute(stmt, [{f"b_{k}": u[k] for k in keys} for u in group])


def _insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys, ``notification_id`` among them) with one statement."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _write(session, "insert", table, rows, "notification_id")
    else:
        session.connection().execute(insert(table), rows)


def reroute_overdue(session: Session, ns: NotifySettings, now: dt.datetime, limit: int = 500) -> int:
    """Move sent messages without a delivery receipt in time to their next channel (e.g. Zalo → SMS)."""
    # Runs after every batch and usually finds nothing, so first a Core query that only the partial index
    # ix_notification_overdue can answer. No status in it: with statistics from before a burst the planner
    # believed "status = 'sent'" rare and walked every sent row (56 ms for 30,000) instead. Only sent rows
    # carry deliver_by (every other transition clears it); the status is checked on the rows found.
    ids = session.scalars(select(_N.c.id).where(_N.c.deliver_by.is_not(None), _N.c.deliver_by <= now)
                          .order_by(_N.c.deliver_by).limit(limit).with_for_update(skip_locked=True)).all()
    if not ids:
        return 0
    rows = [r for r in session.scalars(select(Notification).where(Notification.id.in_(ids))
                                       .order_by(Notification.deliver_by)) if r.status == SENT]
    # A receipt that raced the record of its send (stored as unknown after the dispatcher had looked
    # for early receipts, before it committed) is applied now instead of falling back to another channel.
    sent = {(r.provider, r.provider_message_id): r.id for r in rows if r.provider and r.provider_message_id}
    if sent:
        _match_early_receipts(session, sent, now)
        rows = [r for r in rows if r.status == SENT]
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
    r = DeliveryReceipt.__table__
    mids = [m for _, m in sent]
    if session.get_bind().dialect.name == "postgresql":  # one array parameter, not a thousand placeholders
        among = r.c.provider_message_id == any_(cast(bindparam("mids", mids, type_=ARRAY(r.c.provider_message_id.type)),
                                                     ARRAY(r.c.provider_message_id.type)))
    else:
        among = r.c.provider_message_id.in_(mids)
    early = session.execute(select(r.c.id, r.c.provider, r.c.provider_message_id).where(
        r.c.notification_id.is_(None), among)).all()
    for rid, provider, mid in early:
        nid = sent.get((provider, mid))
        if nid is None:
            continue
        rc = session.get(DeliveryReceipt, rid)
        row = session.get(Notification, nid, populate_existing=True)
        if rc is None or row is None:
            continue
        rc.notification_id = nid
        _receipt_effect(session, row, rc.status, rc.provider, now)
        rc.outcome = "matched-later"
    session.flush()


__all__ = ["Claimed", "apply_receipt", "claim", "dispatch_once", "lock_due", "quiet_until", "reroute_overdue",
           "verify_receipt", "worker_name"]
