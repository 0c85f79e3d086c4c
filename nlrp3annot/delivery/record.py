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
from dataclasses import dataclass, field

from nlrp3annot.naming.legacy import MANE_PROTEIN, MANE_TRANSCRIPT, legacy_protein
from nlrp3annot.patients.status import is_benign, is_pathogenic
from nlrp3annot.patients.zygosity import CARRYING
from nlrp3annot.values import ScanLimits


@dataclass(frozen=True)
class ClinVarClass:
    """ClinVar's record of a change as a report cites it, in ClinVar's own words.

    The record cited is the one of the allele that makes the change (R260W: c.778C>T,
    VariationID 4374, rs121908150, which ClinVar names p.Arg260Ter against the reference's
    c.780A; ``context`` says how it reads with c.780G); a change ClinVar does not hold
    itself is cited by the record of its protein change (``matched_by`` says so)."""

    significance: str  # ClinVar's aggregate class verbatim ('' when ClinVar has none)
    review_status: str  # ClinVar's review status verbatim ('' when not recorded)
    variation_id: str
    matched_by: str  # 'variant', or "protein change of ClinVar's c.778_780delinsTGG"
    conditions: str  # ClinVar's '|'-separated list
    data_date: str  # the date our ClinVar table was built ('' when not recorded)
    dbsnp: str = ""  # rs number ClinVar gives ('' when none or not recorded)
    stars: int | None = None  # ClinVar's review stars (0-4); None when not recorded
    last_evaluated: str = ""  # ClinVar's date last evaluated, ISO ('' when not given)
    release: str = ""  # which ClinVar release the table holds, as its header says
    context: str = ""  # how ClinVar's name reads on the patient's codon (c.780G), or ''


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
    genotype: str = ""  # the caller's genotype as written (0/1, 0/0, ./.)
    evidence: str = ""  # what the reads say beyond the genotype (calls.tsv 'evidence'), or ''
    doubt: str = ""  # why the call cannot decide a status on its own, or ''

    @property
    def reported(self) -> bool:
        """Pathogenic or of uncertain weight: the changes a patient report lists."""
        return self.weight in ("pathogenic", "uncertain")


@dataclass(frozen=True)
class Specimen:
    """What the samples sheet says of a specimen ('' where it says nothing)."""

    specimen_id: str = ""
    collected: str = ""  # collection date as written
    received: str = ""  # receipt date as written
    assay: str = ""  # the assay's design: capture, amplicon, WGS... (not a tissue)


@dataclass(frozen=True)
class PatientDetails:
    """Who the patient is and why they were tested, as the samples sheet gives it."""

    name: str = ""
    medical_record_number: str = ""
    date_of_birth: str = ""
    sex: str = ""
    indication: str = ""
    ordering_clinician: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """The patient's clinical diagnosis: the clinician's, never read off a variant."""

    name: str  # as given (NOMID, Muckle-Wells...), '' when none
    code: str = ""  # MONDO:/ORPHA:/ICD10: code when given
    source: str = ""  # 'samples sheet', '--diagnosis (whole cohort)' or ''


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
    specimen: Specimen = field(default_factory=lambda: Specimen())
    confirm: str = ""  # why a finding of this sample needs confirming ('' none)

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
    clinvar_release: str = ""  # which ClinVar release the table holds (its header)
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
    diagnosis: Diagnosis = field(default_factory=lambda: Diagnosis(""))
    details: PatientDetails = field(default_factory=lambda: PatientDetails())
    # the patient's file name without suffix, made safe by delivery.names (its ID's own when
    # not given: the reader gives the name among all the results' patients)
    file_stem: str = ""

    def __post_init__(self) -> None:
        from nlrp3annot.delivery.names import file_stem, is_file_stem

        if not self.file_stem:
            object.__setattr__(self, "file_stem", file_stem(self.patient_id))
        elif not is_file_stem(self.file_stem):  # every writer names files by it
            raise ValueError(f"unsafe file name {self.file_stem!r} for {self.patient_id!r}")

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


def cited_record(members: Sequence[Mapping[str, str]], own_id: str, own_weight: str) -> str:
    """The ClinVar record a report cites for one change: that of the allele that makes it
    (the VCF findings' rule, io.vcf_findings.alleles_making_the_change: R260W's c.778C>T,
    not c.780A>G, most patients' own haplotype), where ClinVar holds that allele with the
    same weight as the change (4374); else the change's own record (a protein-change
    match)."""
    from nlrp3annot.io.vcf_findings import alleles_making_the_change
    from nlrp3annot.knowledge.lookup import common_alleles_at_minor_sites

    common = common_alleles_at_minor_sites()
    by_allele = {
        (str(r.get("build", "")), whole(r.get("norm_pos")) or 0, str(r.get("norm_ref", "")),
         str(r.get("norm_alt", ""))): r
        for r in members
    }  # fmt: skip
    makers = alleles_making_the_change(
        list(by_allele), common.__contains__, lambda a: by_allele[a].get("clinvar_significance")
    )
    cited = [
        r
        for r in (by_allele[a] for a in makers)
        if r.get("clinvar_id")
        and variant_weight(str(r.get("clinvar_significance", "")), "", "") == own_weight
    ]
    return str(cited[0]["clinvar_id"]) if len(cited) == 1 else own_id


def clinvar_class(record, data_date: str, release: str, matched_by: str) -> ClinVarClass:
    """A ClinVar record (``knowledge.clinvar.ClinVarRecord``) as a report cites it."""
    from nlrp3annot.knowledge.lookup import context_line, review_stars

    return ClinVarClass(
        significance=record.significance,
        review_status=record.review_status,
        variation_id=str(record.variation_id),
        matched_by=matched_by,
        conditions=record.conditions,
        data_date=data_date,
        dbsnp=record.dbsnp,
        stars=review_stars(record.review_status),
        last_evaluated=record.last_evaluated,
        release=release,
        context=context_line(record),
    )


def variant_calls(
    rows: Iterable[Mapping[str, str]],
    tissue_of: Mapping[str, str],
    from_scan: Iterable[str],
    clinvar_records: Mapping[str, object],
    clinvar_date: str,
    clinvar_release: str = "",
) -> tuple[VariantCall, ...]:
    """The changes the rows of ``calls.tsv`` show carried, one per sample and own change
    (the two alleles of c.[778C>T;780A>G] are one change). ``clinvar_records``: the
    ClinVar records of the table the run used, by VariationID (empty when that table is
    not the one loaded now: then only what the rows say is cited)."""
    from nlrp3annot.patients.status import doubt

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
        penetrance = str(row.get("penetrance", ""))
        weight = variant_weight(significance, penetrance, str(row.get("impact", "")))
        own_id = str(row.get("clinvar_id_sample") or row.get("clinvar_id") or "")
        cited = cited_record(members, own_id, variant_weight(significance, "", ""))
        matched_by = "variant" if cited != own_id else str(row.get("clinvar_match", ""))
        if cited in clinvar_records:
            clinvar = clinvar_class(clinvar_records[cited], clinvar_date, clinvar_release,
                                    matched_by)  # fmt: skip
        else:  # what the rows carry (the site's record when it is the one cited)
            site = next((r for r in members if str(r.get("clinvar_id", "")) == cited), None)
            clinvar = ClinVarClass(
                significance=str(site.get("clinvar_significance", "")) if site else significance,
                review_status=str(site.get("clinvar_review", "")) if site else "",
                variation_id=cited,
                matched_by=matched_by,
                conditions=str(site.get("conditions", "")) if site else "",
                data_date=clinvar_date,
                release=clinvar_release,
            )
        hgvs_p = str(row.get("hgvs_p_sample") or row.get("hgvs_p") or "")
        ordered = sorted(members, key=lambda r: whole(r.get("pos")) or 0)
        out.append(
            VariantCall(
                sample=sample,
                tissue=tissue_of.get(sample, ""),
                hgvs_c=own,
                hgvs_p=hgvs_p,
                hgvs_p_trans=str(row.get("hgvs_p_sample_alt", "")),
                phase=str(row.get("phase", "")),
                legacy=legacy_protein(hgvs_p),
                hgvs_g=tuple(str(r.get("hgvs_g", "")) for r in ordered),
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
                weight=weight,
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
                    for r in ordered
                ),  # fmt: skip
                genotype=str(row.get("gt", "")),
                evidence=str(row.get("evidence", "")),
                doubt="; ".join(filter(None, (doubt(r) for r in members))),
            )
        )
    return tuple(out)


def sample_result(
    sample: str,
    tissue: str,
    summary_row: Mapping[str, str] | None,
    scan_limits: ScanLimits | None,
    from_scan: bool,
    sheet_row: Mapping[str, str] | None = None,
) -> SampleResult:
    """A sample from its row of ``annotation/patients.tsv`` (None: listed in the samples
    sheet, never genotyped) and of the samples sheet (None: not in it)."""
    row = summary_row or {}
    sheet = sheet_row or {}
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
        specimen=Specimen(
            specimen_id=str(sheet.get("specimen_id", "")),
            collected=str(sheet.get("collection_date", "")),
            received=str(sheet.get("receipt_date", "")),
            assay=str(sheet.get("assay", "")),
        ),
        confirm=str(row.get("confirm", "")),
    )


def first_given(rows: Sequence[Mapping[str, str]], column: str) -> str:
    """The first non-empty value of ``column`` in the patient's samples-sheet rows (the
    sheet repeats a patient's fields on each of its samples' rows)."""
    return next((str(r[column]).strip() for r in rows if str(r.get(column, "")).strip()), "")


def patient_details(rows: Sequence[Mapping[str, str]]) -> PatientDetails:
    """The patient's identifiers and referral from the samples sheet."""
    return PatientDetails(
        name=first_given(rows, "patient_name"),
        medical_record_number=first_given(rows, "medical_record_number"),
        date_of_birth=first_given(rows, "date_of_birth"),
        sex=first_given(rows, "sex"),
        indication=first_given(rows, "indication"),
        ordering_clinician=first_given(rows, "ordering_clinician"),
    )


def diagnosis_of(rows: Sequence[Mapping[str, str]], cohort: str = "") -> Diagnosis:
    """The patient's diagnosis: the samples sheet's (name or code), else the cohort's
    ``--diagnosis``, else none. Never the phenotype a variant is usually reported with."""
    name, code = first_given(rows, "diagnosis"), first_given(rows, "diagnosis_code")
    if name or code:
        return Diagnosis(name, code, "samples sheet")
    if cohort.strip():
        return Diagnosis(cohort.strip(), "", "--diagnosis (whole cohort)")
    return Diagnosis("")


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
    diagnosis: Diagnosis | None = None,
    details: PatientDetails | None = None,
    file_stem: str = "",
) -> PatientRecord:
    """The record of one patient: ``patient`` is its row of ``tables/patients.tsv``; the
    variants kept are those of its samples. ``file_stem``: the name its files take among
    all the results' patients (delivery.names.file_stems); by default its ID's own."""
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
        diagnosis=diagnosis or Diagnosis(""),
        details=details or PatientDetails(),
        file_stem=file_stem,
    )
