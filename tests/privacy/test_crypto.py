import base64
import os

import pytest

from chudong.config import ConfigError, Settings
from chudong.privacy.crypto import (
    DEV_KID, KeyRing, KeySpecError, SealError, generate_key, kid_of, parse_data_keys, ring_from_settings,
)


def ring(*kids: str, search: bytes = b"s" * 32) -> KeyRing:
    return KeyRing([(k, k.encode().ljust(32, b"!")) for k in kids], search)


def test_seal_opens_and_hides_the_value():
    r = ring("k1")
    token = r.seal("048090012345", "pid")
    assert token.startswith("v1.k1.") and "048090012345" not in token
    assert r.open(token, "pid") == "048090012345"


def test_every_seal_uses_a_new_nonce():
    r = ring("k1")
    assert r.seal("+84912345678", "phone") != r.seal("+84912345678", "phone")


def test_old_key_opens_after_rotation_and_reseal_moves_to_the_current_key():
    old = ring("k1")
    token = old.seal("a@b.vn", "email")
    new = ring("k2", "k1")
    assert new.open(token, "email") == "a@b.vn"
    moved = new.reseal(token, "email")
    assert kid_of(moved) == "k2" and new.open(moved, "email") == "a@b.vn"
    assert new.reseal(moved, "email") == moved  # already current: unchanged


def test_missing_key_is_a_clear_error_naming_the_key():
    token = ring("k1").seal("048090012345", "pid")
    with pytest.raises(SealError) as exc:
        ring("k2").open(token, "pid")
    assert "'k1'" in exc.value.message and "not configured" in exc.value.message
    assert "048090012345" not in exc.value.message


def test_wrong_key_with_the_same_id_is_refused_not_garbled():
    token = ring("k1").seal("048090012345", "pid")
    impostor = KeyRing([("k1", b"x" * 32)], b"s" * 32)
    with pytest.raises(SealError, match="does not open with data key 'k1'"):
        impostor.open(token, "pid")


def test_altered_ciphertext_and_plaintext_are_refused():
    r = ring("k1")
    token = r.seal("048090012345", "pid")
    blob = bytearray(base64.b64decode(token.split(".", 2)[2]))
    blob[-1] ^= 1
    with pytest.raises(SealError, match="altered"):
        r.open("v1.k1." + base64.b64encode(bytes(blob)).decode(), "pid")
    with pytest.raises(SealError, match="not encrypted"):
        r.open("048090012345", "pid")


def test_a_value_sealed_as_one_kind_does_not_open_as_another():
    r = ring("k1")
    with pytest.raises(SealError):
        r.open(r.seal("+84912345678", "phone"), "pid")


def test_search_hash_is_keyed_deterministic_and_kind_separated():
    a, b = ring("k1", search=b"a" * 32), ring("k1", search=b"b" * 32)
    assert a.blind("pid", "048090012345") == a.blind("pid", "048090012345")
    assert len(a.blind("pid", "048090012345")) == 32
    assert a.blind("pid", "048090012345") != b.blind("pid", "048090012345")
    assert a.blind("pid", "0912") != a.blind("phone", "0912")


def test_parse_data_keys_checks_ids_lengths_and_duplicates():
    k = generate_key()
    assert [kid for kid, _ in parse_data_keys(f"k2:{k}, k1:{generate_key()}")] == ["k2", "k1"]
    with pytest.raises(KeySpecError, match="32 bytes"):
        parse_data_keys("k1:" + base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(KeySpecError, match="twice"):
        parse_data_keys(f"k1:{k},k1:{k}")
    with pytest.raises(KeySpecError, match="key id"):
        parse_data_keys(f"bad id:{k}")
    with pytest.raises(KeySpecError, match="base64"):
        parse_data_keys("k1:not*base64")


def test_production_refuses_to_start_without_keys():
    with pytest.raises(ValueError, match="CHUDONG_DATA_KEYS and CHUDONG_SEARCH_KEY must be set"):
        Settings(env="production", secret_key="x" * 40)
    with pytest.raises(ValueError, match="CHUDONG_DATA_KEYS"):
        Settings(env="test", data_keys="k1:short")
    s = Settings(env="production", secret_key="x" * 40, data_keys=f"k1:{generate_key()}", search_key=generate_key())
    r = ring_from_settings(s)
    assert r.kids == ("k1",)  # no development key in production


def test_development_derives_keys_and_keeps_the_derived_one_for_reading():
    dev = ring_from_settings(Settings(env="development"))
    assert dev.kids == (DEV_KID,) and dev.dev_derived
    token = dev.seal("048090012345", "pid")
    with_real = ring_from_settings(Settings(env="development", data_keys=f"k1:{generate_key()}"))
    assert with_real.kids == ("k1", DEV_KID) and with_real.open(token, "pid") == "048090012345"
    other_secret = ring_from_settings(Settings(env="development", secret_key="another"))
    with pytest.raises(SealError, match="did the secret change"):
        other_secret.open(token, "pid")


def test_ring_from_settings_reports_malformed_keys_as_config_errors():
    s = Settings.model_construct(env="development", secret_key="x", data_keys="k1:AAAA", search_key="")
    with pytest.raises(ConfigError, match="CHUDONG_DATA_KEYS"):
        ring_from_settings(s)
