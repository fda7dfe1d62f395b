"""CLI: ``chudong backup`` and ``chudong restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer


def fail(message: str) -> NoReturn:
    """Print a user error as one line and exit 2 (the ``chudong`` CLI's convention)."""
    from chudong.cli import err

    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``backup`` and ``restore`` commands."""

    @app.command("backup")
    def backup_cmd(
        out: Annotated[Optional[Path], typer.Option("--out", help="Backup file (default: <data dir>/backups/chudong-<time>.*).")] = None,
    ) -> None:
        """Write a consistent backup of the database (SQLite online backup, PostgreSQL pg_dump)."""
        from chudong.backup.service import backup, default_path
        from chudong.cli import console, engine
        from chudong.config import get_settings
        from chudong.kit.errors import ChudongError

        eng = engine()
        target = out or default_path(get_settings().data_dir, eng.dialect.name)
        try:
            r = backup(eng, target)
        except ChudongError as exc:
            fail(exc.message)
        console.print(f"backup written: {r.path} ({r.size:,} bytes, {r.backend})", highlight=False)

    @app.command("restore")
    def restore_cmd(
        file: Annotated[Path, typer.Argument(help="A file written by `chudong backup`.")],
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Replace the database with a backup, then verify the audit chain (stop serve and worker first)."""
        from chudong.audit.service import verify
        from chudong.backup.service import restore, table_counts
        from chudong.cli import console, engine, err
        from chudong.db import unit_of_work
        from chudong.kit.errors import ChudongError

        eng = engine()
        where = eng.url.render_as_string(hide_password=True)
        if not yes and not typer.confirm(f"Replace every table of {where} with {file}?"):
            fail("restore cancelled; nothing was changed")
        try:
            restore(eng, file)
        except ChudongError as exc:
            fail(exc.message)
        counts = table_counts(eng)
        console.print(f"restored {file} into {where}: {len(counts)} tables, {sum(counts.values()):,} rows", highlight=False)
        with unit_of_work(eng) as session:
            report = verify(session)
        (console if report.ok else err).print(f"audit: {report.summary()}", highlight=False)
        if not report.ok:
            raise typer.Exit(1)
