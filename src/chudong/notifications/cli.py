"""``chudong notifications …``: preview templates, statistics, provider simulators, operator key."""

from __future__ import annotations

import json
import time
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    """Add the ``notifications`` command group."""
    group = typer.Typer(help="Notifications: templates, delivery statistics, provider simulators.", no_args_is_help=True)
    app.add_typer(group, name="notifications")

    @group.command("preview")
    def preview(
        template: Annotated[str, typer.Argument(help="Template id, e.g. dossier-started.")],
        channel: Annotated[str, typer.Option(help="sms, zalo, email, push or inbox.")] = "sms",
        lang: Annotated[str, typer.Option(help="vi or en.")] = "vi",
        unaccented: Annotated[bool, typer.Option(help="SMS without diacritics (GSM-7).")] = False,
    ) -> None:
        """Render a template with its sample values; for SMS show encoding and segments."""
        from chudong.kit.errors import ChudongError
        from chudong.notifications.templates import get_template
        from chudong.notifications.templates import preview as render_preview

        try:
            r = render_preview(template, channel, lang, unaccented=unaccented)
            version = get_template(template).version
        except ChudongError as exc:
            # One clear line and exit code 2, as the root command does for its own errors.
            Console(stderr=True).print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(2) from None
        console.print(f"[bold]{template}[/bold] v{version} · {channel} · {r.language}")
        if r.subject:
            console.print(f"[bold]{r.subject}[/bold]")
        console.print(r.body, markup=False)
        if r.sms:
            console.print(f"[dim]{r.sms.encoding}, {r.sms.units} characters, {r.sms.segments} segment(s) "
                          f"of {r.sms.per_segment}[/dim]")

    @group.command("stats")
    def stats_cmd(
        since: Annotated[Optional[str], typer.Option(help="First day (YYYY-MM-DD).")] = None,
    ) -> None:
        """Print sent / delivered / failed per day, channel and service."""
        import datetime as dt

        from chudong.cli import require_migrated
        from chudong.db import unit_of_work
        from chudong.notifications.service import stats

        with unit_of_work(require_migrated()) as s:
            rows = stats(s, dt.date.fromisoformat(since) if since else None)
        t = Table("day", "channel", "service", "total", "sent", "delivered", "failed", "pending")
        for r in rows:
            t.add_row(str(r.day), r.channel, r.service or "—", str(r.total), str(r.sent), str(r.delivered),
                      str(r.failed), str(r.pending))
        console.print(t)

    @group.command("operator-key")
    def operator_key_cmd() -> None:
        """Print the interim operator API key (X-Operator-Key) derived from CHUDONG_SECRET_KEY."""
        from chudong.config import get_settings
        from chudong.notifications.routes import operator_key

        console.print(operator_key(get_settings().secret_key))

    @group.command("simulators")
    def simulators(
        port: Annotated[int, typer.Option(help="Port of the first simulator; the second uses port+1.")] = 9101,
        api_key: Annotated[str, typer.Option(help="API key / access token the simulators accept.")] = "sim-key",
        receipts: Annotated[bool, typer.Option(help="Post signed delivery receipts to chudong (base URL).")] = True,
    ) -> None:
        """Serve local provider simulators (two SMS gateways, ZNS, push) until Ctrl+C."""
        from chudong.config import get_settings
        from chudong.notifications.signing import receipt_key
        from chudong.notifications.simulators import ReceiptSender, SimulatorServer

        settings = get_settings()
        rs_a = rs_b = None
        if receipts:
            key = settings.secret_key
            rs_a = ReceiptSender(settings.base_url, {"sms": ("sms-a", receipt_key(key, "sms-a")),
                                                     "zns": ("zalo-zns", receipt_key(key, "zalo-zns"))})
            rs_b = ReceiptSender(settings.base_url, {"sms": ("sms-b", receipt_key(key, "sms-b"))})
        with SimulatorServer("sms-a", api_key, port=port, receipts=rs_a) as a, \
                SimulatorServer("sms-b", api_key, port=port + 1, receipts=rs_b) as b:
            gateways = [{"name": "sms-a", "url": a.url, "api_key": api_key, "priority": 1},
                        {"name": "sms-b", "url": b.url, "api_key": api_key, "priority": 2}]
            console.print("[green]simulators running[/green]; point chudong at them with:")
            console.print(f"  CHUDONG_NOTIFY_MODE=live\n  CHUDONG_NOTIFY_SMS_GATEWAYS='{json.dumps(gateways)}'\n"
                          f"  CHUDONG_NOTIFY_ZALO_URL={a.url}\n  CHUDONG_NOTIFY_ZALO_ACCESS_TOKEN={api_key}\n"
                          f"  CHUDONG_NOTIFY_PUSH_URL={a.url}\n  CHUDONG_NOTIFY_PUSH_TOKEN={api_key}", markup=False)
            try:
                while True:
                    time.sleep(5)
                    console.print(f"sms-a {a.state.stats()} · sms-b {b.state.stats()}", markup=False)
            except KeyboardInterrupt:
                console.print("stopped")
