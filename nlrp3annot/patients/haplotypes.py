"""Per-sample rows: who carries which allele, how (zygosity, allele fraction), and what the
protein change is on the sample's own haplotype. Pure: records and annotations in, rows out.

The sample's own codons: variants that touch the same codon are applied together when they
are on one haplotype: when one of them is homozygous, or both are phased (same phase set)
on the same haplotype. The classic case: the reference carries c.780A (rs4925543 minor
allele), so c.778C>T alone reads p.Arg260Ter; with c.780A>G on the same haplotype the
codon is TGG and the change is p.Arg260Trp (CAPS R260W). Unphased heterozygotes in one
codon get both readings: ``hgvs_p_sample`` if in cis, ``hgvs_p_sample_alt`` if in trans,
and ``phase`` = ``phase_unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlrp3annot.io.vcf import Record
from nlrp3annot.naming.annotator import Annotation, Annotator
from nlrp3annot.naming.legacy import legacy_protein
from nlrp3annot.patients.zygosity import (
    DEFAULT_OPTIONS,
    MosaicOptions,
    SampleCall,
    Zygosity,
    carries,
    classify,
)

SAMPLE_COLUMNS = [
    "sample",
    "gt",
    "zygosity",
    "dp",
    "ad",
    "vaf",
    "vaf_ci_low",
    "vaf_ci_high",
    "mosaic_p",
    "mosaic_test",
    "phase",
    "hgvs_c_sample",
    "hgvs_p_sample",
    "hgvs_p_sample_alt",
]


@dataclass(frozen=True)
class Carried:
    record: Record
    call: SampleCall
    zygosity: Zygosity
    rows: tuple[Annotation, ...]  # one per transcript


def _codons(row: Annotation) -> tuple[int, int] | None:
    if not row.protein_position or row.hgvs_p.endswith("p.?"):
        return None
    a, _, b = row.protein_position.partition("-")
    return int(a), int(b or a)


def _overlap(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def relation(a: Carried, b: Carried) -> str:
    """cis, trans or unknown: are the two alleles on one haplotype of the sample?"""
    va, vb = a.record.variant, b.record.variant
    if va.pos <= vb.pos + len(vb.ref) - 1 and vb.pos <= va.pos + len(va.ref) - 1:
        return "trans"  # overlapping alleles (e.g. 1/2 at one site) cannot share a haplotype
    if a.zygosity.zygosity in ("hom_alt", "hemi") or b.zygosity.zygosity in ("hom_alt", "hemi"):
        return "cis"
    if a.call.phased and b.call.phased and a.call.phase_set == b.call.phase_set:
        return "cis" if set(a.call.haplotypes) & set(b.call.haplotypes) else "trans"
    return "unknown"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _with_legacy(columns: dict[str, object]) -> dict[str, object]:
    columns["legacy_protein_sample"] = legacy_protein(str(columns["hgvs_p_sample"]))
    return columns


def sample_rows(
    records: list[Record],
    annotations: list[list[Annotation]],
    annotator: Annotator,
    options: MosaicOptions = DEFAULT_OPTIONS,
) -> list[dict[str, object]]:
    """One row per sample x allele it carries (or whose genotype is missing), per transcript."""
    by_sample: dict[str, list[Carried]] = {}
    missing: dict[str, list[Carried]] = {}
    for record, rows in zip(records, annotations, strict=True):
        for call in record.calls:
            z = classify(call, options)
            target = by_sample if carries(z) else missing if z.zygosity == "missing" else None
            if target is not None:
                target.setdefault(call.sample, []).append(Carried(record, call, z, tuple(rows)))
    out: list[dict[str, object]] = []
    samples = list(dict.fromkeys(c.sample for r in records for c in r.calls))
    for sample in samples:
        carried = by_sample.get(sample, [])
        for item in carried + missing.get(sample, []):
            for t, row in enumerate(item.rows):
                columns = _with_legacy(_sample_columns(item, t, carried, annotator))
                out.append({**row.as_dict(), **columns})
    return out


def _sample_columns(
    item: Carried, t: int, carried: list[Carried], annotator: Annotator
) -> dict[str, object]:
    z, call, row = item.zygosity, item.call, item.rows[t]
    ad = "" if call.ref_reads is None else f"{call.ref_reads},{call.alt_reads}"
    columns: dict[str, object] = {
        "sample": call.sample,
        "gt": call.gt_text,
        "zygosity": z.zygosity,
        "dp": "" if call.depth is None else call.depth,
        "ad": ad,
        "vaf": _fmt(z.vaf),
        "vaf_ci_low": _fmt(z.vaf_ci[0]) if z.vaf_ci else "",
        "vaf_ci_high": _fmt(z.vaf_ci[1]) if z.vaf_ci else "",
        "mosaic_p": _fmt(z.mosaic_p, 3),
        "mosaic_test": z.mosaic_test,
        "phase": "",
        "hgvs_c_sample": row.hgvs_c,
        "hgvs_p_sample": row.hgvs_p,
        "hgvs_p_sample_alt": "",
    }
    if not carries(z):
        return columns
    partners = [
        (other, relation(item, other))
        for other in carried
        if other is not item and _overlap(_codons(row), _codons(other.rows[t]))
    ]
    cis = [o for o, rel in partners if rel == "cis"]
    unknown = [o for o, rel in partners if rel == "unknown"]
    if not partners:
        return columns
    if cis or unknown:
        together = [item.record.variant] + [o.record.variant for o in cis + unknown]
        columns["hgvs_c_sample"], columns["hgvs_p_sample"] = annotator.haplotype(together)[t]
    if unknown:
        columns["phase"] = "phase_unknown"
        alone = [item.record.variant] + [o.record.variant for o in cis]
        if len(alone) == 1:
            columns["hgvs_p_sample_alt"] = row.hgvs_p
        else:
            columns["hgvs_p_sample_alt"] = annotator.haplotype(alone)[t][1]
    else:
        columns["phase"] = "cis" if cis else "trans"
    return columns
