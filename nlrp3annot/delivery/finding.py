"""What a report states about one patient, decided once: the result and its reason, each
reported change with ClinVar's class in ClinVar's words and the classification a
Phenopacket may carry, what needs confirming, the interpretation and the recommendations.

The patient page (:mod:`~nlrp3annot.delivery.patient_report`) and the Phenopacket
(:mod:`~nlrp3annot.delivery.phenopackets`) render a :class:`Finding`; neither decides
anything of its own, so they cannot disagree. The status itself is the one the annotation
decided (``annotation/patients.tsv``, ``tables/patients.tsv``, the VCF's
``NLRP3_STATUS``): this module words it and never changes it. Pure.

The interpretation and recommendation sentences come from :data:`RULES`: each rule names
when it applies (status, the change's class and zygosity, the tissue, the allele
fraction, whether a finding needs confirming) in fields a test can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlrp3annot.delivery.record import PatientRecord, SampleResult, VariantCall
from nlrp3annot.patients.tissues import is_blood_or_myeloid

# ClinVar's aggregate class -> the Phenopacket's AcmgPathogenicityClassification, rounded
# toward uncertainty: "Pathogenic/Likely pathogenic" is at least likely pathogenic, not
# pathogenic; a benign/likely benign aggregate is at least likely benign.
ACMG_OF_CLINVAR = (
    ("pathogenic/likely pathogenic", "LIKELY_PATHOGENIC"),
    ("likely pathogenic", "LIKELY_PATHOGENIC"),
    ("pathogenic", "PATHOGENIC"),
    ("benign/likely benign", "LIKELY_BENIGN"),
    ("likely benign", "LIKELY_BENIGN"),
    ("benign", "BENIGN"),
    ("uncertain significance", "UNCERTAIN_SIGNIFICANCE"),
    ("vus", "UNCERTAIN_SIGNIFICANCE"),  # (the bundled web export writes ClinVar's VUS so)
    ("conflicting", "UNCERTAIN_SIGNIFICANCE"),
)
# (Phenopacket progress status of the patient's interpretation)
PROGRESS = {
    "positive_germline": "SOLVED",
    "positive_mosaic": "SOLVED",
    "vus_only": "UNSOLVED",
    "negative": "UNSOLVED",
    "not_assessable": "IN_PROGRESS",
    "": "UNKNOWN_PROGRESS",
}
POSITIVE = ("positive_germline", "positive_mosaic")
ZYGOSITY_WORDS = {
    "het": "heterozygous",
    "hom_alt": "homozygous",
    "hemi": "hemizygous",
    "mosaic": "mosaic",
}
STAR_WORDS = {0: "no stars", 1: "1 star", 2: "2 stars", 3: "3 stars", 4: "4 stars"}
_DIAGNOSES = {  # a diagnosis as written -> the CAPS phenotype names of caps_phenotypes.tsv
    "nomid": "NOMID", "cinca": "NOMID", "nomid/cinca": "NOMID", "cinca/nomid": "NOMID",
    "muckle-wells": "MWS", "muckle-wells syndrome": "MWS", "mws": "MWS",
    "fcas": "FCAS", "fcas1": "FCAS", "familial cold autoinflammatory syndrome": "FCAS",
    "caps": "CAPS", "cryopyrin-associated periodic syndrome": "CAPS",
}  # fmt: skip


def acmg_class(significance: str) -> str:
    """The Phenopacket's class of ClinVar's aggregate class ('NOT_PROVIDED' when none)."""
    words = significance.strip().lower().replace("_", " ")
    for start, name in ACMG_OF_CLINVAR:
        if words.startswith(start):
            return name
    return "NOT_PROVIDED"


def clinvar_words(v: VariantCall) -> str:
    """ClinVar's class as ClinVar writes it, with its review stars:
    'Pathogenic/Likely pathogenic (2 stars: criteria provided, multiple submitters, ...)'."""
    c = v.clinvar
    if not c.significance:
        return "not in ClinVar"
    if c.stars is None:
        return c.significance + (f" ({c.review_status})" if c.review_status else "")
    return f"{c.significance} ({STAR_WORDS[c.stars]}: {c.review_status})"


def phenotype_of(diagnosis: str) -> str:
    """The CAPS phenotype a diagnosis names ('' when it names none of them)."""
    return _DIAGNOSES.get(" ".join(diagnosis.lower().split()), "")


@dataclass(frozen=True)
class VariantFinding:
    """One reported change as the report states it."""

    call: VariantCall
    deciding: bool  # this change makes the patient's result (a positive's causative change)
    interpretation_status: str  # the Phenopacket's: CAUSATIVE, CANDIDATE or UNKNOWN_STATUS
    acmg: str  # ClinVar's class rounded toward uncertainty (ACMG_OF_CLINVAR)
    clinvar: str  # ClinVar's class in its own words, with stars
    origin: str  # 'consistent with germline', 'mosaic', ...
    confirm: tuple[str, ...]  # why this finding needs confirming by another method


@dataclass(frozen=True)
class Finding:
    record: PatientRecord
    headline: str
    reason: str  # why the status, in plain words ('' for a clear positive)
    progress: str  # the Phenopacket's progress status
    variants: tuple[VariantFinding, ...]  # the reported changes
    interpretation: tuple[str, ...]
    recommendations: tuple[str, ...]

    @property
    def status(self) -> str:
        """The patient's status, as the annotation decided it (never changed here)."""
        return self.record.status


def _confirm(v: VariantCall, sample: SampleResult | None) -> tuple[str, ...]:
    """Why this finding needs confirming: the annotation's own reason for the sample
    (``confirm`` of annotation/patients.tsv and tables/patients.tsv), for the change that
    decided the sample's status; never a reason of the page's own."""
    if sample is None or not sample.confirm or v.weight != "pathogenic":
        return ()
    return tuple(part.strip() for part in sample.confirm.split(";") if part.strip())


def _origin(v: VariantCall) -> str:
    if v.zygosity == "mosaic":
        return "mosaic"
    if v.zygosity in ("het", "hom_alt", "hemi"):
        return f"{ZYGOSITY_WORDS[v.zygosity]}, consistent with germline"
    return v.zygosity


def variant_findings(record: PatientRecord) -> tuple[VariantFinding, ...]:
    samples = {s.sample: s for s in record.samples}
    out = []
    for v in record.reported_variants:
        sample = samples.get(v.sample)
        deciding = (
            record.status in POSITIVE
            and v.weight == "pathogenic"
            and not v.doubt
            and sample is not None
            and sample.status in POSITIVE
        )
        if deciding:
            status = "CAUSATIVE"
        elif v.weight in ("pathogenic", "uncertain"):
            status = "CANDIDATE"
        else:
            status = "UNKNOWN_STATUS"
        out.append(
            VariantFinding(
                call=v,
                deciding=deciding,
                interpretation_status=status,
                acmg=acmg_class(v.clinvar.significance),
                clinvar=clinvar_words(v),
                origin=_origin(v),
                confirm=_confirm(v, sample),
            )
        )
    return tuple(out)


def protein_name(v: VariantCall) -> str:
    """'p.Arg260Trp (R260W)', or the c. name where there is no protein change."""
    p = v.hgvs_p.split(":")[-1]
    if not p:
        return v.hgvs_c.split(":")[-1]
    return f"{p} ({v.legacy})" if v.legacy else p


def where(sample: SampleResult | VariantCall) -> str:
    """'blood (P09-blood)': the tissue and the sample."""
    return f"{sample.tissue or 'tissue not given'} ({sample.sample})"


def not_assessable_reason(record: PatientRecord) -> str:
    """Why the data cannot rule a pathogenic variant in or out, from the samples' own
    notes (the patient table's note is about the comparison group, not the data)."""
    from nlrp3annot.patients.coverage import NO_CALLS

    reasons = []
    for s in record.samples:
        if s.status != "not_assessable":
            continue
        note = s.note or "see the sample's row"
        if note.startswith(NO_CALLS):
            note = (
                "the VCF holds no call in the NLRP3 locus (no variant and no reference "
                "genotype there), so it says nothing about NLRP3"
            )
        reasons.append(f"{where(s)}: {note}")
    return "; ".join(reasons) or record.reason or "no sample could be assessed"


def headline(record: PatientRecord, variants: tuple[VariantFinding, ...]) -> str:
    deciding = [v for v in variants if v.deciding]
    status = record.status
    if status in POSITIVE and deciding:
        v = deciding[0]
        call = v.call
        how = (
            f"mosaic, {100 * call.vaf:.1f}% of reads in {call.tissue or 'the sample'}"
            if call.zygosity == "mosaic" and call.vaf is not None
            else v.origin
        )
        flag = "; to be confirmed" if v.confirm else ""
        return (
            f"Positive: NLRP3 {protein_name(call)} ({how}); ClinVar: "
            f"{call.clinvar.significance}{flag}"
        )
    if status == "vus_only":
        return (
            "Uncertain: an NLRP3 variant of uncertain significance; no variant that ClinVar "
            "classifies pathogenic or likely pathogenic"
        )
    if status == "negative":
        return "Negative: no NLRP3 variant that ClinVar classifies pathogenic or likely pathogenic"
    if status == "not_assessable":
        return "Not assessable: the data can neither show nor exclude a pathogenic NLRP3 variant"
    if not status:
        return "Not tested: no sample of this patient was genotyped"
    return status


@dataclass(frozen=True)
class Rule:
    """One sentence of the interpretation or the recommendations, and when it applies.
    Empty conditions do not restrict; ``text`` may name {protein}, {tissue}, {fraction},
    {cells}, {diagnosis}, {phenotypes}, {limit}."""

    kind: str  # interpretation or recommendation
    text: str
    statuses: tuple[str, ...] = ()  # the patient's status
    zygosities: tuple[str, ...] = ()  # of the deciding change
    needs_confirmation: bool | None = None  # a deciding finding needs confirming
    unscanned_negative: bool | None = None  # a negative sample read from a caller's VCF
    blood_sampled: bool | None = None  # some sample is blood/myeloid (as the status rule reads it)
    diagnosis_fits: bool | None = None  # the deciding change's reported phenotypes hold it
    has_diagnosis: bool | None = None


RULES: tuple[Rule, ...] = (
    Rule("interpretation", "NLRP3-related disease (CAPS) is inherited as an autosomal dominant "
         "trait: each child of a germline carrier has a 50% chance of inheriting {protein}.",
         statuses=("positive_germline",)),
    Rule("interpretation", "{protein} has been reported in {phenotypes}, which fits the "
         "clinical diagnosis of {diagnosis}.", statuses=POSITIVE, diagnosis_fits=True),
    Rule("interpretation", "{protein} has been reported in {phenotypes}; the clinical diagnosis "
         "is {diagnosis}. The phenotype is the clinician's to judge: the variant's usual "
         "phenotype is not the patient's.", statuses=POSITIVE, diagnosis_fits=False),
    Rule("interpretation", "No clinical diagnosis was given, so the fit of the result with the "
         "phenotype was not assessed.", has_diagnosis=False),
    Rule("interpretation", "A somatic mosaic: the variant arose after conception and is in part "
         "of the cells ({fraction} of reads in {tissue}, about {cells} of cells for a "
         "heterozygous change). Somatic NLRP3 mosaicism is a recognised cause of NOMID/CINCA "
         "and of later-onset CAPS. A child can inherit it only if it is also in the germ "
         "cells; the risk is low but not excluded.", statuses=("positive_mosaic",),
         zygosities=("mosaic",)),
    Rule("interpretation", "A variant of uncertain significance neither confirms nor excludes "
         "the diagnosis and should not be used for clinical decisions on its own.",
         statuses=("vus_only",)),
    Rule("interpretation", "A negative result does not exclude CAPS: a mosaic below the limit "
         "of detection, a variant the assay cannot see, or a variant in another gene remain "
         "possible; IL-1 blockade works in mutation-negative patients too.",
         statuses=("negative",)),
    Rule("interpretation", "This result is not assessable: {reason}.",
         statuses=("not_assessable",)),
    Rule("interpretation", "There is no result: no sample of this patient was genotyped.",
         statuses=("",)),
    Rule("recommendation", "Confirm the finding by an independent method (deep amplicon "
         "sequencing or digital PCR) on a new DNA extraction before clinical use: {confirm}.",
         needs_confirmation=True),
    Rule("recommendation", "Genetic counselling; cascade testing of first-degree relatives "
         "(parents, siblings, children) for {protein}.", statuses=("positive_germline",)),
    Rule("recommendation", "Genetic counselling. Parental testing is not needed to explain a "
         "somatic mosaic; testing another tissue can show how widespread it is.",
         statuses=("positive_mosaic",)),
    Rule("recommendation", "Test DNA from blood or myeloid cells by deep sequencing (1,000 "
         "reads or more at NLRP3): a negative in another tissue does not exclude a mosaic "
         "that is highest in myeloid cells.", statuses=("negative", "not_assessable"),
         blood_sampled=False),
    Rule("recommendation", "A negative from a variant caller's VCF has no measured limit for "
         "mosaics: if CAPS is still suspected, deep-sequence NLRP3 in blood (1,000 reads or "
         "more) and scan the reads for a low-level mosaic.", statuses=("negative",),
         unscanned_negative=True),
    Rule("recommendation", "Repeat the test on a new sample or with an assay that covers NLRP3 "
         "at sufficient depth.", statuses=("not_assessable", "")),
    Rule("recommendation", "Segregation testing in affected and unaffected relatives may help "
         "to classify the variant; re-evaluate as ClinVar's classification changes.",
         statuses=("vus_only",)),
)  # fmt: skip


def _facts(record: PatientRecord, variants: tuple[VariantFinding, ...]) -> dict[str, object]:
    deciding = next((v for v in variants if v.deciding), None)
    call = deciding.call if deciding else None
    wanted = phenotype_of(record.diagnosis.name)
    phenotypes = [p for p in (call.caps_phenotype.split(";") if call else []) if p]
    return {
        "zygosity": call.zygosity if call else "",
        "needs_confirmation": bool(deciding and deciding.confirm),
        "unscanned_negative": any(
            s.status == "negative" and s.scan_limits is None for s in record.samples
        ),
        "blood_sampled": any(is_blood_or_myeloid(s.tissue) for s in record.samples),
        "diagnosis_fits": (
            None if not (phenotypes and wanted) else (wanted in phenotypes or wanted == "CAPS")
        ),
        "has_diagnosis": bool(record.diagnosis.name or record.diagnosis.code),
    }


FLAGS = (
    "needs_confirmation",
    "unscanned_negative",
    "blood_sampled",
    "diagnosis_fits",
    "has_diagnosis",
)  # the Rule fields that are facts of _facts


def applies(rule: Rule, status: str, facts: dict[str, object]) -> bool:
    if rule.statuses and status not in rule.statuses:
        return False
    if rule.zygosities and facts["zygosity"] not in rule.zygosities:
        return False
    return all((wanted := getattr(rule, name)) is None or facts[name] == wanted for name in FLAGS)


def _fill(text: str, record: PatientRecord, variants: tuple[VariantFinding, ...],
          reason: str) -> str:  # fmt: skip
    deciding = next((v for v in variants if v.deciding), None)
    call = deciding.call if deciding else (variants[0].call if variants else None)
    fraction = f"{100 * call.vaf:.1f}%" if call and call.vaf is not None else "an unknown share"
    cells = f"{min(100.0, 200 * call.vaf):.0f}%" if call and call.vaf is not None else "unknown"
    values = {
        "protein": protein_name(call) if call else "the variant",
        "tissue": (call.tissue or "the sample") if call else "the sample",
        "fraction": fraction,
        "cells": cells,
        "diagnosis": record.diagnosis.name or record.diagnosis.code or "not given",
        "phenotypes": ", ".join(p for p in call.caps_phenotype.split(";") if p) if call else "",
        "reason": reason,
        # (the reasons without their own "confirm by ..." ending: the rule says how)
        "confirm": "; ".join(c.split(":")[0] for c in deciding.confirm) if deciding else "",
    }
    return text.format(**values)


def finding_of(record: PatientRecord) -> Finding:
    """The patient's finding: everything a page or a Phenopacket states about the result."""
    # the change a positive rests on first: one that needs no confirming, where there is one
    variants = tuple(
        sorted(variant_findings(record), key=lambda v: (not v.deciding, bool(v.confirm)))
    )
    reason = not_assessable_reason(record) if record.status == "not_assessable" else ""
    facts = _facts(record, variants)
    chosen = [rule for rule in RULES if applies(rule, record.status, facts)]
    interpretation = tuple(
        _fill(r.text, record, variants, reason) for r in chosen if r.kind == "interpretation"
    )
    recommendations = tuple(
        _fill(r.text, record, variants, reason) for r in chosen if r.kind == "recommendation"
    )
    progress = PROGRESS.get(record.status, "UNKNOWN_PROGRESS")
    if progress == "SOLVED" and all(v.confirm for v in variants if v.deciding):
        progress = "IN_PROGRESS"  # found, but to be confirmed
    return Finding(
        record=record,
        headline=headline(record, variants),
        reason=reason,
        progress=progress,
        variants=variants,
        interpretation=interpretation,
        recommendations=recommendations,
    )
