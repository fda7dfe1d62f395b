"""CLI: ``chudong units load`` and ``chudong units show``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add the ``units`` commands."""
    units = typer.Typer(help="Administrative units (2025 wards, legacy codes, mapping).", no_args_is_help=True)
    app.add_typer(units, name="units")

    @units.command("load")
    def load() -> None:
        """Load provinces, wards, legacy wards and the old→new mapping into the database."""
        from chudong.cli import console, require_migrated
        from chudong.config import get_settings
        from chudong.db import unit_of_work
        from chudong.geo.service import load_units

        with unit_of_work(require_migrated()) as session:
            r = load_units(session, get_settings().ward_classes_file)
        if r.skipped:
            console.print("administrative units already loaded (same version)")
        else:
            console.print(f"loaded {r.provinces} provinces, {r.wards} wards, {r.legacy_wards} legacy wards, {r.mappings} mappings")

    @units.command("show")
    def show(province: Annotated[int, typer.Option(help="Province code (default: configured).")] = 0) -> None:
        """List the wards of a province with their area class."""
        from sqlalchemy import select

        from chudong.cli import console, require_migrated
        from chudong.config import get_settings
        from chudong.db import unit_of_work
        from chudong.geo.models import Ward

        code = province or get_settings().province_code
        with unit_of_work(require_migrated()) as session:
            rows = session.scalars(select(Ward).where(Ward.province_code == code).order_by(Ward.code)).all()
        table = Table("code", "name", "type", "class")
        for w in rows:
            table.add_row(str(w.code), w.name, w.division_type, w.area_class)
        console.print(table)
