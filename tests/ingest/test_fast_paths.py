"""The per-record fast paths of a bulk run give exactly what the general functions give."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chudong.ingest.pipeline import dumps_flat, dumps_texts
from chudong.privacy.crypto import KeyRing, SealError

_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ring = KeyRing([("k1", b"\x01" * 32)], b"\x02" * 32)
# column-like names plus awkward ones: quotes, backslashes, the sealed names inside other names
_names = st.one_of(st.sampled_from(["pid", "phone", "email", "xpid", 'a"pid', "pi\\d", "income_per_person"]), st.text())


@given(st.dictionaries(_names, st.text()))
@settings(max_examples=200, deadline=None)
def test_dumps_texts_is_the_json_encoder(record):
    assert dumps_texts(record) == _reference(record)


def test_every_code_point_is_spelled_as_the_json_encoder_does():
    # stored content hashes are over this text: a character escaped differently would make every
    # record holding it look changed on the next re-send
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(points), 2048):
        text = "".join(points[i:i + 2048])
        record = {text: text, "pid": "a" + text[::-1], "ward_code": i}
        assert dumps_flat(record) == _reference(record)
        assert dumps_texts({text: text}) == _reference({text: text})


@given(st.dictionaries(_names, st.one_of(st.none(), st.text(), st.integers(), st.booleans(), st.floats())))
@settings(max_examples=300, deadline=None)
def test_values_orjson_spells_otherwise_take_the_json_encoder(record):
    # NaN (json: NaN, orjson: null), integers beyond 64 bits (orjson refuses them), booleans, floats
    record["big"] = 2**64 + len(record)
    assert dumps_flat(record) == _reference(record)
    assert dumps_flat({**record, "nan": float("nan")}) == _reference({**record, "nan": float("nan")})


def test_batch_sealer_and_hashers_match_the_ring():
    sealer = _ring.batch_sealer()
    tokens = [sealer.seal(v, "phone") for v in ["+84912345678", "Nguyễn Thị Ánh", ""] * 2000]
    assert len(set(tokens)) == len(tokens)  # a fresh nonce every value, across refills of the block
    assert [_ring.open(t, "phone") for t in tokens[:3]] == ["+84912345678", "Nguyễn Thị Ánh", ""]
    try:
        _ring.open(tokens[0], "pid")  # the associated data still binds the kind
    except SealError:
        pass
    else:
        raise AssertionError("a phone ciphertext opened as a pid")
    for value in ["048090000001", "Đà Nẵng", ""]:
        assert _ring.hasher("pid")(value) == _ring.blind("pid", value)
        assert _ring.content_hasher()(value) == _ring.content_hash(value)
