"""CLI: ``chudong generate`` writes a synthetic province's agency feeds and ground truth."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the ``generate`` command."""

    @app.command("generate")
    def generate_command(
        people: Annotated[int, typer.Option("--people", help="Number of residents to generate.")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 1,
        out: Annotated[Path, typer.Option("--out", help="Directory to write the feeds into.")] = Path("var/synth"),
        province: Annotated[Optional[int], typer.Option("--province", help="Province code (default: configured).")] = None,
        legacy_share: Annotated[float, typer.Option("--legacy-share", help="Share of records with a pre-2025 ward code.")] = 0.08,
        workers: Annotated[int, typer.Option("--workers", help="Worker processes (default: CPU count, at most 4).")] = 0,
        noise: Annotated[str, typer.Option("--noise", help="Noise profile: synth (independent per-field noise) or "
                                           "agencies (source systems' habits and twins).")] = "synth",
    ) -> None:
        """Generate a synthetic province: every agency feed in its real format, with ground truth."""
        from dataclasses import replace

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from chudong.cli import CliError, console
        from chudong.config import get_settings
        from chudong.kit import clock
        from chudong.synth.generator import PROFILES, GeneratorConfig, NoiseShares, generate

        if people < 1:
            raise CliError("--people must be at least 1")
        if not 0.0 <= legacy_share <= 1.0:
            raise CliError("--legacy-share must be between 0 and 1")
        if noise not in PROFILES:
            raise CliError(f"--noise must be one of: {', '.join(PROFILES)}")
        code = province or get_settings().province_code
        cfg = GeneratorConfig(people=people, seed=seed, as_of=clock.today(), province_code=code,
                              noise=replace(NoiseShares(), legacy_ward=legacy_share), profile=noise)
        n_workers = workers or min(os.cpu_count() or 1, 4)
        try:
            with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as progress:
                task = progress.add_task("people", total=people)
                manifest = generate(cfg, out, workers=n_workers, on_chunk=lambda n: progress.advance(task, n))
        except ValueError as exc:
            raise CliError(str(exc)) from None
        table = Table("file", "records", title=f"{manifest.province_name}, seed {seed}, as of {manifest.as_of}")
        for name, count in manifest.counts.items():
            table.add_row(name, f"{count:,}")
        console.print(table)
        console.print(f"written to {out}")
