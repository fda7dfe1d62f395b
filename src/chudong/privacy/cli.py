"""CLI: ``chudong privacy keygen | check | rotate | rehash`` (keys of personal data at rest)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the ``privacy`` commands."""
    privacy = typer.Typer(help="Personal data at rest: encryption keys, key rotation, search hashes.",
                          no_args_is_help=True)
    app.add_typer(privacy, name="privacy")

    @privacy.command("keygen")
    def keygen(
        key_id: Annotated[Optional[str], typer.Option("--id", help="Print as <id>:<key>, ready for CHUDONG_DATA_KEYS.")] = None,
    ) -> None:
        """Print a new random 256-bit key (base64) for CHUDONG_DATA_KEYS or CHUDONG_SEARCH_KEY."""
        from chudong.cli import CliError
        from chudong.privacy.crypto import KeySpecError, generate_key, parse_data_keys

        key = generate_key()
        if key_id is None:
            typer.echo(key)
            return
        try:
            parse_data_keys(f"{key_id}:{key}")
        except KeySpecError as exc:
            raise CliError(str(exc)) from None
        typer.echo(f"{key_id}:{key}")

    @privacy.command("check")
    def check() -> None:
        """Count, per protected column, the values each data key sealed; open them all; find stale search hashes."""
        from rich.table import Table

        from chudong.cli import console
        from chudong.privacy.crypto import keyring

        ring = keyring()
        report = _walk("check", 2000, "checking")
        table = Table("column", "values", *(f"key {k}" + (" (current)" if k == ring.current else "") for k in ring.kids),
                      "other", "stale hashes", title=f"sealed values per data key (current: {ring.current})")
        trouble = 0
        for name in _names():
            counts = report.key_counts(name)
            other = sum(v for k, v in counts.items() if k not in ring.kids)
            stale = report.hashes_wrong[name]
            trouble += other + stale
            table.add_row(name, f"{sum(counts.values()):,}", *(f"{counts[k]:,}" for k in ring.kids),
                          f"{other:,}", f"{stale:,}")
        console.print(table)
        old = sum(report.key_counts(n)[k] for n in _names() for k in ring.kids if k != ring.current)
        if old:
            console.print(f"{old:,} values are sealed with an older key: run `chudong privacy rotate`, "
                          "then drop that key from CHUDONG_DATA_KEYS")
        if trouble:
            console.print("[red]values not sealed by a configured key, or search hashes that do not match "
                          "CHUDONG_SEARCH_KEY (run `chudong privacy rehash`)[/red]")
            raise typer.Exit(1)
        console.print("every value opens with the configured keys and every search hash is current")

    @privacy.command("rotate")
    def rotate(
        batch: Annotated[int, typer.Option(help="Rows per transaction.", min=1)] = 2000,
    ) -> None:
        """Re-seal every protected value under the current data key (the first of CHUDONG_DATA_KEYS); safe to re-run."""
        from chudong.cli import console
        from chudong.privacy.crypto import keyring

        report = _walk("rotate", batch, f"re-sealing under key {keyring().current}")
        _print_changes(console, report, "re-sealed")
        console.print("when `chudong privacy check` shows no value under an older key, remove that key")

    @privacy.command("rehash")
    def rehash(
        batch: Annotated[int, typer.Option(help="Rows per transaction.", min=1)] = 2000,
    ) -> None:
        """Recompute every search hash and record digest with the current CHUDONG_SEARCH_KEY (after changing it)."""
        from chudong.cli import console

        report = _walk("rehash", batch, "recomputing search hashes")
        _print_changes(console, report, "re-hashed")


def _names() -> list[str]:
    from chudong.privacy.service import protected_names

    return protected_names()


def _walk(mode, batch: int, label: str):  # type: ignore[no-untyped-def]
    """Run one privacy operation over the database with a progress bar; each batch commits on its own."""
    import sqlalchemy as sa
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from chudong.cli import console, require_migrated
    from chudong.privacy.service import PROTECTED, run

    engine = require_migrated()
    tables = list(dict.fromkeys(s.table for s in PROTECTED))
    with engine.connect() as conn:
        totals = {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in tables}
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            tasks = {t: bar.add_task(f"{label}: {t}", total=totals[t]) for t in tables}

            def done(table: str, rows: int) -> None:
                # a batch is its own transaction: no lock is held for the whole walk, and an
                # interrupted run resumes where it stopped (values under either key open)
                conn.commit()
                bar.advance(tasks[table], rows)

            report = run(conn, mode, batch=batch, progress=done)
            conn.commit()
    return report


def _print_changes(console, report, verb: str) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table("column", "values read", verb)
    for name in _names():
        table.add_row(name, f"{report.rows[name]:,}", f"{report.changed[name]:,}")
    console.print(table)
    console.print(f"{sum(report.changed.values()):,} values {verb} in {len(_names())} columns")
