"""The plain-language sentences of a patient report, from a :class:`PatientRecord`. Pure
text (no HTML): what was found, what a "negative" rests on (coverage and the limit of
detection in each tissue), and what the test cannot see.

Every sentence says only what the record's evidence supports: a limit of detection is
given where a scan of the reads measured one, and where a negative rests on a caller's
VCF alone the page says that no limit was measured, rather than inventing one.
"""

from __future__ import annotations

import math

from nlrp3annot.delivery.finding import Finding, protein_name, where
from nlrp3annot.delivery.record import PatientRecord, SampleResult, VariantCall
from nlrp3annot.values import ScanLimits

# Genes whose variants cause autoinflammation like CAPS, not tested here (a reader of a
# negative NLRP3 result asks what else it could be).
OTHER_GENES = "NLRC4, NLRP12, MEFV, TNFRSF1A, MVK, PSTPIP1"


def pct(value: float | None, digits: int = 1) -> str:
    return "unknown" if value is None else f"{100 * value:.{digits}f}%"


def share(value: float | None) -> str:
    """A share of bases covered, never rounded up to a whole: 0.9997 is '99.9%', not
    '100.0%' (a reader takes 100% as every base)."""
    if value is None:
        return "unknown"
    if value >= 1.0:
        return "100%"
    return f"{math.floor(1000 * value) / 10:.1f}%"


def limits_text(limits: ScanLimits) -> str:
    """A scan's limits of detection in full: the known positions' (the highest of them),
    and the indels' and other SNVs' at 95% of coding positions and at the hardest."""
    parts = [f"{pct(limits.known)} at every known pathogenic position (the highest of them)"]
    if limits.indels is not None:
        parts.append(f"small indels {pct(limits.indels)} at 95% of coding positions "
                     f"({pct(limits.indels_worst)} at the hardest)")  # fmt: skip
    if limits.other_snvs is not None:
        parts.append(f"other coding SNVs {pct(limits.other_snvs)} at 95% of coding positions "
                     f"({pct(limits.other_snvs_worst)} at the hardest)")  # fmt: skip
    return "; ".join(parts) + ", each with 95% power"


def fraction_text(v: VariantCall) -> str:
    """'12.2% (95% CI 7.9-17.7%)' of a call's allele fraction ('' without read counts)."""
    if v.vaf is None:
        return ""
    text = pct(v.vaf)
    if v.vaf_ci_low is not None and v.vaf_ci_high is not None:
        text += f" (95% CI {pct(v.vaf_ci_low)}\u2013{pct(v.vaf_ci_high)})"
    return text


def finding_sentences(finding: Finding) -> list[str]:
    """What was found, one sentence per reported change and sample, ClinVar's class in
    ClinVar's words."""
    out = []
    for vf in finding.variants:
        v = vf.call
        kind = f"ClinVar {v.clinvar.significance}" if v.clinvar.significance else "Not in ClinVar"
        zyg = vf.origin
        fraction = fraction_text(v)
        text = f"{kind}: NLRP3 {protein_name(v)}, {v.hgvs_c.split(':')[-1]}, {zyg} in {where(v)}"
        if fraction:
            label = "mosaic fraction" if v.zygosity == "mosaic" else "allele fraction"
            text += f": {label} {fraction} of {v.depth} reads" if v.depth else f": {fraction}"
        if v.from_scan:
            text += "; found by the scan of the reads"
        elif v.genotype.replace("|", "/") in ("0/0", "0"):
            text += "; genotyped as reference by the variant caller"
        if vf.confirm:
            text += "; to be confirmed (" + "; ".join(vf.confirm) + ")"
        if v.doubt:
            text += f"; not decisive: {v.doubt}"
        out.append(text + ".")
        if v.phase == "phase_unknown" and v.hgvs_p_trans:
            out.append(
                f"Two changes in one codon, phase not known: {v.hgvs_p.split(':')[-1]} if on "
                f"one chromosome, {v.hgvs_p_trans.split(':')[-1]} if on different ones."
            )
    return out


def vcf_evidence(sample: SampleResult, min_depth: int | None) -> str:
    """What a sample genotyped from a caller's VCF shows: the coverage it reports, and that
    no limit of detection for mosaics was measured."""
    depth = f"{min_depth} or more reads" if min_depth else "the minimum depth"
    if sample.coding_bases_covered is None:
        covered = "the VCF does not show which coding bases were read"
    else:
        covered = f"{share(sample.coding_bases_covered)} of the coding bases were read at {depth}"
        if sample.lowest_depth is not None:
            covered += f" (at least {sample.lowest_depth} at each known pathogenic position)"
        if sample.coding_bases_covered >= 1.0:
            covered += ", so a germline variant there would have been found"
    return (
        f"In {where(sample)}, from a variant caller's VCF: {covered}; no limit of detection "
        "for mosaics was measured (no scan of the reads), so a low-level mosaic is not "
        "excluded."
    )


def negative_sentences(record: PatientRecord) -> list[str]:
    """The sentences behind "negative": the smallest mosaic that would have been found, in
    which tissue, and for samples read from a VCF, what it covered and that no limit was
    measured."""
    negatives = [s for s in record.samples if s.status == "negative"]
    scanned = [s for s in negatives if s.limit_of_detection is not None]
    first = "No pathogenic or likely pathogenic NLRP3 variant found."
    if scanned:
        parts = [
            f"{pct(s.limit_of_detection)} or more at any known pathogenic position would have "
            f"been found in {where(s)} with 95% power"
            for s in scanned
        ]
        first += " A mosaic of " + "; one of ".join(parts) + "."
    depth = record.run.min_depth
    return [first] + [vcf_evidence(s, depth) for s in negatives if s.limit_of_detection is None]


def summary_sentences(finding: Finding) -> list[str]:
    """The result in a few sentences: the findings, or the evidence behind a negative."""
    record = finding.record
    if record.status == "negative":
        return negative_sentences(record)
    out = finding_sentences(finding)
    if record.status == "not_assessable":
        out.append("Why not assessable: " + finding.reason + ".")
    elif record.status == "vus_only":
        out.append(
            "No variant that ClinVar classifies pathogenic or likely pathogenic was found; the "
            "change listed is of uncertain significance and does not make this result positive."
        )
    elif not record.status:
        out.append("No sample of this patient was genotyped: this is no result.")
    unfound = [s for s in record.samples if s.status == "negative"]
    if record.status.startswith("positive") and unfound:
        out.append(
            "Not found in " + "; ".join(where(s) for s in unfound) + ": see the samples below."
        )
    return out


def limitations(record: PatientRecord) -> list[str]:
    """What the test cannot see, in plain words, for this patient's evidence."""
    out = [
        "Only NLRP3 was tested: its coding exons and the two intronic bases of each splice "
        f"site on {record.run.transcript}. Other genes that cause similar disease "
        f"({OTHER_GENES}) were not tested.",
        "Large deletions or duplications (copy-number changes), rearrangements, deep intronic "
        "and regulatory variants are not detected.",
    ]
    scanned = [s for s in record.samples if s.scan_limits is not None]
    unscanned = [s for s in record.samples if s.status and s.scan_limits is None]
    if scanned:
        out.append(
            "A mosaic below the limit of detection of a scanned sample can be missed there: "
            + "; ".join(
                f"in {where(s)}, {limits_text(s.scan_limits)}" for s in scanned if s.scan_limits
            )  # fmt: skip
            + "."
        )
    if unscanned:
        out.append(
            "No limit of detection was measured where the data are a variant caller's VCF ("
            + "; ".join(f"{s.tissue or 'tissue not given'}, {s.sample}" for s in unscanned)
            + "): germline callers often do not report alleles well below 50%, so a "
            "low-level mosaic may be missed."
        )
    if any(s.coding_bases_covered is None for s in record.samples if s.status):
        out.append(
            "For a sample whose VCF lists only variants, the bases that were not read are not "
            "known: a variant there would be missed."
        )
    tissues = ", ".join(record.tissues)
    out.append(
        f"Tissues tested: {tissues}. A mosaic confined to a tissue not tested would not be "
        "seen; NOMID mosaics are often highest in myeloid blood cells."
    )
    if any(v.zygosity == "mosaic" for v in record.reported_variants):
        out.append(
            "A mosaic fraction is the share of reads with the variant: for a heterozygous "
            "variant, about half the share of cells that carry it."
        )
    out.append(f"ClinVar classifications are those of {clinvar_source(record)}; they can change.")
    return out


def clinvar_source(record: PatientRecord) -> str:
    """Which ClinVar data the classes come from: the table's release as its header says,
    and the date our table was built (never the build date as if it were ClinVar's)."""
    run = record.run
    release = run.clinvar_release or "release not recorded"
    table = run.clinvar_table or "ClinVar table"
    built = f", table built {run.clinvar_date}" if run.clinvar_date else ""
    return f"ClinVar ({table}: {release}{built})"


def method_sentence(record: PatientRecord) -> str:
    run = record.run
    reference = run.reference_fasta or "not recorded"
    depth = f" at {run.min_depth} or more reads" if run.min_depth else ""
    return (
        f"Variants named on {run.transcript} (MANE Select; protein {run.protein}) by "
        f"nlrp3annot {run.tool_version or 'version not recorded'}; genome reference "
        f"{reference}. Germline or mosaic: one-sided exact binomial test of the allele "
        f"fraction against 50%{depth}, with a 95% Clopper\u2013Pearson interval. Reads "
        "(BAM/CRAM), where given, were scanned for mosaics against the error background of "
        "the other samples per strand and read orientation, refusing alleles whose strand "
        "or orientation split differs from the other reads' (Fisher exact); the limit of "
        f"detection is the fraction found with 95% power. Classes: {clinvar_source(record)}."
    )
