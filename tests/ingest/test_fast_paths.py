"""The per-record fast paths of a bulk run give exactly what the general functions give."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chudong.ingest.pipeline import dumps_flat, dumps_texts, with_sealed
from chudong.privacy.crypto import KeyRing, SealError

_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ring = KeyRing([("k1", b"\x01" * 32)], b"\x02" * 32)
# column-like names plus awkward ones: quotes, backslashes, the sealed names inside other names
_names = st.one_of(st.sampled_from(["pid", "phone", "email", "xpid", 'a"pid', "pi\\d", "income_per_person"]), st.text())


@given(st.dictionaries(_names, st.text()))
@settings(max_examples=200, deadline=None)
def test_dumps_texts_is_the_json_encoder(record):
    assert dumps_texts(record) == _reference(record)


@given(st.dictionaries(_names, st.one_of(st.none(), st.text(), st.integers())), st.data())
@settings(max_examples=300, deadline=None)
def test_sealed_values_swapped_in_place_equal_a_fresh_encoding(norm, data):
    # values of other fields may spell out a sealed field's key and value, e.g. '"pid":"0480"'
    names = [n for n, v in norm.items() if v is not None]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True) if names else st.just([]))
    for other in norm:
        if other not in chosen and chosen and data.draw(st.booleans()):
            target = chosen[0]
            norm[other] = f'x,"{target}":{_reference(norm[target])}'
    sealed = {name: _ring.seal(str(norm[name]), "pid") for name in chosen}
    if chosen and data.draw(st.booleans()):  # a key holding the sealed key's spelling, before it
        norm = {f'a"{chosen[0]}': norm[chosen[0]], **norm}
    assert with_sealed(dumps_flat(norm), norm, sealed) == _reference({**norm, **sealed})


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
