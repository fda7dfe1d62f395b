"""``chudong privacy``: keygen, check, rotate (old and new key), rehash, and a missing key as a clear error."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from chudong.config import get_settings
from chudong.db import make_engine, session_factory, upgrade
from chudong.features import load_models
from chudong.privacy import crypto
from chudong.privacy.crypto import KeyRing, SealError, parse_data_keys, parse_search_key, use_keyring
from chudong.registry.models import Person

PID = "048090012345"


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Invoke the privacy commands in-process on a file database; ``env`` sets the key settings."""
    import typer
    from typer.testing import CliRunner

    from chudong.privacy import cli as privacy_cli

    monkeypatch.setenv("CHUDONG_DATABASE_URL", f"sqlite:///{tmp_path}/live.db")
    monkeypatch.setenv("CHUDONG_ENV", "development")
    monkeypatch.setenv("CHUDONG_SECRET_KEY", "cli-test-secret")
    app = typer.Typer()
    privacy_cli.register(app)
    runner = CliRunner()

    def invoke(*args: str, data_keys: str = "", search_key: str = ""):
        monkeypatch.setenv("CHUDONG_DATA_KEYS", data_keys)
        monkeypatch.setenv("CHUDONG_SEARCH_KEY", search_key)
        get_settings.cache_clear()
        crypto.install(None)  # the ring is rebuilt from these settings
        return runner.invoke(app, ["privacy", *args], catch_exceptions=True)

    yield invoke
    get_settings.cache_clear()
    crypto.install(None)


def test_keygen_rotate_rehash_and_check(cli, tmp_path):
    load_models()
    engine = make_engine(f"sqlite:///{tmp_path}/live.db")
    upgrade(engine)
    assert cli("check").exit_code == 0  # builds the development ring of this secret
    dev = crypto.keyring()
    with session_factory(engine)() as s:
        s.add(Person(pid=PID, full_name="Nguyễn Văn An", name_key="nguyen van an", birth_date=dt.date(1990, 1, 2),
                     sex="M", phone="+84912345678", email="an@example.vn"))
        s.commit()

    r = cli("check")
    assert r.exit_code == 0, r.output
    assert "key dev (current)" in r.output and "every value opens" in r.output

    new_key = cli("keygen", "--id", "k2").output.strip()
    assert new_key.startswith("k2:") and len(parse_data_keys(new_key)[0][1]) == 32
    r = cli("check", data_keys=new_key)  # outside production the derived key still opens old values
    assert r.exit_code == 0 and "sealed with an older key" in r.output
    r = cli("rotate", data_keys=new_key)
    assert r.exit_code == 0, r.output
    assert "person.pid" in r.output and "3 values re-sealed" in r.output
    assert "sealed with an older key" not in cli("check", data_keys=new_key).output

    k2 = KeyRing(parse_data_keys(new_key), dev._search_key)  # the old key is no longer needed
    with use_keyring(k2), session_factory(engine)() as s:
        assert s.scalar(select(Person.phone).where(Person.pid == PID)) == "+84912345678"

    search = cli("keygen").output.strip()
    stale = cli("check", data_keys=new_key, search_key=search)
    assert stale.exit_code == 1 and "rehash" in stale.output
    r = cli("rehash", data_keys=new_key, search_key=search)
    assert r.exit_code == 0 and "3 values re-hashed" in r.output
    assert cli("check", data_keys=new_key, search_key=search).exit_code == 0
    with use_keyring(KeyRing(parse_data_keys(new_key), parse_search_key(search))), session_factory(engine)() as s:
        assert s.scalar(select(Person.email).where(Person.phone == "+84912345678")) == "an@example.vn"

    other = cli("keygen", "--id", "k3").output.strip()
    missing = cli("check", data_keys=other, search_key=search)
    assert isinstance(missing.exception, SealError)  # `chudong` prints it as one line, exit code 2
    assert "data key 'k2', which is not configured" in missing.exception.message
    engine.dispose()
