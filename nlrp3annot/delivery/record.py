"""One patient's result as a typed value: what was found (or not found, and how small a
finding could have been missed), in which samples and tissues, with the ClinVar evidence
and the clinical course. Pure: built from plain rows (dicts of the results folder's
tables) by :func:`build_record`; :mod:`nlrp3annot.delivery.reader` reads those rows.

The record holds no HTML and no wording: the patient page and a Phenopackets writer each
make their own text from the same fields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nlrp3annot.naming.legacy import MANE_PROTEIN, MANE_TRANSCRIPT, legacy_protein
from nlrp3annot.patients.status import is_benign, is_pathogenic
from nlrp3annot.patients.zygosity import CARRYING
from nlrp3annot.values import ScanLimits


@dataclass(frozen=True)
class ClinVarClass:
    """ClinVar's class of a change, as it decided the status: the sample's own change first
    (p.Arg260Trp as ClinVar's c.778_780delinsTGG), then the genomic site."""

    significance: str  # '' when ClinVar has neither
    review_status: str  # '' when the results do not record it
    variation_id: str
    matched_by: str  # 'variant', or "protein change of ClinVar's c.778_780delinsTGG"
    conditions: str  # ClinVar's '|'-separated list
    data_date: str  # the date of the ClinVar table the run used ('' when not recorded)


@dataclass(frozen=True)
class VariantCall:
    """One change a sample carries, named on the sample's own haplotype (MANE)."""

    sample: str
    tissue: str
    hgvs_c: str  # NM_001243133.2:c.[778C>T;780A>G]: the alleles of one codon together
    hgvs_p: str  # NP_001230062.1:p.Arg260Trp, the protein the sample's codon makes
    hgvs_p_trans: str  # the other reading where the phase of two alleles is unknown
    phase: str  # cis, trans, phase_unknown or ''
    legacy: str  # R260W: CAPS papers' single-letter name, MANE numbering
    hgvs_g: tuple[str, ...]  # the genomic alleles behind hgvs_c
    consequence: str
    exon: str  # MANE exon, e.g. 4/10
    legacy_exon: str  # the exon as older papers count it ("exon 3" = MANE exon 4)
    domain: str
    zygosity: str  # het, hom_alt, hemi or mosaic
    vaf: float | None  # allele fraction of the rarest allele of the change
    vaf_ci_low: float | None  # its 95% Clopper-Pearson interval
    vaf_ci_high: float | None
    depth: int | None
    alt_reads: int | None
    weight: str  # pathogenic, uncertain, benign or none (the status rule's weight)
    clinvar: ClinVarClass
    caps_phenotype: str  # FCAS, MWS, NOMID, ';'-joined; '' when not in the sourced table
    penetrance: str  # high, low or ''
    from_scan: bool  # found by nlrp3annot's scan of the reads, not in a caller's VCF
    build: str = ""  # the genome build of the VCF records (GRCh38 or GRCh37)
    vcf_alleles: tuple[tuple[str, int, str, str], ...] = ()  # (chrom, pos, ref, alt) behind it

    @property
    def reported(self) -> bool:
        """Pathogenic or of uncertain weight: the changes a patient report lists."""
        return self.weight in ("pathogenic", "uncertain")


@dataclass(frozen=True)
class SampleResult:
    """One sample of the patient and what its data could show."""

    sample: str
    tissue: str  # as the samples sheet writes it; '' when not given
    status: str  # the sample's status ('' when the sheet lists it but it was not genotyped)
    note: str  # why (the patient summary's note)
    file: str  # the VCF it was read from (a scan's VCF under annotation/scan/)
    from_scan: bool  # genotyped by nlrp3annot's scan of the reads
    coding_bases_covered: float | None  # share of MANE coding bases + splice sites; None unknown
    lowest_depth: int | None  # lowest depth at a ClinVar pathogenic position; None unknown
    scan_limits: ScanLimits | None  # the scan's limits of detection (None: not scanned)

    @property
    def limit_of_detection(self) -> float | None:
        """The mosaic fraction found with 95% power at every known pathogenic allele."""
        return self.scan_limits.known if self.scan_limits else None


@dataclass(frozen=True)
class Treatment:
    """The treatment of the samples sheet; days are study days as the sheet gives them."""

    name: str
    dose: str
    withdrawal_day: float | None
    flare_day: float | None
    followup_end_day: float | None
    flare_censored: bool  # withdrawn, no flare seen


@dataclass(frozen=True)
class Measurement:
    measure: str  # saa, crp, esr, diary
    visit: str  # baseline, month3, flare, ...
    day: float | None  # study day
    value: float | None  # in ``unit`` (canonical: CRP in mg/L)
    unit: str
    censored: str  # '<' for a value below the assay's limit ("<5"), else ''
    raw_value: str  # as the clinical table wrote it


@dataclass(frozen=True)
class RunInfo:
    """What made the results: tool, command, reference and ClinVar versions."""

    tool_version: str
    command: tuple[str, ...]
    finished: str  # run.json's time ('' when read before the run finished)
    clinvar_table: str
    clinvar_date: str
    reference_fasta: str  # the FASTA's file name ('' when not recorded)
    reference_description: str  # its first header line
    test_locus: bool  # the demo's not-real-genome test sequence
    synthetic: bool  # made-up patients (the demo)
    min_depth: int | None  # reads needed for "covered" and for the mosaic test
    transcript: str = MANE_TRANSCRIPT
    protein: str = MANE_PROTEIN

    @property
    def research_use_only(self) -> bool:
        return self.test_locus or self.synthetic


@dataclass(frozen=True)
class PatientRecord:
    patient_id: str
    status: str  # positive_germline, positive_mosaic, vus_only, negative, not_assessable, ''
    group: str  # the comparison group (mutation_positive, ...)
    reason: str  # why the samples gave this status ('' when one sample says it all)
    deciding_samples: str  # each sample with tissue and status, as tables/patients.tsv says
    samples: tuple[SampleResult, ...]
    variants: tuple[VariantCall, ...]  # every change carried, benign ones too
    treatment: Treatment | None
    measurements: tuple[Measurement, ...]
    run: RunInfo
    diagnosis: str = ""  # the samples sheet's diagnosis column (FCAS, MWS, NOMID...), if any

    @property
    def reported_variants(self) -> tuple[VariantCall, ...]:
        return tuple(v for v in self.variants if v.reported)

    @property
    def tissues(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for s in self.samples:
            seen.setdefault(s.tissue or "tissue not given", None)
        return tuple(seen)


def variant_weight(significance: str, penetrance: str, impact: str) -> str:
    """The status rule's weight of one allele (nlrp3annot.patients.status): low
    penetrance and VUS/conflicting are uncertain; a protein-altering change ClinVar does
    not know is uncertain too."""
    if penetrance == "low":
        return "uncertain"
    if is_pathogenic(significance):
        return "pathogenic"
    if is_benign(significance):
        return "benign"
    if significance or impact in ("HIGH", "MODERATE"):
        return "uncertain"
    return "none"


def number(value: object) -> float | None:
    """A table cell as a float; None for '', NaN, 'unknown' and the like."""
    try:
        out = float(str(value))
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def whole(value: object) -> int | None:
    out = number(value)
    return None if out is None else int(out)


def _is_mane(row: Mapping[str, str]) -> bool:
    if "flags" in row and row.get("flags"):
        return "MANE_Select" in str(row["flags"])
    return str(row.get("transcript", "")).split(".")[0] == MANE_TRANSCRIPT.split(".")[0]


def _alt_reads(row: Mapping[str, str]) -> int | None:
    parts = str(row.get("ad", "")).split(",")
    return whole(parts[1]) if len(parts) == 2 else None


def variant_calls(
    rows: Iterable[Mapping[str, str]],
    tissue_of: Mapping[str, str],
    from_scan: Iterable[str],
    clinvar_of: Mapping[str, tuple[str, str]],
    clinvar_date: str,
) -> tuple[VariantCall, ...]:
    """The changes the rows of ``calls.tsv`` show carried, one per sample and own change
    (the two alleles of c.[778C>T;780A>G] are one change). ``clinvar_of``: ClinVar's
    (review status, conditions) by VariationID, for the sample's own ClinVar record where
    it is not the site's (the rows carry only the site's)."""
    scanned = set(from_scan)
    groups: dict[tuple[str, str], list[Mapping[str, str]]] = {}
    for row in rows:
        if row.get("zygosity") not in CARRYING or not _is_mane(row):
            continue
        own = row.get("hgvs_c_sample") or row.get("hgvs_c") or ""
        groups.setdefault((str(row.get("sample", "")), str(own)), []).append(row)
    out = []
    for (sample, own), members in groups.items():
        # a haplotype is at most as frequent as its rarest allele: that row's fraction
        # and zygosity are the change's (c.780A>G is hom_alt where c.778C>T is het)
        row = min(members, key=lambda r: number(r.get("vaf")) if number(r.get("vaf")) is not None
                  else 2.0)  # fmt: skip
        significance = str(
            row.get("clinvar_significance_sample") or row.get("clinvar_significance") or ""
        )
        own_id = str(row.get("clinvar_id_sample") or row.get("clinvar_id") or "")
        site = own_id == str(row.get("clinvar_id", ""))
        review, conditions = (
            (str(row.get("clinvar_review", "")), str(row.get("conditions", "")))
            if site
            else clinvar_of.get(own_id, ("", ""))
        )
        clinvar = ClinVarClass(
            significance=significance,
            review_status=review,
            variation_id=own_id,
            matched_by=str(row.get("clinvar_match", "")),
            conditions=conditions,
            data_date=clinvar_date,
        )
        hgvs_p = str(row.get("hgvs_p_sample") or row.get("hgvs_p") or "")
        penetrance = str(row.get("penetrance", ""))
        out.append(
            VariantCall(
                sample=sample,
                tissue=tissue_of.get(sample, ""),
                hgvs_c=own,
                hgvs_p=hgvs_p,
                hgvs_p_trans=str(row.get("hgvs_p_sample_alt", "")),
                phase=str(row.get("phase", "")),
                legacy=legacy_protein(hgvs_p),
                hgvs_g=tuple(str(r.get("hgvs_g", "")) for r in members),
                consequence=str(row.get("consequence", "")),
                exon=str(row.get("exon", "")),
                legacy_exon=str(row.get("legacy_exon", "")),
                domain=str(row.get("domain", "")),
                zygosity=str(row.get("zygosity", "")),
                vaf=number(row.get("vaf")),
                vaf_ci_low=number(row.get("vaf_ci_low")),
                vaf_ci_high=number(row.get("vaf_ci_high")),
                depth=whole(row.get("dp")),
                alt_reads=_alt_reads(row),
                weight=variant_weight(significance, penetrance, str(row.get("impact", ""))),
                clinvar=clinvar,
                caps_phenotype=str(row.get("caps_phenotype", "")),
                penetrance=penetrance,
                from_scan=sample in scanned,
                build=str(row.get("build", "")),
                vcf_alleles=tuple(
                    (
                        str(r.get("chrom", "")),
                        whole(r.get("pos")) or 0,
                        str(r.get("ref", "")),
                        str(r.get("alt", "")),
                    )
                    for r in sorted(members, key=lambda r: whole(r.get("pos")) or 0)
                ),  # fmt: skip
            )
        )
    return tuple(out)


def sample_result(
    sample: str,
    tissue: str,
    summary_row: Mapping[str, str] | None,
    scan_limits: ScanLimits | None,
    from_scan: bool,
) -> SampleResult:
    """A sample from its row of ``annotation/patients.tsv`` (None: listed in the samples
    sheet, never genotyped)."""
    row = summary_row or {}
    return SampleResult(
        sample=sample,
        tissue=tissue,
        status=str(row.get("status", "")),
        note=str(row.get("note", "")),
        file=str(row.get("file", "")),
        from_scan=from_scan,
        coding_bases_covered=number(row.get("coding_bases_covered")),
        lowest_depth=whole(row.get("lowest_depth_at_pathogenic_positions")),
        scan_limits=scan_limits,
    )


def treatment(rows: Sequence[Mapping[str, str]]) -> Treatment | None:
    """The patient's treatment from its samples-sheet rows (the first row that names one;
    the sheet repeats it on each sample's row)."""
    named = [r for r in rows if str(r.get("treatment", "")).strip()]
    if not named:
        return None
    row = named[0]
    censored = str(row.get("flare_censored", "")).strip().lower() in ("true", "1")
    return Treatment(
        name=str(row["treatment"]).strip(),
        dose=str(row.get("dose", "")).strip(),
        withdrawal_day=number(row.get("withdrawal_day")),
        flare_day=number(row.get("flare_day")),
        followup_end_day=number(row.get("followup_end_day")),
        flare_censored=censored,
    )


def measurements(rows: Iterable[Mapping[str, str]]) -> tuple[Measurement, ...]:
    """The patient's rows of ``tables/measurements.tsv``, in study-day order."""
    out = [
        Measurement(
            measure=str(r.get("measure", "")),
            visit=str(r.get("visit", "")),
            day=number(r.get("day")),
            value=number(r.get("value")),
            unit=str(r.get("unit", "")),
            censored=str(r.get("censored", "")),
            raw_value=str(r.get("raw_value", "")),
        )
        for r in rows
    ]
    return tuple(sorted(out, key=lambda m: (m.day if m.day is not None else math.inf, m.visit)))


def build_record(
    patient: Mapping[str, str],
    samples: Sequence[SampleResult],
    variants: Iterable[VariantCall],
    treated: Treatment | None,
    measured: Sequence[Measurement],
    run: RunInfo,
    diagnosis: str = "",
) -> PatientRecord:
    """The record of one patient: ``patient`` is its row of ``tables/patients.tsv``; the
    variants kept are those of its samples."""
    names = {s.sample for s in samples}
    return PatientRecord(
        patient_id=str(patient["patient_id"]),
        status=str(patient.get("status", "")),
        group=str(patient.get("group", "")),
        reason=str(patient.get("note", "")),
        deciding_samples=str(patient.get("deciding_samples", "")),
        samples=tuple(samples),
        variants=tuple(v for v in variants if v.sample in names),
        treatment=treated,
        measurements=tuple(measured),
        run=run,
        diagnosis=diagnosis,
    )
