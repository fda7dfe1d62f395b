"""Benchmark the report's XLSX writer against the maintained libraries that could replace it.

Run: ``.venv/bin/python -m bench.xlsx [--rows N] [--runs N]`` (default 40,000 rows of eight
columns: the overdue sheet of a large province's monthly report — text, numbers, dates, empty cells).
Prints the median wall time and the file size of each writer: ``chudong.analytics.xlsx`` (the one the
report uses), XlsxWriter in constant-memory mode, and openpyxl in write-only mode. Every file is read
back with openpyxl and compared cell by cell first, so a faster writer that writes the wrong cells fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import time
from typing import Callable, Sequence

import openpyxl
import xlsxwriter

from chudong.analytics import xlsx

Row = tuple


def _rows(n: int) -> list[Row]:
    return [(f"HS-2026-{i:06d}", "Nguyễn Văn An", "Phường Hải Châu", dt.date(2026, 11, 1 + i % 28), i,
             i / 7, "Đăng ký khai sinh", None if i % 3 else "quá hạn") for i in range(n)]


def own(rows: Sequence[Row]) -> bytes:
    sheet = xlsx.Sheet("Quá hạn")
    for row in rows:
        sheet.append(row)
    return xlsx.write([sheet])


def with_xlsxwriter(rows: Sequence[Row]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True})
    sheet = book.add_worksheet("Quá hạn")
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif isinstance(value, (int, float)):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value)
    book.close()
    return buf.getvalue()


def with_openpyxl(rows: Sequence[Row]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Quá hạn")
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _same(data: bytes, rows: Sequence[Row]) -> bool:
    """Whether the file holds ``rows`` (numbers to spreadsheet precision, 15 significant digits)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    read = list(sheet.iter_rows(values_only=True))
    if len(read) != len(rows):
        return False
    for got, want in zip(read, rows):
        got = tuple(got) + (None,) * (len(want) - len(got))  # trailing empty cells are not written
        for g, w in zip(got, want):
            if isinstance(g, dt.datetime):
                g = g.date()
            if isinstance(w, float) and isinstance(g, (int, float)):
                if abs(g - w) > 1e-14 * max(1.0, abs(w)):
                    return False
            elif g != w:
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Print each writer's median time and size; exit 1 when a writer's cells differ from the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    rows = _rows(args.rows)
    writers: dict[str, Callable[[Sequence[Row]], bytes]] = {
        "chudong.analytics.xlsx": own, "XlsxWriter constant_memory": with_xlsxwriter,
        "openpyxl write_only": with_openpyxl}
    failed = False
    print(f"{args.rows:,} rows × 8 columns, median of {args.runs} runs")
    for name, write in writers.items():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            data = write(rows)
            times.append(time.perf_counter() - start)
        same = _same(data, rows)
        failed |= not same
        print(f"  {name:<28} {statistics.median(times):6.2f} s  {len(data):>10,} bytes"
              f"  {'cells equal' if same else 'CELLS DIFFER'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
