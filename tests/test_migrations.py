from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from chudong.db import Base, alembic_config, make_engine, pending_migrations, upgrade
from chudong.features import load_models


def test_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_migration_files_are_dated():
    import re

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for rev in script.walk_revisions():
        name = rev.module.__file__.rsplit("/", 1)[-1]
        assert re.match(r"20\d\d_\d\d_\d\d_\d{4}_\w+\.py$", name), name


def test_upgrade_empty_sqlite_creates_every_table(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    assert pending_migrations(engine)
    upgrade(engine)
    assert pending_migrations(engine) == []
    load_models()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_upgrade_on_postgres_matches_models(postgres_engine):
    load_models()
    assert pending_migrations(postgres_engine) == []
    assert set(Base.metadata.tables) <= set(inspect(postgres_engine).get_table_names())


def test_models_match_migrations(engine):
    """Autogenerate finds nothing: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from chudong.db import include_object

    load_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object(engine.dialect.name)})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_pragmas(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path}/roundtrip.db")
    upgrade(engine)
    cfg = alembic_config(engine.url.render_as_string(False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert pending_migrations(engine) == []
