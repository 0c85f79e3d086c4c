"""Join genotype to treatment response: one row per patient, with the group it is compared in.

Inputs: the patient summary of the annotation step (one row per VCF sample), the samples
sheet (patient -> samples, withdrawal and flare days) and the tidy clinical measurements.
Every patient of any input is accounted for in ``accounting``: in which inputs it was
found, its group, and why it is or is not in the comparison.

A patient with several samples (blood, buccal) takes its status by the tissue-aware rule
of :mod:`nlrp3annot.patients.tissues`: a positive (or VUS) sample anywhere decides, in the
order positive_germline, positive_mosaic, vus_only; but a negative patient needs an
assessable negative blood/myeloid sample (the samples sheet's ``tissue``) or every sample
assessable and negative, else it is not_assessable: NOMID mosaicism is often highest in
myeloid cells, so a negative buccal sample beside an unassessable blood sample excludes
nothing. A single sample decides alone, as before. ``accounting`` shows each patient's
samples with tissue and status (``deciding_samples``) and the rule's reason in ``note``.

Group rules (``--group-rule``), status -> group:
- ``strict`` (default): positive_germline and positive_mosaic -> mutation_positive;
  negative -> mutation_negative; vus_only -> vus; not_assessable -> not_assessable. VUS and
  not-assessable patients are reported separately, never silently counted as negative.
- ``germline_only``: as a germline-only assay would group them: positive_mosaic ->
  mutation_negative. Shows what mosaic detection changes.
- ``vus_as_positive``: vus_only -> mutation_positive.
Patients without a genotype are ``no_genotype``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.patients.tissues import (
    NOT_GENOTYPED,
    STATUS_PRIORITY,
    SampleStatus,
    describe_samples,
    patient_status,
)
from nlrp3annot.response.tables.clinical_terms import EVENT_DAYS

_STRICT = {
    "positive_germline": "mutation_positive",
    "positive_mosaic": "mutation_positive",
    "negative": "mutation_negative",
    "vus_only": "vus",
    "not_assessable": "not_assessable",
}
GROUP_RULES: dict[str, dict[str, str]] = {
    "strict": _STRICT,
    "germline_only": {**_STRICT, "positive_mosaic": "mutation_negative"},
    "vus_as_positive": {**_STRICT, "vus_only": "mutation_positive"},
}
COMPARED = ("mutation_positive", "mutation_negative")


@dataclass
class Cohort:
    groups: pd.DataFrame  # patient_id group status samples best_variant hgvs_p_sample vaf
    # status_reason
    accounting: pd.DataFrame  # every patient of every input, with where it was found and why
    events: pd.DataFrame  # patient_id withdrawal_day flare_day (followup_end_day)
    rule: str


def read_genotypes(paths) -> pd.DataFrame:
    """The ``--patients`` TSV written by ``nlrp3annot annotate``, or several (a per-sample
    workflow's), read as one: a sample in two of them must have the same row in both."""
    if isinstance(paths, str | Path):
        return _read_genotypes(paths)
    paths = list(paths)
    if not paths:
        raise Nlrp3AnnotError("no --genotypes file given (give the --patients TSV of 'annotate')")
    tables = [_read_genotypes(p).assign(_source=str(p)) for p in paths]
    table = pd.concat(tables, ignore_index=True)
    columns = [c for c in table.columns if c != "_source"]
    table = table.drop_duplicates(columns)
    clash = table[table["sample"].duplicated(keep=False)]
    if not clash.empty:
        sample = clash["sample"].iloc[0]
        files = " and ".join(clash.loc[clash["sample"] == sample, "_source"])
        raise Nlrp3AnnotError(
            f"sample {sample!r} has different rows in {files}: give each sample's summary "
            "once (annotate it once, or keep one of the files)"
        )
    return table[columns].reset_index(drop=True)


def _read_genotypes(path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise Nlrp3AnnotError(f"{path}: no such file (give the --patients TSV of 'annotate')")
    hint = "give the --patients TSV written by 'nlrp3annot annotate'"
    from nlrp3annot.response.tables.sheets import refuse_workbook

    with path.open("rb") as handle:
        refuse_workbook(
            path, handle.read(8), f"save it from Excel as tab-separated text, or {hint}"
        )
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise Nlrp3AnnotError(f"{path}: is empty ({hint})") from None
    except (UnicodeDecodeError, pd.errors.ParserError):
        raise Nlrp3AnnotError(f"{path}: is not a tab-separated text table ({hint})") from None
    needed = {"sample", "status"}
    if not needed <= set(table.columns):
        raise Nlrp3AnnotError(
            f"{path}: not a patient summary (needs columns {sorted(needed)}, has "
            f"{list(table.columns)[:8]}); write one with 'nlrp3annot annotate --patients'"
        )
    unknown = sorted(set(table["status"]) - set(STATUS_PRIORITY))
    if unknown:
        raise Nlrp3AnnotError(f"{path}: unknown status values {unknown}")
    from nlrp3annot.io.cells import USER_TEXT_COLUMNS, as_written

    for column in USER_TEXT_COLUMNS & set(table.columns):  # IDs as the VCF wrote them
        table[column] = table[column].map(as_written)
    return table


def join(
    genotypes: pd.DataFrame,
    samples: pd.DataFrame,
    measurements: pd.DataFrame,
    rule: str = "strict",
    count_non_blood: bool = False,
    genotyped_only: bool = False,
) -> Cohort:
    """One row per patient of any input with its group (see the module notes). Fewer than
    half of the clinical patients with a genotype stops the join (the IDs of the two sides
    almost surely differ in form) unless ``genotyped_only`` (``--genotyped-only``: a lab
    analysing the part of a cohort it genotyped); the others are listed as not genotyped."""
    if rule not in GROUP_RULES:
        raise Nlrp3AnnotError(f"unknown group rule {rule!r}: use one of {sorted(GROUP_RULES)}")
    mapping = GROUP_RULES[rule]
    sample_to_patient = {
        str(r.sample_id): str(r.patient_id)
        for r in samples.itertuples()
        if isinstance(r.sample_id, str) and r.sample_id
    }
    genotype_rows = []
    for row in genotypes.to_dict("records"):
        patient = sample_to_patient.get(row["sample"])
        genotype_rows.append(
            {**row, "patient_id": patient or row["sample"], "mapped": patient is not None}
        )
    by_patient: dict[str, list[dict]] = {}
    for row in genotype_rows:
        by_patient.setdefault(row["patient_id"], []).append(row)

    in_samples = set(samples["patient_id"].astype(str))
    in_clinical = set(measurements["patient_id"].astype(str))
    sheet_samples = _sheet_samples(samples)
    everyone = sorted(set(by_patient) | in_samples | in_clinical)
    group_rows, accounting = [], []
    for patient in everyone:
        rows = by_patient.get(patient, [])
        pairs = _patient_samples(rows, sheet_samples.get(patient, []))
        listed = [sample for sample, _ in pairs]
        decided = patient_status(listed, count_non_blood)
        status = decided.status
        best = next((r for sample, r in pairs if sample is decided.best), None)
        group = mapping[status] if rows else "no_genotype"
        notes = [decided.reason] if decided.reason else []
        if rows and not all(r["mapped"] for r in rows):
            # no sheet row says whose sample this is: listed apart, never in a group's count
            group = SAMPLE_NOT_IN_SHEET
            notes.append("VCF sample not in the samples sheet: listed, not in any group")
        if patient in in_samples and not rows:
            near = _differs_in_case(patient, samples, genotypes)
            notes.append(
                "in the samples sheet but no genotype"
                + (f" (the genotypes have {near!r}: IDs are matched exactly)" if near else "")
            )
        reason = decided.reason
        if genotyped_only and not rows:
            reason = NOT_GENOTYPED_REASON
            notes.append(NOT_GENOTYPED_REASON)
        if patient not in in_clinical:
            notes.append("no clinical measurements")
        compared = group in COMPARED and patient in in_clinical
        if group not in COMPARED:
            notes.append(f"group {group}: reported, not in the two-group comparison")
        group_rows.append(
            {
                "patient_id": patient,
                "group": group,
                "status": status,
                "samples": ";".join(r["sample"] for r in rows),
                "best_variant": best.get("best_variant", "") if best else "",
                "hgvs_p_sample": best.get("hgvs_p_sample", "") if best else "",
                "vaf": best.get("vaf", "") if best else "",
                # why the samples gave this status (the tissue rule's reason, say), for
                # compare's inclusion table where it keeps the patient out
                "status_reason": reason,
            }
        )
        accounting.append(
            {
                "patient_id": patient,
                "in_genotypes": bool(rows),
                "in_samples_sheet": patient in in_samples,
                "in_clinical": patient in in_clinical,
                "group": group,
                "status": status,
                "deciding_samples": describe_samples(listed),
                "in_comparison": compared,
                "note": "; ".join(notes),
                "confirm": _confirm(rows, status),
            }
        )
    genotyped = {p for p, rows in by_patient.items() if rows[0]["mapped"]}
    if not genotyped_only:
        _check_matches(in_clinical, genotyped, _case_pairs(samples, genotypes))
    return Cohort(pd.DataFrame(group_rows), pd.DataFrame(accounting), _events(samples), rule)


SAMPLE_NOT_IN_SHEET = "sample_not_in_samples_sheet"
NOT_GENOTYPED_REASON = "not genotyped; --genotyped-only compares the genotyped patients"


def _confirm(rows: list[dict], status: str) -> str:
    """Why the patient's finding should be confirmed: the ``confirm`` reasons of the samples
    that gave its status (named by sample when more than one has a reason); none when one
    of those samples shows it without needing confirmation (P09: 12% in blood stands, the
    5% in buccal cells adds to it), as the patient page and Phenopacket state it."""
    deciding = [r for r in rows if r.get("status") == status]
    if any(not (isinstance(r.get("confirm"), str) and r["confirm"]) for r in deciding):
        return ""
    reasons = [(str(r["sample"]), r["confirm"]) for r in deciding]
    if len(reasons) == 1:
        return reasons[0][1]
    return "; ".join(f"{sample}: {reason}" for sample, reason in reasons)


def _sheet_samples(samples: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """Per patient, its (sample_id, tissue) rows of the samples sheet in sheet order; tissue
    '' where the sheet has no tissue column (a table built without one)."""
    tissues = samples["tissue"] if "tissue" in samples.columns else [""] * len(samples)
    out: dict[str, list[tuple[str, str]]] = {}
    columns = (samples["patient_id"], samples["sample_id"], tissues)
    for patient, sample, tissue in zip(*columns, strict=True):
        if isinstance(sample, str) and sample:  # an empty sample_id: a patient not sequenced
            text = tissue.strip() if isinstance(tissue, str) else ""
            out.setdefault(str(patient), []).append((sample, text))
    return out


def _patient_samples(
    rows: list[dict], sheet: list[tuple[str, str]]
) -> list[tuple[SampleStatus, dict | None]]:
    """The patient's samples for the status rule, each with its genotype row: its sheet
    samples in sheet order (one per genotype row of that name; without one, NOT_GENOTYPED:
    the sheet says the sample exists), then genotyped samples the sheet does not list."""
    out: list[tuple[SampleStatus, dict | None]] = []
    for sample, tissue in sheet:
        mine = [r for r in rows if r["sample"] == sample]
        out += [(_sample_status(r, tissue), r) for r in mine]
        if not mine:
            out.append((SampleStatus(sample, tissue, NOT_GENOTYPED), None))
    listed = {sample for sample, _ in sheet}
    out += [(_sample_status(r, ""), r) for r in rows if r["sample"] not in listed]
    return out


def _sample_status(row: dict, tissue: str) -> SampleStatus:
    return SampleStatus(row["sample"], tissue, row["status"], str(row.get("note", "")))


def _events(samples: pd.DataFrame) -> pd.DataFrame:
    """One row of event days per patient, merged over the patient's sample rows (a buccal
    row without days beside the blood row with them); two different values of one day are
    an error naming both."""
    columns = [c for c in EVENT_DAYS if c in samples.columns]
    table = samples[["patient_id", *columns]].assign(
        patient_id=lambda d: d["patient_id"].astype(str)
    )
    for column in columns:
        table[column] = pd.to_numeric(table[column], errors="coerce")
    rows = []
    for patient, part in table.groupby("patient_id", sort=False):
        row: dict[str, object] = {"patient_id": patient}
        for column in columns:
            values = sorted(set(part[column].dropna()))
            if len(values) > 1:
                shown = " and ".join(f"{v:g}" for v in values)
                raise Nlrp3AnnotError(
                    f"samples sheet: patient {patient} has {column} {shown} on different rows; "
                    "keep one value (or leave the others empty)"
                )
            row[column] = values[0] if values else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=["patient_id", *columns])


def _case_pairs(samples: pd.DataFrame, genotypes: pd.DataFrame) -> list[tuple[str, str]]:
    """(VCF sample, samples-sheet sample_id) pairs equal but for case or spaces."""
    sheet = {str(s).strip().lower(): str(s) for s in samples["sample_id"] if str(s)}
    return [
        (name, sheet[name.strip().lower()])
        for name in genotypes["sample"].astype(str)
        if name.strip().lower() in sheet and sheet[name.strip().lower()] != name
    ]


def _check_matches(
    clinical: set[str], genotyped: set[str], case_pairs: list[tuple[str, str]]
) -> None:
    """Stop when fewer than half of the clinical patients have a genotype: the IDs of the two
    sides may differ in form (a study prefix, case, spaces), and a comparison of the few that
    match would look like a result. The line names a few patients that matched and a few
    that did not, the likely fix where the IDs show one, and ``--genotyped-only`` for a lab
    that genotyped part of the cohort."""
    if not clinical:
        return
    matched = clinical & genotyped
    if len(matched) * 2 >= len(clinical):
        return
    hint = _likely_fix(clinical - genotyped, genotyped - clinical)
    if case_pairs:
        vcf, sheet = case_pairs[0]
        hint = (
            f"VCF sample {vcf!r} and samples-sheet sample_id {sheet!r} differ in case or "
            "spaces: make them identical (matching is exact)"
        )
    if not hint:
        hint = (
            f"if only these {len(matched)} were genotyped, add --genotyped-only to compare "
            "them (the others are listed as not genotyped); else check that the samples "
            "sheet's patient_id matches the clinical table's"
        )
    unmatched_genotypes = genotyped - clinical
    raise Nlrp3AnnotError(
        f"only {len(matched)} of {len(clinical)} clinical patients have a genotype "
        f"({_some(matched) or 'none'}); without one: {_some(clinical - genotyped)}"
        + (
            f"; genotyped but not in the clinical table: {_some(unmatched_genotypes)}"
            if unmatched_genotypes
            else ""
        )
        + f"; {hint}"
    )


def _some(ids: set[str], shown: int = 3) -> str:
    """A few IDs, sorted, and how many more: 'P02, P04, P05 and 12 more'."""
    listed = sorted(ids)
    text = ", ".join(listed[:shown])
    return f"{text} and {len(listed) - shown} more" if len(listed) > shown else text


def _likely_fix(clinical: set[str], genotyped: set[str]) -> str:
    """The fix the unmatched IDs of the two sides suggest ('' when they suggest none):
    IDs that match once case and spaces are set aside, or a prefix one side carries."""
    lower = {g.strip().lower(): g for g in genotyped}
    for c in sorted(clinical):
        if c.strip().lower() in lower:
            return (
                f"clinical {c!r} and genotype patient {lower[c.strip().lower()]!r} differ "
                "in case or spaces: make them identical (matching is exact)"
            )
    for c in sorted(clinical):
        for g in sorted(genotyped, key=len, reverse=True):
            if c != g and c.endswith(g):
                return (
                    f"the clinical IDs carry a prefix ({c!r} ends with {g!r}): remove "
                    f"'{c[: len(c) - len(g)]}' or map the IDs in the samples sheet"
                )
            if c != g and g.endswith(c):
                return (
                    f"the genotype patient IDs carry a prefix ({g!r} ends with {c!r}): use "
                    "the same IDs in the samples sheet and the clinical table"
                )
    return ""


def _differs_in_case(patient: str, samples: pd.DataFrame, genotypes: pd.DataFrame) -> str:
    """A genotype sample name that equals one of ``patient``'s sample IDs but for case or
    surrounding spaces, or '': a hint for the commonest cause of a missing genotype."""
    wanted = {
        str(s).strip().lower()
        for s in samples.loc[samples["patient_id"].astype(str) == patient, "sample_id"]
    }
    for name in genotypes["sample"].astype(str):
        if name.strip().lower() in wanted:
            return name
    return ""
