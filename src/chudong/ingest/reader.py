"""Stream a CSV feed file: UTF-8 check, header check, one row at a time with its line number.

Never loads the file in memory, so a 2 GB file streams like a small one. Problems that
make the rest of the file unreadable (not UTF-8, broken quoting, wrong header) raise
``FileRejected``; a row with the wrong number of fields is yielded as such and the
pipeline rejects that record only.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO, Callable, Iterator

from chudong.kit.errors import ChudongError

# A field larger than this is not a real value (and csv's own limit would raise anyway).
FIELD_LIMIT = 64 * 1024
csv.field_size_limit(FIELD_LIMIT)


class FileRejected(ChudongError):
    """The whole file is rejected (encoding, header, broken CSV, truncated upload); nothing is stored."""

    status_code = 400
    code = "file_rejected"


class UnknownFeed(ChudongError):
    """The feed name is not one of the documented feeds."""

    status_code = 404
    code = "unknown_feed"


class _Counting(io.RawIOBase):
    """A raw stream that counts the bytes read and reports them (for a progress bar)."""

    def __init__(self, inner: BinaryIO, progress: Callable[[int], None] | None) -> None:
        self.inner = inner
        self.progress = progress
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        if self.progress is not None and n:
            self.progress(n)
        return n


def read_csv(stream: BinaryIO, columns: tuple[str, ...],
             progress: Callable[[int], None] | None = None,
             optional: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str] | int, list[str]]]:
    """Yield (line, row dict or the wrong field count, raw fields) for each record of a CSV feed.

    ``optional`` columns (added to a feed after its version 1) may be absent from the header: every
    row then holds them as empty text, so old files still load.
    """
    buffered = io.BufferedReader(_Counting(stream, progress), buffer_size=1 << 20)
    head = buffered.peek(4)[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("the file is UTF-16; save it as UTF-8 (CSV UTF-8)", field="file")
    if not head:
        raise FileRejected("the file is empty; a feed file starts with its header row", field="file")
    textual = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(textual, strict=True)
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise FileRejected("the file is empty; a feed file starts with its header row", field="file") from None
        names = [h.strip().lower() for h in header]
        missing = [c for c in columns if c not in names]
        unknown = [h for h in names if h not in columns and h not in optional]
        if missing or unknown or len(set(names)) != len(names):
            parts = []
            if missing:
                parts.append(f"missing columns: {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown columns: {', '.join(unknown)}")
            if len(set(names)) != len(names):
                parts.append("a column appears twice")
            extra = f" (optional: {','.join(optional)})" if optional else ""
            raise FileRejected(
                f"header row does not match the feed format (v1): {'; '.join(parts)}; expected {','.join(columns)}"
                f"{extra}",
                field="header",
            )
        absent = {c: "" for c in optional if c not in names}
        width = len(names)
        for fields in reader:
            if not fields:
                continue  # blank line
            if len(fields) != width:
                yield reader.line_num, len(fields), fields
                continue
            row = dict(zip(names, fields))
            if absent:
                row.update(absent)
            yield reader.line_num, row, fields
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"the file is not valid UTF-8 (after line {reader.line_num}: {exc.reason} at byte "
            f"0x{exc.object[exc.start]:02x}); save it as UTF-8 (CSV UTF-8)",
            field="file",
        ) from None
    except csv.Error as exc:
        raise FileRejected(f"malformed CSV at line {reader.line_num}: {exc}", field="file") from None
