"""The text of one table cell as the result tables write it: csv.writer's quoting inside a
TSV line (:func:`csv_text`) and the spreadsheet-formula guard on user text
(:func:`spreadsheet_safe`, read back by :func:`as_written`); what
:mod:`nlrp3annot.io.writers` and :mod:`nlrp3annot.io.sample_lines` share."""

from __future__ import annotations

import csv
import io

# Columns that carry text from the user's files (IDs, names, paths): a cell there that a
# spreadsheet would run as a formula is written with a leading apostrophe (see
# spreadsheet_safe). Computed columns are left as they are ("-/K" is an Amino_acids value).
USER_TEXT_COLUMNS = frozenset(
    ["file", "path", "sample", "patient", "patient_id", "sample_id", "id", "filter"]
    + ["chrom", "ref", "alt"]
)
_FORMULA_START = frozenset("=+-@\t\r")


def spreadsheet_safe(value: object) -> object:
    """``value``, or for text a spreadsheet would run as a formula (starting with = + - @,
    tab or CR, and not a number; OWASP's CSV injection rule) the same text after an
    apostrophe, which Excel and LibreOffice show as text."""
    if not isinstance(value, str):
        return value
    if value[:1] in _FORMULA_START:
        try:
            float(value)
        except ValueError:
            return "'" + value
    elif value[:1] == "'" and spreadsheet_safe(value[1:]) != value[1:]:
        return "'" + value  # so that reading back (as_written) is exact: '=x -> ''=x
    return value


def as_written(value: object) -> object:
    """The inverse of :func:`spreadsheet_safe`, for reading our own tables back."""
    if isinstance(value, str) and value[:1] == "'" and spreadsheet_safe(value[1:]) == value:
        return value[1:]
    return value


def csv_text(values: list) -> str:
    """Values formatted as csv.writer formats them inside a TSV line (quoted only when they
    hold a tab, newline or quote), without a newline."""
    texts = ["" if v is None else str(v) for v in values]
    joined = "\t".join(texts)
    if joined.count("\t") == len(texts) - 1 and not (
        '"' in joined or "\n" in joined or "\r" in joined
    ):
        return joined
    buffer = io.StringIO()
    # (a trailing field, so that a lone "" is not quoted; csv quotes \n and \r only when
    # they are in the line terminator)
    csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerow(texts + ["x"])
    return buffer.getvalue()[:-4]
