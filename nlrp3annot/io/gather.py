"""Per-sample ``annotate`` outputs gathered into the ``annotation/`` folder ``run`` writes.

A workflow manager annotates each sample in a job of its own (workflow/Snakefile); ``compare
--annotations`` then gathers the per-sample tables into what one ``annotate`` over every
file writes (``calls.tsv``, ``calls.skipped.tsv``, ``patients.tsv``) and copies the scan's
folder beside them, so that the results folder is ``run``'s. One ``annotate`` writes the rows
of its files one file after the other under one header; gathering is that: the header once,
each file's rows in the order given, their text unchanged.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.io.atomic import atomic_write


@dataclass(frozen=True)
class Gathered:
    """Where the gathered tables are, and the VCFs their rows were annotated from (as the
    tables name them, in order: the inputs ``run`` records in its provenance)."""

    patients: Path
    vcfs: list[str]


def gather_annotations(
    patients: Sequence[str | Path],
    calls: Sequence[str | Path],
    skipped: Sequence[str | Path],
    folder: Path,
    scan: str | Path | None = None,
) -> Gathered:
    """``patients``, ``calls`` and the ``skipped`` lists that exist gathered into
    ``folder``/patients.tsv, calls.tsv and calls.skipped.tsv (none of the skipped lists
    exists: no calls.skipped.tsv, as ``annotate`` writes none), and the files of the
    ``scan`` folder copied into ``folder``/scan."""
    folder.mkdir(parents=True, exist_ok=True)
    concatenate_tsv(patients, folder / "patients.tsv")
    concatenate_tsv(calls, folder / "calls.tsv")
    lists = [p for p in skipped if Path(p).is_file()]
    if lists:
        concatenate_tsv(lists, folder / "calls.skipped.tsv")
    if scan is not None:
        _copy_scan(Path(scan), folder / "scan")
    return Gathered(folder / "patients.tsv", _annotated_files([*patients, *calls]))


def concatenate_tsv(paths: Sequence[str | Path], out: Path) -> None:
    """The TSV tables of ``paths`` as one: the widest header (a file of a sample without
    calls has no sample columns), then every file's rows in order. A row of a narrower
    table is laid out under the wide header with its missing cells empty, as ``annotate``
    writes a row without some columns."""
    if not paths:
        raise Nlrp3AnnotError(f"{out.name}: no tables to gather")
    headers = [_header(Path(p)) for p in paths]
    wide = max(headers, key=len)
    for path, header in zip(paths, headers, strict=True):
        if not set(header) <= set(wide):
            raise InputFileError(
                str(path), f"its columns are not those of {Path(paths[0]).name}",
                "annotate every sample with the same nlrp3annot version and output format",
            )  # fmt: skip

    def write(handle) -> None:
        from nlrp3annot.io.cells import csv_text

        handle.write(csv_text(wide) + "\n")
        for path, header in zip(paths, headers, strict=True):
            with open(path, newline="", encoding="utf-8") as source:
                source.readline()
                if header == wide:  # the usual case: the rows' text as annotate wrote it
                    shutil.copyfileobj(source, handle)
                    continue
                place = {column: i for i, column in enumerate(header)}
                for row in csv.reader(source, delimiter="\t"):
                    cells = [row[place[c]] if c in place else "" for c in wide]
                    handle.write(csv_text(cells) + "\n")

    atomic_write(out, write)


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            line = handle.readline()
    except FileNotFoundError:
        raise InputFileError(str(path), "no such file", "check the path") from None
    if not line.strip():
        raise InputFileError(str(path), "empty: no header line", "annotate the sample again")
    return line.rstrip("\r\n").split("\t")


def _annotated_files(tables: Sequence[str | Path]) -> list[str]:
    """The ``file`` column's values of ``tables``, each once, in order of first use."""
    seen: dict[str, None] = {}
    for table in tables:
        with open(table, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row.get("file"):
                    seen.setdefault(row["file"], None)
    return list(seen)


def _copy_scan(source: Path, destination: Path) -> None:
    """The scan folder's files (``<sample>.scan.vcf.gz`` with its index, ``scan.tsv``) as
    ``run`` keeps them in annotation/scan/."""
    if not source.is_dir():
        raise InputFileError(str(source), "not a folder", "give the scan's output folder")
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file():
            shutil.copyfile(path, destination / path.name)
