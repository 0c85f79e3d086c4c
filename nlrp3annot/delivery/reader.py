"""Patient records from a finished results folder (of ``run`` or ``demo``): the I/O edge of
:mod:`nlrp3annot.delivery.record`.

Read: ``tables/patients.tsv`` (each patient's status, group, deciding samples),
``tables/samples.tsv`` (the samples sheet as read: tissue, treatment, dose, days),
``tables/measurements.tsv``, ``annotation/patients.tsv`` (each sample's status, coverage,
note), ``annotation/calls.tsv`` (the variants), the ``##NLRP3_SCAN`` header of each scan's
VCF (limits of detection), ``summary.json`` (tool version, ClinVar date, reference) and
``run.json`` (when the run finished).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from nlrp3annot.delivery.names import file_stems
from nlrp3annot.delivery.record import (
    PatientRecord,
    RunInfo,
    build_record,
    diagnosis_of,
    measurements,
    patient_details,
    sample_result,
    treatment,
    variant_calls,
    whole,
)
from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.values import ScanLimits

SCAN_HEADER = "##NLRP3_SCAN=<"
_ATTR = re.compile(r'(\w+)=("[^"]*"|[^,]*)')
_DECIDING = re.compile(r"^(?P<sample>.*) \((?P<tissue>.*)\): (?P<status>.*)$")
NEEDED = ("tables/patients.tsv", "annotation/patients.tsv", "annotation/calls.tsv")


def read_tsv(path: Path) -> list[dict[str, str]]:
    """A tab-separated table as rows of text ('' for empty cells); IDs written inert for
    spreadsheets (a leading ') read back as written."""
    from nlrp3annot.io.cells import USER_TEXT_COLUMNS, as_written

    csv.field_size_limit(sys.maxsize)  # a note or a condition list can be long
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        for column in USER_TEXT_COLUMNS & row.keys():
            row[column] = str(as_written(row[column] or ""))
        for column, value in row.items():
            row[column] = value if value is not None else ""
    return rows


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def scan_limits_in(path: Path) -> dict[str, ScanLimits]:
    """The ``##NLRP3_SCAN`` limits a VCF's header holds, by sample ({} for none, for a
    BCF or an unreadable file): only our scan writes them."""
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        found: dict[str, ScanLimits] = {}
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.startswith("##"):
                    break  # the #CHROM line ends the header
                if line.startswith(SCAN_HEADER):
                    attrs = dict(_ATTR.findall(line.rstrip()[len(SCAN_HEADER) : -1]))
                    limits = ScanLimits.from_header(attrs) if attrs.get("ID") else None
                    if limits is not None:
                        found[attrs["ID"]] = limits
        return found
    except (OSError, EOFError, UnicodeError):
        return {}


def _scan_limits(folder: Path, files: Iterable[str]) -> dict[str, ScanLimits]:
    """Limits of every scanned sample: the scan VCFs under annotation/scan/, and any other
    VCF the genotypes name that is a scan's (given to ``run`` by the user)."""
    paths = set((folder / "annotation" / "scan").glob("*.vcf.gz"))
    for name in files:
        path = Path(name)
        for candidate in (folder / path, path):
            if candidate.suffix == ".gz" and candidate.is_file():
                paths.add(candidate)
                break
    limits: dict[str, ScanLimits] = {}
    for path in sorted(paths):
        limits.update(scan_limits_in(path))
    return limits


def run_info(folder: Path) -> RunInfo:
    """What made the results, from summary.json and run.json."""
    summary = _json(folder / "summary.json")
    manifest = _json(folder / "run.json")
    provenance = summary.get("provenance", {}) or {}
    clinvar = provenance.get("clinvar", {}) or {}
    genotyping = summary.get("genotyping", {}) or {}
    return RunInfo(
        tool_version=str(provenance.get("nlrp3annot") or manifest.get("nlrp3annot") or ""),
        command=tuple(str(x) for x in provenance.get("command") or manifest.get("command") or ()),
        finished=str(manifest.get("finished", "")),
        clinvar_table=str(clinvar.get("table", "")),
        clinvar_date=str(clinvar.get("date", "")),
        clinvar_release=str(clinvar.get("release", "")),
        reference_fasta=str(genotyping.get("reference") or genotyping.get("fasta") or ""),
        reference_description=str(genotyping.get("fasta_header", "")),
        test_locus=bool(genotyping.get("test_locus", False)),
        synthetic=bool(summary.get("synthetic", False)),
        min_depth=whole(genotyping.get("min_depth")),
    )


def clinvar_records(date: str) -> tuple[dict[str, object], str]:
    """The records of the ClinVar table the tool loads, by VariationID, and its release,
    only when it is the version the run used (same build date): another version's class
    or review status would be stated as this result's."""
    from nlrp3annot.knowledge.clinvar import load_clinvar

    table = load_clinvar()
    if not date or table.date != date:
        return {}, ""
    return {str(r.variation_id): r for r in table}, table.release


def _sheet(folder: Path, patients: list[dict[str, str]]) -> list[dict[str, str]]:
    """The samples sheet as the run read it; from ``deciding_samples`` for results
    written before tables/samples.tsv existed (no treatment then)."""
    path = folder / "tables" / "samples.tsv"
    if path.is_file():
        return read_tsv(path)
    rows = []
    for patient in patients:
        for part in filter(None, patient.get("deciding_samples", "").split("; ")):
            m = _DECIDING.match(part)
            if m:
                tissue = "" if m["tissue"] == "tissue not given" else m["tissue"]
                rows.append(
                    {"patient_id": patient["patient_id"], "sample_id": m["sample"],
                     "tissue": tissue}
                )  # fmt: skip
    return rows


def records_from_results(results_dir: str | Path, diagnosis: str = "") -> list[PatientRecord]:
    """One record per patient of a finished ``run``/``demo`` results folder, in the order
    of ``tables/patients.tsv``. ``diagnosis``: the cohort's clinical diagnosis, for the
    patients whose samples-sheet rows give none."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise Nlrp3AnnotError(f"{folder}: no such results folder")
    missing = [name for name in NEEDED if not (folder / name).is_file()]
    if missing:
        raise Nlrp3AnnotError(
            f"{folder}: not the results of 'run' or 'demo' (no {', '.join(missing)}); "
            "patient pages need the variant calls that those commands write"
        )
    patients = read_tsv(folder / "tables" / "patients.tsv")
    genotypes = {row["sample"]: row for row in read_tsv(folder / "annotation" / "patients.tsv")}
    calls = read_tsv(folder / "annotation" / "calls.tsv")
    measured = _by(read_tsv(folder / "tables" / "measurements.tsv"), "patient_id")
    sheet = _sheet(folder, patients)
    sheet_rows = _by(sheet, "patient_id")
    limits = _scan_limits(folder, {row.get("file", "") for row in genotypes.values()})
    run = run_info(folder)
    stems = file_stems(p["patient_id"] for p in patients)

    owner = {r["sample_id"]: r["patient_id"] for r in sheet if r.get("sample_id")}
    sheet_row = {r["sample_id"]: r for r in sheet if r.get("sample_id")}
    tissue_of = {r["sample_id"]: r.get("tissue", "") for r in sheet if r.get("sample_id")}
    known, release = clinvar_records(run.clinvar_date)
    variants = variant_calls(
        calls, tissue_of, limits, known, run.clinvar_date, run.clinvar_release or release
    )
    records = []
    for patient in patients:
        pid = patient["patient_id"]
        rows = sheet_rows.get(pid, [])
        # the sheet's samples in its order, then genotyped samples no sheet row names
        # (the comparison lists those under the sample's own ID)
        names = [r["sample_id"] for r in rows if r.get("sample_id")]
        names += [s for s in genotypes if owner.get(s, s) == pid and s not in names]
        samples = [
            sample_result(
                s,
                tissue_of.get(s, ""),
                genotypes.get(s),
                limits.get(s),
                s in limits,
                sheet_row.get(s),
            )  # fmt: skip
            for s in names
        ]
        records.append(
            build_record(
                patient,
                samples,
                variants,
                treatment(rows),
                measurements(measured.get(pid, [])),
                run,
                diagnosis_of(rows, diagnosis),
                patient_details(rows),
                stems[pid],
            )
        )
    return records


def _by(rows: Iterable[Mapping[str, str]], key: str) -> dict[str, list[Mapping[str, str]]]:
    out: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        out.setdefault(str(row.get(key, "")), []).append(row)
    return out


__all__ = ["records_from_results", "run_info", "scan_limits_in"]
