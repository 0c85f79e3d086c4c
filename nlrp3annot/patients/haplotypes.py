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

from collections.abc import Callable, Mapping
from typing import NamedTuple

from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.naming.legacy import legacy_protein
from nlrp3annot.patients.zygosity import (
    CARRYING,
    DEFAULT_OPTIONS,
    MosaicOptions,
    Zygosity,
    classify,
)
from nlrp3annot.values import Annotation, Record, SampleCall, SampleRow, Variant


class Carried(NamedTuple):  # one per carrier row: a named tuple is cheap to make
    record: Record
    call: SampleCall
    zygosity: Zygosity
    rows: tuple[Annotation, ...]  # one per transcript


def _codons(row: Annotation) -> tuple[int, int] | None:
    if not row.protein_position or row.hgvs_p.endswith("p.?"):
        return None
    a, _, b = row.protein_position.partition("-")
    return int(a), int(b or a)


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
    samples: list[str] | None = None,
    parts: RowParts | None = None,
    file_columns: Mapping[str, object] | None = None,
) -> list[SampleRow]:
    """One row per sample x allele it carries (or whose genotype is missing, or whose ALT
    reads under a reference genotype are shown with why they are no mosaic), per transcript,
    samples in ``samples`` order (default: as first seen in the records). ``parts``: the
    rows' shared parts, kept from earlier files (:class:`RowParts`, whose ``known`` gives
    the columns that follow from a site and the sample's protein change: ClinVar; default:
    new parts without them); ``file_columns``: the columns of this file (its name)."""
    by_sample: dict[str, list[Carried]] = {}
    missing: dict[str, list[Carried]] = {}
    for record, rows in zip(records, annotations, strict=True):
        shared_rows = tuple(rows)
        for call in record.calls:  # 10^5 calls in a joint VCF: kept lean
            z = classify(call, options)
            kind = z.zygosity
            if kind in CARRYING:
                by_sample.setdefault(call.sample, []).append(Carried(record, call, z, shared_rows))
            elif kind == "missing" or z.evidence:  # no genotype, or a refused mosaic
                missing.setdefault(call.sample, []).append(Carried(record, call, z, shared_rows))
    out: list[SampleRow] = []
    if samples is None:
        samples = list(dict.fromkeys(c.sample for r in records for c in r.calls))
    if parts is None:
        parts = RowParts()
    parts.start_file(file_columns or {})
    file = parts.file
    coding_records = {  # only coding alleles can share a codon with another
        id(record)
        for record, rows in zip(records, annotations, strict=True)
        if any(_codons(r) for r in rows)
    }
    append = out.append
    call_part, site_part = parts.call, parts.site
    own_default, own_part = parts.own_default, parts.own
    for sample in samples:
        carried = by_sample.get(sample, ())
        near = None
        if len(carried) > 1:
            coding = [c for c in carried if id(c.record) in coding_records]
            near = _CodonIndex(coding) if len(coding) > 1 else None
        for items, may_share in ((carried, near is not None), (missing.get(sample, ()), False)):
            for item in items:
                record = item.record
                call = call_part(item)
                for t, row in enumerate(item.rows):
                    site = site_part(record, row)
                    reading = _own_reading(item, t, near, annotator) if may_share else None
                    if reading is None:
                        own = own_default(record, t, row)
                    else:
                        own = own_part(record, t, row, reading)
                    append(SampleRow(sample, site, call, own, file))
    return out


class RowParts:
    """The shared parts of sample rows (:class:`SampleRow`: site, call, own reading, file).

    One object per file when made by :func:`sample_rows` itself; a session keeps one for
    all its files (per build), so that a batch of small files builds each site's, call
    pattern's and reading's columns once per process, not once per file. Every cache is
    keyed by what decides the part: the site by its annotation (the annotator's remembered
    object, held in the entry so that its id cannot be another's), the record's ID and
    FILTER; the call by its zygosity (held likewise) and read counts; the reading by the
    annotation and the reading's values. ``known(row)``: the columns that follow from a site
    and the sample's protein change (ClinVar), the same in every file; the columns that
    differ between files (its name) are the rows' file part (:meth:`start_file`)."""

    LIMIT = 100_000  # entries per cache, then it starts again (a bound on memory)

    def __init__(self, known: Callable[[Mapping], dict] | None = None) -> None:
        self.known = known
        self.sites: dict[tuple, tuple[Annotation, dict]] = {}
        self.calls: dict[tuple, tuple[Zygosity, dict]] = {}
        self.readings: dict[tuple, tuple[Annotation, dict]] = {}
        self.defaults: dict[int, tuple[Annotation, dict]] = {}
        self.file: dict[str, object] = {}

    def start_file(self, file_columns: Mapping[str, object]) -> None:
        """A new file, whose rows share ``file_columns`` (one dict for all of them)."""
        self.file = dict(file_columns)
        for cache in (self.sites, self.calls, self.readings, self.defaults):
            if len(cache) > self.LIMIT:
                cache.clear()

    def site(self, record: Record, row: Annotation) -> dict:
        key = (id(row), record.record_id, record.filter)
        entry = self.sites.get(key)
        if entry is None:
            part = {**row.as_dict(), "id": record.record_id, "filter": record.filter}
            entry = self.sites[key] = (row, part)
        return entry[1]

    def call(self, item: Carried) -> dict:
        z, call = item.zygosity, item.call
        key = (id(z), call.gt_text, call.depth, call.ref_reads, call.alt_reads)
        entry = self.calls.get(key)
        if entry is None:
            part = {
                "gt": call.gt_text,
                "zygosity": z.zygosity,
                "dp": "" if call.depth is None else call.depth,
                "ad": "" if call.ref_reads is None else f"{call.ref_reads},{call.alt_reads}",
                "vaf": _fmt(z.vaf),
                "vaf_ci_low": _fmt(z.vaf_ci[0]) if z.vaf_ci else "",
                "vaf_ci_high": _fmt(z.vaf_ci[1]) if z.vaf_ci else "",
                "mosaic_p": _fmt(z.mosaic_p, 3),
                "mosaic_test": z.mosaic_test,
                "evidence": z.evidence,
            }
            entry = self.calls[key] = (z, part)
        return entry[1]

    def own_default(self, record: Record, t: int, row: Annotation) -> dict:
        """The sample's own columns when no other allele shares its codons."""
        entry = self.defaults.get(id(row))
        if entry is None:
            entry = self.defaults[id(row)] = (row, self.own(record, t, row, _site_reading(row)))
        return entry[1]

    def own(self, record: Record, t: int, row: Annotation, reading: dict) -> dict:
        """The sample's own columns for its own reading of the protein change."""
        key = (id(row), *reading.values())
        entry = self.readings.get(key)
        if entry is None:
            part = _with_legacy(dict(reading))
            if self.known is not None:
                site = self.site(record, row)
                part.update(self.known(SampleRow("", site, {}, part, self.file)))
            entry = self.readings[key] = (row, part)
        return entry[1]


def _one_haplotype(variants: list[Variant]) -> list[Variant]:
    """The first variant and those of the others that can share one haplotype with it and
    with each other: two alleles over the same bases (a deletion and an SNV inside it, or the
    two ALTs of one site) cannot, so the later one is left out of this reading."""
    kept: list[Variant] = []
    for v in variants:
        end = v.pos + len(v.ref) - 1
        if all(end < k.pos or v.pos > k.pos + len(k.ref) - 1 for k in kept):
            kept.append(v)
    return kept


class _CodonIndex:
    """A sample's carried alleles by the codons they touch, per transcript: the partners of
    an allele are found by lookup, not by comparing every pair (a file of thousands of
    carried alleles would otherwise cost millions of comparisons)."""

    def __init__(self, carried: list[Carried]) -> None:
        self._by_codon: dict[tuple[int, int], list[Carried]] = {}
        for item in carried:
            for t, row in enumerate(item.rows):
                span = _codons(row)
                if span is not None:
                    for codon in range(span[0], span[1] + 1):
                        self._by_codon.setdefault((t, codon), []).append(item)

    def partners(self, item: Carried, t: int) -> list[Carried]:
        span = _codons(item.rows[t])
        if span is None:
            return []
        found: dict[int, Carried] = {}
        for codon in range(span[0], span[1] + 1):
            for other in self._by_codon.get((t, codon), ()):
                if other is not item:
                    found.setdefault(id(other), other)
        # in file order, so that the reading does not depend on how they were found
        return sorted(found.values(), key=lambda c: (c.record.index, c.record.allele_index))


def _site_reading(row: Annotation) -> dict[str, object]:
    """The sample's own columns when the site's protein change is the sample's."""
    return {
        "phase": "",
        "hgvs_c_sample": row.hgvs_c,
        "hgvs_p_sample": row.hgvs_p,
        "hgvs_p_sample_alt": "",
    }


def _own_reading(
    item: Carried, t: int, near: _CodonIndex, annotator: Annotator
) -> dict[str, object] | None:
    """The sample's own protein change when other carried alleles share the codons
    (None when none does: the site's reading stands)."""
    row = item.rows[t]
    partners = [(other, relation(item, other)) for other in near.partners(item, t)]
    if not partners:
        return None
    cis = [o for o, rel in partners if rel == "cis"]
    unknown = [o for o, rel in partners if rel == "unknown"]
    columns = _site_reading(row)
    if cis or unknown:
        together = _one_haplotype([item.record.variant] + [o.record.variant for o in cis + unknown])
        columns["hgvs_c_sample"], columns["hgvs_p_sample"] = annotator.haplotype(together)[t]
    if unknown:
        columns["phase"] = "phase_unknown"
        alone = _one_haplotype([item.record.variant] + [o.record.variant for o in cis])
        if len(alone) == 1:
            columns["hgvs_p_sample_alt"] = row.hgvs_p
        else:
            columns["hgvs_p_sample_alt"] = annotator.haplotype(alone)[t][1]
    else:
        columns["phase"] = "cis" if cis else "trans"
    return columns
