"""CLI: ``chudong bus relay``, ``chudong bus tail`` and ``chudong bus status``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer


def fail(message: str) -> NoReturn:
    """Print a user error as one line and exit 2 (the ``chudong`` CLI's convention)."""
    from chudong.cli import err

    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``bus`` commands."""
    bus = typer.Typer(help="Inter-agency event bus (NATS JetStream): relay and subscribe.", no_args_is_help=True)
    app.add_typer(bus, name="bus")

    @bus.command("relay")
    def relay_cmd(
        once: Annotated[bool, typer.Option("--once", help="Publish one batch and exit.")] = False,
        every: Annotated[float, typer.Option(help="Seconds between runs when idle.")] = 0.5,
    ) -> None:
        """Publish unpublished domain events to JetStream (the worker's bus.relay job does the same)."""
        from chudong.bus.relay import relay_once
        from chudong.cli import console, require_migrated

        engine = require_migrated()
        while True:
            r = relay_once(engine)
            if once:
                console.print(f"published {r.published} events ({r.duplicates} already in the stream)"
                              + (f"; stopped: {r.error}" if r.error else ""), highlight=False)
                raise typer.Exit(1 if r.error else 0)
            if r.published == 0:
                time.sleep(every)

    @bus.command("tail")
    def tail_cmd(
        durable: Annotated[str, typer.Option("--durable", help="Durable consumer name (your agency's subscription).")],
        count: Annotated[Optional[int], typer.Option(help="Stop after this many new events.")] = None,
        idle: Annotated[Optional[float], typer.Option(help="Stop after this many seconds without messages.")] = None,
        seen_file: Annotated[Optional[Path], typer.Option(help="File of handled event ids, kept across runs.")] = None,
    ) -> None:
        """Print events as JSON lines: durable pull consumer, de-duplicated by event id, acked."""
        import re

        import nats.errors

        from chudong.bus.consumer import ReceivedEvent, SeenIds, tail
        from chudong.cli import err

        if not re.match(r"^[A-Za-z0-9_-]+$", durable):
            fail(f"--durable {durable!r} may contain only letters, digits, '-' and '_'")

        def show(e: ReceivedEvent) -> None:
            print(json.dumps(e.__dict__, ensure_ascii=False), flush=True)

        seen = SeenIds(seen_file)
        try:
            r = tail(durable=durable, handler=show, seen=seen, max_events=count, idle_seconds=idle)
        except (OSError, nats.errors.Error) as exc:
            fail(f"cannot reach NATS: {type(exc).__name__} {exc}".strip())
        finally:
            seen.close()
        err.print(f"{r.handled} events handled, {r.duplicates} duplicate deliveries skipped")

    @bus.command("status")
    def status_cmd() -> None:
        """Say how many events wait for the relay."""
        from chudong.bus.service import pending_count
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work

        with unit_of_work(require_migrated()) as session:
            n = pending_count(session)
        console.print(f"{n} events waiting to be published")
