"""Sealing personal data at rest: AES-256-GCM per value, keys by id, HMAC-SHA256 search hashes.

A sealed value is stored as text: ``v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>``.

- The nonce is 12 random bytes per value. With random nonces NIST SP 800-38D allows at most
  2^32 encryptions under one key; a province seals a few values per record and re-seals
  everything on rotation, so rotating keys yearly keeps several orders of magnitude below.
- The associated data is ``chudong/v1/<kind>`` (``pid``, ``phone``, ``email``, ``income``,
  ``record``, ``contact``): a ciphertext copied from one kind of field into another does not
  open.
- The key id says which key of ``CHUDONG_DATA_KEYS`` sealed the value: the first key seals,
  every listed key opens, so keys rotate without a flag day (``chudong privacy rotate``
  re-seals old values under the current key).

A *search hash* (blind index) is the first 128 bits of HMAC-SHA256(search key,
``kind ‖ 0x00 ‖ value``) in hex: equal values give equal hashes, so look-ups, joins and
unique constraints work on the hashes while the database never holds the value. The key
is separate from the data keys so that one leaked key does not give away both.

An opening failure is always a ``SealError`` naming the kind and the key id — never a
garbled value, and never the value itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chudong.kit.errors import ChudongError

if TYPE_CHECKING:
    from chudong.config import Settings

PREFIX = "v1."
NONCE_BYTES = 12
KEY_BYTES = 32
HASH_CHARS = 32  # hex characters of a search hash (128 bits)
DEV_KID = "dev"
# kinds whose plaintext is an integer (sealed as its decimal text)
INT_KINDS = frozenset({"income"})
_KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class SealError(ChudongError):
    """A stored value cannot be opened: unknown key id, wrong key, altered or unencrypted data."""

    status_code = 503
    code = "data_key_error"


class KeySpecError(ValueError):
    """A key setting is malformed; the message names the setting and the fix."""


def generate_key() -> str:
    """Return a new random 256-bit key as base64 (for CHUDONG_DATA_KEYS / CHUDONG_SEARCH_KEY)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _decode_key(text: str, setting: str, what: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(padded, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError):
        raise KeySpecError(f"{setting}: {what} is not base64; make one with `chudong privacy keygen`") from None
    if len(key) != KEY_BYTES:
        raise KeySpecError(f"{setting}: {what} is {len(key)} bytes; it must be {KEY_BYTES} bytes (256 bits), "
                           "e.g. from `chudong privacy keygen`")
    return key


def parse_data_keys(spec: str) -> list[tuple[str, bytes]]:
    """Parse ``"k2:<base64>,k1:<base64>"`` into [(key id, key)], the current key first."""
    out: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        kid = kid.strip()
        if not sep or not _KID.match(kid):
            raise KeySpecError("CHUDONG_DATA_KEYS: each entry is <key id>:<base64 key>, the key id 1-16 letters, "
                               "digits, - or _ (e.g. 2026a:AbC...=), entries separated by commas")
        if any(k == kid for k, _ in out):
            raise KeySpecError(f"CHUDONG_DATA_KEYS: key id {kid!r} is listed twice")
        out.append((kid, _decode_key(b64, "CHUDONG_DATA_KEYS", f"the key {kid!r}")))
    if not out:
        raise KeySpecError("CHUDONG_DATA_KEYS is empty; set <key id>:<base64 key> (see `chudong privacy keygen`)")
    return out


def parse_search_key(spec: str) -> bytes:
    """Parse the base64 search-hash key."""
    return _decode_key(spec, "CHUDONG_SEARCH_KEY", "the key")


def derive_dev_key(secret: str, purpose: str) -> bytes:
    """Return a deterministic development key derived from the secret key (never used in production)."""
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None,
                info=f"chudong {purpose} v1".encode()).derive(secret.encode())


def _aad(kind: str) -> bytes:
    return b"chudong/v1/" + kind.encode()


class KeyRing:
    """Data keys by id (the first seals, all open) and the search-hash key."""

    def __init__(self, data_keys: Sequence[tuple[str, bytes]], search_key: bytes, *, dev_derived: bool = False) -> None:
        if not data_keys:
            raise KeySpecError("a key ring needs at least one data key")
        for kid, key in data_keys:
            if not _KID.match(kid) or len(key) != KEY_BYTES:
                raise KeySpecError(f"data key {kid!r}: the id must be 1-16 letters, digits, - or _ and the key 32 bytes")
        if len(search_key) < KEY_BYTES:
            raise KeySpecError("the search key must be at least 32 bytes")
        self.kids: tuple[str, ...] = tuple(kid for kid, _ in data_keys)
        if len(set(self.kids)) != len(self.kids):
            raise KeySpecError("a data key id is listed twice")
        self.current = self.kids[0]
        self.dev_derived = dev_derived
        # one AESGCM object per key, reused: building one costs more than sealing a value
        self._aead = {kid: AESGCM(key) for kid, key in data_keys}
        self._seal_with = self._aead[self.current]
        self._seal_prefix = f"{PREFIX}{self.current}."
        self._search_key = search_key
        self._macs: dict[str, hmac.HMAC] = {}
        self._aads: dict[str, bytes] = {}

    # -- sealing ---------------------------------------------------------------------------
    def seal(self, value: str, kind: str) -> str:
        """Return ``value`` sealed under the current key (a new random nonce every time)."""
        aad = self._aads.get(kind) or self._aads.setdefault(kind, _aad(kind))
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._seal_with.encrypt(nonce, value.encode(), aad)
        return self._seal_prefix + binascii.b2a_base64(blob, newline=False).decode("ascii")

    def open(self, token: str, kind: str) -> str:
        """Return the plaintext of a sealed value, or raise ``SealError`` saying why it cannot be opened."""
        if not isinstance(token, str) or not token.startswith(PREFIX):
            raise SealError(f"a stored {kind} value is not encrypted (expected {PREFIX}<key id>.<data>); "
                            "the database was written around the encryption layer or not migrated "
                            "(`chudong db upgrade`)")
        dot = token.find(".", len(PREFIX))
        kid = token[len(PREFIX):dot] if dot > 0 else ""
        aead = self._aead.get(kid)
        if aead is None:
            raise SealError(f"a stored {kind} value is sealed with data key {kid!r}, which is not configured "
                            f"(the key ring has {', '.join(self.kids)}): put that key back in CHUDONG_DATA_KEYS "
                            "(after the current one), then run `chudong privacy rotate`")
        aad = self._aads.get(kind) or self._aads.setdefault(kind, _aad(kind))
        try:
            blob = binascii.a2b_base64(token[dot + 1:], strict_mode=True)
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode()
        except (InvalidTag, ValueError):  # binascii.Error and UnicodeDecodeError are ValueErrors
            hint = (" (a development key derived from CHUDONG_SECRET_KEY: did the secret change?)"
                    if kid == DEV_KID else "")
            raise SealError(f"a stored {kind} value does not open with data key {kid!r}: the key is not the one "
                            f"that sealed it, or the stored value was altered{hint}") from None

    def reseal(self, token: str, kind: str) -> str:
        """Return ``token`` sealed under the current key (unchanged when it already is)."""
        if token.startswith(self._seal_prefix):
            self.open(token, kind)  # still prove it opens: rotation must not carry broken values along
            return token
        return self.seal(self.open(token, kind), kind)

    # -- search hashes ---------------------------------------------------------------------
    def blind(self, kind: str, value: str) -> str:
        """Return the search hash of ``value`` as ``kind`` (32 hex characters)."""
        mac = self._macs.get(kind)
        if mac is None:
            mac = self._macs[kind] = hmac.new(self._search_key, kind.encode() + b"\x00", hashlib.sha256)
        h = mac.copy()
        h.update(value.encode())
        return h.hexdigest()[:HASH_CHARS]

    def content_hash(self, text: str) -> str:
        """Return a keyed SHA-256 of a whole record (change detection that cannot be brute-forced)."""
        mac = self._macs.get("\x00record")
        if mac is None:
            mac = self._macs["\x00record"] = hmac.new(self._search_key, b"record-content\x00", hashlib.sha256)
        h = mac.copy()
        h.update(text.encode())
        return h.hexdigest()


    # -- fast paths for bulk work (same outputs as seal / blind / content_hash) -------------
    def batch_sealer(self) -> "BatchSealer":
        """Return a sealer for one thread's bulk work: nonces drawn from the OS in blocks, not per value."""
        return BatchSealer(self)

    def hasher(self, kind: str) -> Callable[[str], str]:
        """Return a function giving ``blind(kind, value)``, about twice as fast (a C-level HMAC copy)."""
        base = _c_hmac(self._search_key, kind.encode() + b"\x00")
        if base is None:
            return lambda value: self.blind(kind, value)

        def search_hash(value: str) -> str:
            h = base.copy()
            h.update(value.encode())
            return h.hexdigest()[:HASH_CHARS]
        return search_hash

    def content_hasher(self) -> Callable[[str], str]:
        """Return a function giving ``content_hash(text)`` through a C-level HMAC copy."""
        base = _c_hmac(self._search_key, b"record-content\x00")
        if base is None:
            return self.content_hash

        def content_hash(text: str) -> str:
            h = base.copy()
            h.update(text.encode())
            return h.hexdigest()
        return content_hash


def _c_hmac(key: bytes, prefix: bytes):
    """Return OpenSSL's HMAC-SHA256 object keyed with ``key`` over ``prefix`` (None without ``_hashlib``)."""
    try:
        import _hashlib

        return _hashlib.hmac_new(key, prefix, digestmod="sha256")
    except (ImportError, AttributeError, ValueError):  # another build of Python: the hmac module's path
        return None


class BatchSealer:
    """``seal`` for bulk work: 12-byte nonces sliced from one ``os.urandom`` block of 4,096 at a time.

    The nonces are the same CSPRNG output as ``seal``'s, each slice used once, so the random-nonce
    bound is unchanged; the saving is one system call per value. Not thread-safe: one per thread.
    """

    BLOCK = 4096

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._buf = b""
        self._at = 0

    def seal(self, value: str, kind: str) -> str:
        """Return ``value`` sealed exactly as ``KeyRing.seal`` would (a fresh random nonce)."""
        ring = self.ring
        at = self._at
        if at >= len(self._buf):
            self._buf, at = os.urandom(NONCE_BYTES * self.BLOCK), 0
        nonce = self._buf[at:at + NONCE_BYTES]
        self._at = at + NONCE_BYTES
        aad = ring._aads.get(kind) or ring._aads.setdefault(kind, _aad(kind))
        blob = nonce + ring._seal_with.encrypt(nonce, value.encode(), aad)
        return ring._seal_prefix + binascii.b2a_base64(blob, newline=False).decode("ascii")


def kid_of(token: str | None) -> str | None:
    """Return the key id of a sealed value (None for NULL or a value that is not sealed)."""
    if not token or not token.startswith(PREFIX):
        return None
    dot = token.find(".", len(PREFIX))
    return token[len(PREFIX):dot] if dot > 0 else None


def is_sealed(value: object) -> bool:
    """Return True when ``value`` looks like a sealed value."""
    return isinstance(value, str) and value.startswith(PREFIX)


# -- the process's key ring --------------------------------------------------------------------

def ring_from_settings(settings: Settings) -> KeyRing:
    """Build the key ring from settings; outside production, fall back to keys derived from the secret."""
    from chudong.config import ConfigError

    production = settings.env == "production"
    try:
        keys = parse_data_keys(settings.data_keys) if settings.data_keys.strip() else []
        search = parse_search_key(settings.search_key) if settings.search_key.strip() else None
    except KeySpecError as exc:
        raise ConfigError(str(exc)) from None
    derived = False
    if not production and all(kid != DEV_KID for kid, _ in keys):
        # development and tests: the derived key opens what was sealed before real keys were set
        keys.append((DEV_KID, derive_dev_key(settings.secret_key, "data key")))
        derived = len(keys) == 1
    if not keys:
        raise ConfigError("CHUDONG_DATA_KEYS must be set in production (see docs/SECURITY.md)")
    if search is None:
        if production:
            raise ConfigError("CHUDONG_SEARCH_KEY must be set in production (see docs/SECURITY.md)")
        search = derive_dev_key(settings.secret_key, "search key")
    return KeyRing(keys, search, dev_derived=derived)


_lock = threading.Lock()
_ring: KeyRing | None = None


def keyring() -> KeyRing:
    """Return the process's key ring (built from the settings on first use)."""
    ring = _ring
    if ring is None:
        from chudong.config import get_settings

        with _lock:
            ring = _ring or install(ring_from_settings(get_settings()))
    return ring


def install(ring: KeyRing | None) -> KeyRing | None:
    """Make ``ring`` the process's key ring (None: rebuild from settings on next use); return it."""
    global _ring
    _ring = ring
    return ring


@contextmanager
def use_keyring(ring: KeyRing) -> Iterator[KeyRing]:
    """Use ``ring`` in this process for the block (every thread: the ingest writer thread too)."""
    global _ring
    before = _ring
    _ring = ring
    try:
        yield ring
    finally:
        _ring = before
