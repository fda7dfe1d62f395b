"""Demo support: deliver pending notices through the test-mode fakes and show what citizens received."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine

from chudong.db import session_factory
from chudong.kit.redact import mask_address
from chudong.notifications.config import get_notify_settings
from chudong.notifications.models import Notification
from chudong.notifications.providers import fake_providers
from chudong.notifications.dispatch import dispatch_once


def masked(address: str) -> str:
    """Hide a phone number, e-mail or Zalo id on screen: demo output is logged like any other."""
    if address.startswith("person:"):
        return "inbox"
    return mask_address(address) or ""


def deliver_and_show(console: Console, engine: Engine, *, limit: int = 20) -> int:
    """Send every due notice with the fake providers (nothing leaves the machine) and print the latest ones."""
    providers = fake_providers(get_notify_settings())
    sent = 0
    while True:
        did = dispatch_once(engine, providers)
        sent += did
        if did == 0:
            break
    with session_factory(engine)() as s:
        rows = list(s.scalars(select(Notification).order_by(Notification.id.desc()).limit(limit)))
    if not rows:
        console.print("no notices have been sent yet")
        return sent
    table = Table("#", "to", "channel", "status", "message", title="Messages the demo citizens received")
    for n in rows:
        body = n.rendered.get(n.channel, {}).get("body", "")
        table.add_row(str(n.id), masked(n.destinations.get(n.channel) or n.recipient_key), n.channel, n.status,
                      body if len(body) < 90 else body[:87] + "…")
    console.print(table)
    console.print("all messages: /notifications/viewer (test mode: nothing left this machine)")
    return sent
