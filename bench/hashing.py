"""Benchmark the keyed search hash of bulk ingest: OpenSSL's HMAC object copied at C level vs ``hmac``.

Run: ``.venv/bin/python -m bench.hashing [--n N]``. ``KeyRing.hasher`` / ``content_hasher`` (in
``chudong.privacy.crypto``) copy a keyed HMAC-SHA256 object per value; through CPython's ``_hashlib``
the copy is one C call, through the public ``hmac`` module it also builds a Python ``HMAC`` wrapper.
A persons record takes three to four such hashes (ID number, phone, e-mail, content), so the
per-hash difference printed here, times four, is what the private module saves per record.
Both must give the same digests (checked first); exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import hmac
import os
import timeit

from chudong.privacy.crypto import KeyRing

SAMPLE = "Nguyễn Văn An|1990-01-01|F|Phường Hải Châu|0905123456"


def main(argv: list[str] | None = None) -> int:
    """Print the microseconds per hash of both ways; exit 1 if their digests differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args(argv)
    search_key = os.urandom(32)
    ring = KeyRing([("bench", os.urandom(32))], search_key)
    fast = ring.content_hasher()
    base = hmac.new(search_key, b"record-content\x00", "sha256")

    def public(text: str = SAMPLE) -> str:
        h = base.copy()
        h.update(text.encode())
        return h.hexdigest()

    if fast(SAMPLE) != public(SAMPLE) or fast(SAMPLE) != ring.content_hash(SAMPLE):
        print("digests differ")
        return 1
    for name, fn in (("C-level copy (KeyRing.content_hasher)", fast), ("public hmac module", public)):
        best = min(timeit.repeat(lambda: fn(SAMPLE), number=args.n, repeat=5)) / args.n
        print(f"  {name:<40} {best * 1e6:5.2f} µs per hash")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
