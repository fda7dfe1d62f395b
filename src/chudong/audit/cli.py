"""CLI: ``chudong audit verify`` and ``chudong audit anchor``."""

from __future__ import annotations

import re
from typing import Annotated, NoReturn, Optional

import typer

_ANCHOR_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


def parse_anchor(value: str) -> tuple[int, str]:
    """Parse a published anchor given as SEQ:HASH."""
    m = _ANCHOR_RE.match(value.strip().lower())
    if not m:
        raise ValueError(f"--anchor {value!r} is not SEQ:HASH (e.g. 1200:3f5a…, 64 hex digits), as printed by `chudong audit anchor`")
    return int(m.group(1)), m.group(2)


def fail(message: str) -> NoReturn:
    """Print a user error as one line and exit 2 (the ``chudong`` CLI's convention)."""
    from chudong.cli import err

    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` commands."""
    audit = typer.Typer(help="Tamper-evident audit log: verify the hash chain, print anchors.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify_cmd(
        anchor: Annotated[Optional[list[str]], typer.Option(
            "--anchor", help="A published anchor SEQ:HASH to check against (repeatable).")] = None,
    ) -> None:
        """Check every entry and anchor; exit 1 naming the first broken entry."""
        from chudong.audit.service import verify
        from chudong.cli import console, err, require_migrated
        from chudong.db import unit_of_work

        try:
            external = [parse_anchor(a) for a in anchor or []]
        except ValueError as exc:
            fail(str(exc))
        with unit_of_work(require_migrated()) as session:
            report = verify(session, external)
        if report.ok:
            console.print(report.summary(), highlight=False)
            return
        err.print(report.summary(), highlight=False)
        raise typer.Exit(1)

    @audit.command("anchor")
    def anchor_cmd(
        write: Annotated[bool, typer.Option("--write", help="Anchor the current tail first.")] = False,
    ) -> None:
        """Print the latest anchor as SEQ:HASH, for publishing off-site (e-mail, gazette, another agency)."""
        from chudong.audit.service import latest_anchor, write_anchor
        from chudong.cli import console, err, require_migrated
        from chudong.db import unit_of_work

        with unit_of_work(require_migrated()) as session:
            if write:
                write_anchor(session)
            a = latest_anchor(session)
        if a is None:
            err.print("no anchor yet (the audit log is empty); run `chudong audit anchor --write` after the first entry")
            raise typer.Exit(1)
        console.print(f"{a.seq}:{a.hash}", highlight=False)
        err.print(f"anchored at {a.at.isoformat()}", highlight=False, style="dim")
