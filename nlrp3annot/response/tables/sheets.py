"""Spreadsheets as text: CSV/TSV/TXT (delimiter sniffed, UTF-8 or Windows-1252) and Excel
``.xlsx`` read into header + numbered rows of text cells, and header columns matched to their
roles by alias. The rules for what the cells mean are in
:mod:`nlrp3annot.response.tables.clinical_terms`."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError, RecordError


def _key(text: str) -> str:
    """Column names match ignoring case, spaces, underscores, hyphens and dots."""
    return re.sub(r"[\s_.\-]+", "", text.strip().lower())


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class _Sheet:
    """A file's cells as text: the header and (spreadsheet row number, cells) per data row."""

    path: Path
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 101 as 101.0; an ID must stay "101"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .xls (and .doc) files


def refuse_workbook(path: Path, head: bytes, hint: str) -> None:
    """Refuse, in one line, a file whose first bytes are an Excel workbook's (an .xlsx is a
    zip file, an .xls an OLE2 container) where text is wanted, whatever its name."""
    if head.startswith(_OLE2):
        raise InputFileError(
            path, "is an old Excel .xls workbook", "open it in Excel and save it as .xlsx or .csv"
        )
    if head.startswith(b"PK\x03\x04"):
        kind = path.suffix[1:].upper() or "plain"
        raise InputFileError(path, f"is an Excel workbook (a zip file), not {kind} text", hint)


def _read_sheet(path: str | Path, preferred: Sequence[str]) -> _Sheet:
    """Cells of a CSV/TSV/TXT or XLSX file as text, with spreadsheet row numbers."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "file not found", "check the path")
    suffix = p.suffix.lower()
    with p.open("rb") as handle:
        head = handle.read(8192)
    # what the bytes are decides, whatever the name says
    is_zip = head.startswith(b"PK\x03\x04")
    if suffix in (".csv", ".tsv", ".txt") or not is_zip:
        refuse_workbook(p, head, "rename it to .xlsx, or save it from Excel as CSV")
    if suffix in (".csv", ".tsv", ".txt") and b"\x00" in head:
        raise InputFileError(
            p, "holds binary data, not a text table", "save it as .csv, .tsv or .xlsx"
        )
    if suffix == ".xlsx" and not is_zip:
        raise InputFileError(
            p,
            "is not an Excel .xlsx workbook (no zip container)",
            "if it is a CSV or TSV, rename it to .csv or .tsv",
        )
    if suffix == ".xlsx":
        numbered = _read_xlsx(p, preferred)
    elif suffix in (".csv", ".tsv", ".txt"):
        numbered = _read_delimited(p)
    else:
        raise InputFileError(
            p, f"unsupported file type '{p.suffix}'", "save it as .xlsx, .csv or .tsv"
        )
    numbered = [(n, cells) for n, cells in numbered if any(c.strip() for c in cells)]
    if not numbered:
        raise InputFileError(p, "the file is empty", "the first row must hold column names")
    header_row, header = numbered[0]
    header = [h.strip() for h in header]
    width = len(header)
    rows = []
    for n, cells in numbered[1:]:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            # Typical cause: an unquoted decimal comma (8,5) in a comma-separated file.
            raise RecordError(
                p,
                f"row {n}",
                f"{len(cells)} cells but {width} column names; quote values with decimal "
                "commas or save with ';' or tab as the delimiter",
            )
        rows.append((n, [c.strip() for c in cells[:width]] + [""] * (width - len(cells))))
    return _Sheet(p, header, header_row, rows)


def _read_xlsx(path: Path, preferred: Sequence[str]) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or non-xlsx file
        raise InputFileError(
            path, f"cannot read as an Excel .xlsx workbook ({type(exc).__name__})", "re-save it"
        ) from exc
    sheet = book.worksheets[0]
    for ws in book.worksheets:
        if any(word in _alnum(ws.title) for word in preferred):
            sheet = ws
            break
    first = sheet.min_row
    return [
        (first + i, [_cell_text(v) for v in values])
        for i, values in enumerate(sheet.iter_rows(min_row=first, values_only=True))
    ]


def _read_delimited(path: Path) -> list[tuple[int, list[str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # CSV saved by Excel on Windows
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    candidates = [d for d in "\t;,|" if d in header_line]
    if not candidates:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    elif len(candidates) == 1:
        delimiter = candidates[0]
    else:
        try:
            sample = "\n".join(lines[:50])
            delimiter = csv.Sniffer().sniff(sample, delimiters="".join(candidates)).delimiter
        except csv.Error:
            delimiter = max(candidates, key=header_line.count)
    return [
        (i + 1, [c.strip() for c in cells])
        for i, cells in enumerate(csv.reader(lines, delimiter=delimiter))
    ]


def _roles(header: list[str], roles: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
    """Column indices per role, in alias priority order."""
    keys = [_key(h) for h in header]
    found: dict[str, list[int]] = {}
    for role, aliases in roles.items():
        idx = [i for alias in aliases for i, k in enumerate(keys) if k == _key(alias)]
        if idx:
            found[role] = list(dict.fromkeys(idx))
    return found


def _first(cells: list[str], idx: list[int] | None) -> str:
    """The first non-empty cell among the role's columns (AVAL, then AVALC)."""
    for i in idx or []:
        if cells[i]:
            return cells[i]
    return ""


def _alias_hint(roles: dict[str, tuple[str, ...]], names: Sequence[str]) -> str:
    return "; ".join(f"{r}: {', '.join(roles[r])}" for r in names)


def _missing(
    sheet: _Sheet,
    what: str,
    missing: list[str],
    expected: list[str],
    aliases: dict[str, tuple[str, ...]],
) -> None:
    raise InputFileError(
        sheet.path,
        f"{what}: missing column(s) {', '.join(missing)}; found {', '.join(sheet.header)}",
        f"expected {', '.join(expected)}; accepted names (any case) "
        + _alias_hint(aliases, missing),
    )
