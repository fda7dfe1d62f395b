"""Backup → damage → restore brings back the same rows and the same audit chain, on both backends."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from chudong.audit import service as audit
from chudong.backup.service import backup, restore, table_counts
from chudong.kit.errors import Unprocessable
from chudong.registry.models import Agency
from chudong.workcal.models import CalendarOverrideRow


def seed(session) -> None:
    """Some audit entries, agencies and calendar overrides."""
    session.add_all([Agency(code="hospital-dn", name="Bệnh viện Đà Nẵng", kind="hospital"),
                     Agency(code="police-dn", name="Công an TP Đà Nẵng", kind="police")])
    session.add(CalendarOverrideRow(day=dt.date(2026, 12, 31), kind="off", reason="quyết định", legal_reference="QĐ 1"))
    for i in range(7):
        audit.record(session, actor="officer:1", action="person.view", subject_kind="person", subject_id=str(i),
                     purpose="birth registration", details={"i": i})
    audit.write_anchor(session)
    session.commit()


def test_round_trip_restores_counts_and_audit_chain(engine, session, clock, tmp_path):
    seed(session)
    before = table_counts(engine)
    chain = audit.verify(session)
    assert chain.ok and chain.entries == 7
    out = tmp_path / "chudong.backup"
    result = backup(engine, out)
    assert result.path == out and out.stat().st_size > 0 and result.backend == engine.dialect.name

    # Damage: lose entries and an agency, add rows that did not exist at backup time.
    session.execute(text("DELETE FROM audit_entry WHERE seq > 3"))
    session.execute(text("DELETE FROM agency WHERE code = 'police-dn'"))
    session.execute(text("UPDATE calendar_override SET kind = 'working'"))
    session.commit()
    session.expunge_all()
    assert not audit.verify(session).ok  # the anchor at seq 7 sees the cut tail
    session.add(Agency(code="water-dn", name="Cấp nước Đà Nẵng", kind="water"))
    session.commit()
    session.close()

    restore(engine, out)

    assert table_counts(engine) == before
    from chudong.db import session_factory

    with session_factory(engine)() as s:
        after = audit.verify(s)
        assert after.ok, after.summary()
        assert (after.entries, after.last_hash) == (7, chain.last_hash)
        assert s.get(Agency, "police-dn") is not None and s.get(Agency, "water-dn") is None
        assert s.get(CalendarOverrideRow, dt.date(2026, 12, 31)).kind == "off"


def test_backup_never_overwrites(engine, tmp_path):
    out = tmp_path / "exists.backup"
    out.write_bytes(b"old")
    with pytest.raises(Unprocessable):
        backup(engine, out)
    assert out.read_bytes() == b"old"


def test_restore_refuses_a_file_of_the_other_backend(engine, tmp_path):
    wrong = tmp_path / "wrong.backup"
    wrong.write_bytes(b"PGDMP..." if engine.dialect.name == "sqlite" else b"SQLite format 3\x00...")
    with pytest.raises(Unprocessable, match="is not a"):
        restore(engine, wrong)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chudong.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=180)


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Invoke the audit/backup commands in-process on a file database of their own."""
    import typer
    from typer.testing import CliRunner

    from chudong.audit import cli as audit_cli
    from chudong.backup import cli as backup_cli
    from chudong.config import get_settings

    url = f"sqlite:///{tmp_path}/live.db"
    monkeypatch.setenv("CHUDONG_DATABASE_URL", url)
    monkeypatch.setenv("CHUDONG_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    app = typer.Typer()
    audit_cli.register(app)
    backup_cli.register(app)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    invoke.url = url
    yield invoke
    get_settings.cache_clear()


def test_cli_backup_restore_and_audit_verify_on_a_file_database(cli, tmp_path):
    """End to end through the commands an operator types."""
    from chudong.db import make_engine, session_factory, upgrade

    eng = make_engine(cli.url)
    upgrade(eng)
    with session_factory(eng)() as s:
        for i in range(3):
            audit.record(s, actor="a", action="x", subject_kind="k", subject_id=str(i))
        s.commit()

    r = cli("audit", "verify")
    assert r.exit_code == 0 and "chain intact: 3 entries" in r.stdout, r.output
    r = cli("audit", "anchor", "--write")
    assert r.exit_code == 0, r.output
    published = r.stdout.strip().splitlines()[0]
    assert published.startswith("3:") and len(published) == 2 + 64

    r = cli("backup", "--out", str(tmp_path / "b.sqlite"))
    assert r.exit_code == 0 and "backup written" in r.stdout, r.output

    with eng.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET subject_id = 'changed' WHERE seq = 2"))
    # Once through the real entry point: exit 1 and the broken seq on stderr.
    r = run_cli("audit", "verify", "--anchor", published,
                env={"CHUDONG_DATABASE_URL": cli.url, "CHUDONG_DATA_DIR": str(tmp_path)})
    assert r.returncode == 1 and "BROKEN at seq 2: edited" in r.stderr, r.stderr

    r = cli("restore", str(tmp_path / "b.sqlite"), "--yes")
    assert r.exit_code == 0, r.output
    assert "audit: chain intact: 3 entries" in r.stdout
    r = cli("audit", "verify", "--anchor", published)
    assert r.exit_code == 0, r.output

    r = cli("audit", "verify", "--anchor", "nonsense")
    assert r.exit_code == 2 and "is not SEQ:HASH" in r.output
    r = cli("restore", str(tmp_path / "missing.sqlite"), "--yes")
    assert r.exit_code == 2 and "does not exist" in r.output
    eng.dispose()
