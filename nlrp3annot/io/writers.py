"""Writers: TSV, JSON, an Excel workbook, and (:mod:`nlrp3annot.io.vcf_writer`) VCF with a
VEP-style INFO/CSQ field; all carry the same columns. Every file is written to a temporary
name in the target folder and renamed when complete, so a crash never leaves a half-written
report behind."""

from __future__ import annotations

import json
import operator
import re
import sys
from dataclasses import fields
from pathlib import Path

from nlrp3annot.io.atomic import atomic_write, atomic_write_binary
from nlrp3annot.io.cells import USER_TEXT_COLUMNS, csv_text, spreadsheet_safe
from nlrp3annot.io.sample_lines import SampleLines
from nlrp3annot.values import (
    COLUMNS,
    SITE_KEYS,
    Annotation,
    AnnotationResult,
    SampleRow,
    SiteRow,
    Skipped,
    TsvLine,
)

EXTRA_COLUMNS = ["id", "filter"]
TSV_COLUMNS = COLUMNS[:4] + EXTRA_COLUMNS + COLUMNS[4:]
SKIPPED_COLUMNS = ["path", "chrom", "pos", "ref", "alt", "reason"]


def table_columns(table: list[dict]) -> list[str]:
    """Site columns, then sample columns (when the VCFs had samples), then known-variant
    columns and the source file."""
    from nlrp3annot.values import KNOWLEDGE_COLUMNS, SAMPLE_COLUMNS

    has_samples = any(type(row) is TsvLine or "sample" in row for row in table)
    sample_part = SAMPLE_COLUMNS if has_samples else []
    return ["file"] + TSV_COLUMNS[:6] + sample_part + TSV_COLUMNS[6:] + KNOWLEDGE_COLUMNS


# A number or an interval of numbers as the result tables write them ("-0.5 to 0",
# "> -1 to <0", "< 20", "-1e+03 to -inf"): number literals, "to", spaces, "<" and ">" only.
# A spreadsheet may try it as a formula, but it names no function, cell or operator that
# could run anything (a DDE payload such as "-2+3+cmd|' /C calc'!A0" does not match).
_NUMBER = r"-?(?:inf|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)"
_END = rf"(?:[<>] ?)?{_NUMBER}"
NUMBER_TEXT = re.compile(rf"{_END}(?: to {_END})?")


def _computed_safe(value: object) -> object:
    """:func:`spreadsheet_safe` for a column we compute: a number or interval of numbers
    (``NUMBER_TEXT``: "-0.5 to 0") stays as it is, everything else is guarded."""
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
        return value
    return spreadsheet_safe(value)


def spreadsheet_safe_frame(frame):
    """A pandas table with its text cells made inert for a spreadsheet: the columns of
    user text (``USER_TEXT_COLUMNS``: IDs, names, paths) by :func:`spreadsheet_safe` as
    they are everywhere; in the other columns a number or interval of numbers ("-0.5 to 0",
    a data value that cannot run) is written as it is, anything else guarded the same way."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            guard = spreadsheet_safe if column in USER_TEXT_COLUMNS else _computed_safe
            frame[column] = frame[column].map(guard)
    return frame


def _guard(values, at: list[int]) -> list:
    values = list(values)
    for i in at:
        values[i] = spreadsheet_safe(values[i])
    return values


def _tsv(rows: list, columns: list[str], handle) -> None:
    # lines joined from plain values, not csv.writer (2x slower) or DictWriter on copied
    # dicts: a joint VCF gives ~10^5 rows
    handle.write(csv_text(columns) + "\n")
    shared = SampleLines(columns)
    guarded = [i for i, c in enumerate(columns) if c in USER_TEXT_COLUMNS]
    every = operator.itemgetter(*columns) if len(columns) > 1 else lambda r: (r[columns[0]],)
    site_line = None  # a SiteRow's line, when it has all the columns
    if len(columns) > 1 and set(columns) <= set(SITE_KEYS):
        site_line = _site_lines(columns, guarded)
    pending: list[str] = []  # lines, written in batches
    for row in rows:
        kind = type(row)
        if kind is TsvLine:  # (written for the sample table's columns, which these are)
            line = row.line
        elif kind is SampleRow:
            line = shared.line(row)
        elif kind is SiteRow and site_line is not None:
            line = site_line(row.values)
        else:
            line = None
        if line is None:
            try:
                values = every(row)
            except KeyError:  # a row without some columns (several kinds of input in one table)
                get = row.get
                values = [get(c) for c in columns]
            line = csv_text(_guard(values, guarded)) + "\n"
        pending.append(line)
        if len(pending) >= 4096:
            handle.write("".join(pending))
            pending.clear()
    handle.write("".join(pending))


def _site_lines(columns: list[str], guarded: list[int]):
    """A function from a :class:`SiteRow`'s values to its TSV line: the same text as
    ``csv_text(_guard(...))``, joined at once when the cells are text but the annotation's
    numbers and flag (formatted one by one, the join needs text) and none needs a guard or
    quotes; any other row takes ``csv_text``. (A sites-only VCF of every coding SNV gives
    10^4 distinct rows: str() on each of a row's 44 cells was most of its time.)"""
    pick = operator.itemgetter(*(SITE_KEYS.index(c) for c in columns))
    typed = {f.name for f in fields(Annotation) if f.type in ("int", "bool")}
    numbers = [i for i, c in enumerate(columns) if c in typed]
    user = operator.itemgetter(*guarded) if len(guarded) > 1 else None
    as_is: dict[object, bool] = {}  # the user-text cells of a row -> no guard changes them
    tabs = len(columns) - 1

    def line(values: tuple) -> str:
        picked = pick(values)
        if user is not None:
            cells = user(picked)
            plain = as_is.get(cells)
            if plain is None:
                plain = as_is[cells] = all(spreadsheet_safe(v) is v for v in cells)
            if plain:
                texts = list(picked)
                for i in numbers:
                    value = texts[i]
                    texts[i] = "" if value is None else str(value)
                try:
                    text = "\t".join(texts)
                except TypeError:  # a cell that is not text (None): csv_text formats it
                    text = ""
                if (
                    text
                    and text.count("\t") == tabs
                    and not ('"' in text or "\n" in text or "\r" in text)
                ):
                    return text + "\n"
        return csv_text(_guard(picked, guarded)) + "\n"

    return line


_FORMATTERS: dict[tuple[str, ...], SampleLines] = {}  # this process's, per columns


def as_tsv_lines(table: list) -> list:
    """``table`` with its sample rows as their TSV lines (:class:`TsvLine`), for a worker
    process to send in place of the rows (``annotate`` with a TSV as its only output). The
    texts of sites, calls and readings are kept for the process's life, per their values,
    so each is formatted once however many files repeat it. A table whose rows cannot be
    written that way (no sample rows, another layout) is returned as it is."""
    if not table or any(type(row) is not SampleRow for row in table):
        return table
    columns = table_columns(table)  # the sample table's: what the parent writes them under
    formatter = _FORMATTERS.get(tuple(columns))
    if formatter is None:
        formatter = _FORMATTERS[tuple(columns)] = SampleLines(columns)
    formatter.new_table()
    lines = []
    for row in table:
        line = formatter.line(row)
        if line is None:
            return table
        lines.append(TsvLine(line))
    return lines


def write_tsv(result: AnnotationResult, path: str | Path | None) -> None:
    columns = table_columns(result.table)
    if path is None:
        _tsv(result.table, columns, sys.stdout)
    else:
        atomic_write(path, lambda h: _tsv(result.table, columns, h))


def write_patients(result: AnnotationResult, path: str | Path) -> None:
    from nlrp3annot.values import SUMMARY_COLUMNS

    atomic_write(path, lambda h: _tsv(result.patients, SUMMARY_COLUMNS, h))


def write_skipped(skipped: list[Skipped], path: str | Path) -> None:
    atomic_write(path, lambda h: _tsv([s.__dict__ for s in skipped], SKIPPED_COLUMNS, h))


# Columns whose values are numbers (written as text by the table's rows, "" when there is
# none): JSON and the workbook write them as numbers, a missing one as null / an empty cell.
NUMBER_COLUMNS = frozenset(
    ["pos", "norm_pos", "dp", "vaf", "vaf_ci_low", "vaf_ci_high", "mosaic_p"]
    + ["variants", "lowest_depth_at_pathogenic_positions"]
)


def typed(column: str, value: object) -> object:
    """A cell's value as JSON and a workbook hold it: a number column's text as an int or
    float, an empty one as None; every other value as it is."""
    if column not in NUMBER_COLUMNS or not isinstance(value, str):
        return value
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value  # (a note in a number column stays text)


def typed_row(row, columns: list[str]) -> dict[str, object]:
    """A table row as a plain dict in ``columns`` order, its numbers typed (a column the row
    does not have, as in a table of files with and without samples, is None)."""
    get = row.get
    return {c: typed(c, get(c)) for c in columns}


def write_json(result: AnnotationResult, path: str | Path | None) -> None:
    """The table (the TSV's columns, in its order), the patients, the skipped alleles, the
    failures and the summary; numbers as JSON numbers, a missing number as null."""
    columns = table_columns(result.table)
    document = {
        "summary": result.summary,
        "annotations": [typed_row(row, columns) for row in result.table],
        "patients": [{k: typed(k, v) for k, v in p.items()} for p in result.patients],
        "skipped": [s.__dict__ for s in result.skipped],
        "failures": [{"file": f, "error": e} for f, e in result.failures],
    }
    if path is None:
        json.dump(document, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        atomic_write(path, lambda h: json.dump(document, h, indent=1, default=str))


EXCEL_ROWS = 1_048_576  # a worksheet's limit, the header row included


def write_xlsx(result: AnnotationResult, path: str | Path) -> None:
    """An Excel workbook (openpyxl): sheet ``annotations`` with the TSV's columns, numbers
    as numbers, and ``patients`` when the files had samples. Text is always a text cell,
    never a formula (openpyxl would run ``=...`` as one), so no apostrophe is needed."""
    from nlrp3annot.errors import Nlrp3AnnotError

    columns = table_columns(result.table)
    if len(result.table) + 1 > EXCEL_ROWS:
        raise Nlrp3AnnotError(
            f"{path}: {len(result.table):,} rows do not fit in an Excel worksheet "
            f"({EXCEL_ROWS - 1:,} at most); write .tsv or .json"
        )
    from nlrp3annot.values import SUMMARY_COLUMNS

    sheets = [("annotations", columns, result.table)]
    if result.patients:
        sheets.append(("patients", SUMMARY_COLUMNS, result.patients))
    atomic_write_binary(path, lambda handle: _workbook(sheets, handle))


def _workbook(sheets, handle) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            cells = []
            for column in columns:
                value = typed(column, row.get(column))
                if isinstance(value, str):
                    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
                    cell.data_type = "s"  # text, even when it starts with "="
                    value = cell
                cells.append(value)
            sheet.append(cells)
    book.save(handle)
