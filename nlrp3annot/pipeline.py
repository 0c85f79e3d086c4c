"""The annotation job: VCF + reference sequence -> rows, skipped list and summary.

Decides the build (``--build auto``), finds the sequence (``--fasta`` or the fetched cache),
refuses a FASTA of the other build, and runs the pure :class:`Annotator` over the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .annotate import COLUMNS, Annotation, Annotator
from .errors import Nlrp3AnnotError, ReferenceMismatchError
from .reference import BUILDS, mane_transcript
from .sequence import LocusSequence, fasta_build
from .vcf import Skipped, VcfScan, scan_vcf

# Share of records whose REF must match the reference for a VCF to be taken as that build.
BUILD_REF_AGREEMENT = 0.9


@dataclass
class AnnotationResult:
    """Rows (one per variant allele per transcript), what was skipped and why, and counts."""

    rows: list[Annotation]
    skipped: list[Skipped]
    summary: dict[str, object] = field(default_factory=dict)

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame([r.as_dict() for r in self.rows], columns=None)
        if frame.empty:
            frame = pd.DataFrame(columns=COLUMNS)
        frame.attrs["skipped"] = [s.__dict__ for s in self.skipped]
        frame.attrs["summary"] = dict(self.summary)
        return frame


def _ref_agreement(scan: VcfScan, seq: LocusSequence) -> tuple[int, int]:
    matching = checked = 0
    for rec in scan.records[seq.build]:
        v = rec.variant
        checked += 1
        matching += seq.get(v.pos, v.pos + len(v.ref) - 1) == v.ref.upper()
    return matching, checked


def vcf_build(scan: VcfScan, seq: LocusSequence | None) -> str | None:
    """The build of the VCF: its ##contig length, else where its records fall, else REF."""
    by_header = scan.header_build()
    if by_header:
        return by_header
    present = [b for b in BUILDS if scan.records[b] or scan.skipped[b]]
    if len(present) == 1:
        return present[0]
    if not present:
        return None
    if seq is not None:
        matching, checked = _ref_agreement(scan, seq)
        if checked and matching >= BUILD_REF_AGREEMENT * checked:
            return seq.build
        return next(b for b in BUILDS if b != seq.build)
    return None


def load_sequence(scan: VcfScan, fasta: str | Path | None, build: str) -> LocusSequence:
    """The reference sequence to name against, checked to be the VCF's build."""
    if fasta is not None:
        seq = fasta_build(fasta)
        if build != "auto" and build != seq.build:
            raise ReferenceMismatchError(
                f"{fasta}: is {seq.build} but --build {build} was given; "
                f"give a {build} FASTA or --build {seq.build}"
            )
        wanted = build if build != "auto" else vcf_build(scan, seq)
        if wanted is not None and wanted != seq.build:
            raise ReferenceMismatchError(
                f"{scan.path}: is {wanted} ({_why(scan, seq)}) but {fasta} is {seq.build}; "
                f"give a {wanted} FASTA with --fasta"
            )
        return seq
    from . import fetch  # imported here: requests is only needed without --fasta

    wanted = build if build != "auto" else vcf_build(scan, None)
    candidates = [wanted] if wanted else list(BUILDS)
    for b in candidates:
        cached = fetch.cached_locus(b)
        if cached is not None:
            if build == "auto" and wanted is None:
                matching, checked = _ref_agreement(scan, cached)
                if checked and matching < BUILD_REF_AGREEMENT * checked:
                    continue
            return cached
    need = wanted or "GRCh38"
    raise Nlrp3AnnotError(
        f"no reference sequence for {need}: pass --fasta GENOME.fa (GRCh38 or GRCh37), or run "
        f"'nlrp3annot reference fetch --build {need}' once to download the NLRP3 locus"
    )


def _why(scan: VcfScan, seq: LocusSequence) -> str:
    if scan.header_build():
        return f"its ##contig chr1 length is {scan.chr1_length}"
    counts = ", ".join(f"{len(scan.records[b])} records in the {b} NLRP3 window" for b in BUILDS)
    matching, checked = _ref_agreement(scan, seq)
    return f"{counts}; {matching}/{checked} REF alleles match {seq.build}"


def annotate_scan(scan: VcfScan, seq: LocusSequence) -> AnnotationResult:
    annotator = Annotator([mane_transcript(seq.build)], seq)
    rows: list[Annotation] = []
    for rec in scan.records[seq.build]:
        for row in annotator.annotate(rec.variant):
            rows.append(_with_record(row, rec))
    skipped = list(scan.skipped[seq.build])
    other = [b for b in BUILDS if b != seq.build][0]
    outside = scan.outside
    n_other = len(scan.records[other]) + len(scan.skipped[other])
    summary = {
        "file": scan.path,
        "build": seq.build,
        "sequence": seq.source,
        "records_read": scan.records_read,
        "alleles_annotated": len({(r.pos, r.ref, r.alt) for r in rows}),
        "rows": len(rows),
        "alleles_skipped": len(skipped),
        "records_outside_locus": None if outside < 0 else outside + n_other,
        "ref_mismatches": sum(r.ref_mismatch for r in rows),
        "samples": len(scan.samples),
    }
    return AnnotationResult(rows, skipped, summary)


def _with_record(row: Annotation, rec) -> Annotation:
    row.extra.update({"id": rec.record_id, "filter": rec.filter})
    return row


def annotate_file(
    path: str | Path, fasta: str | Path | None = None, build: str = "auto"
) -> AnnotationResult:
    """Annotate every NLRP3 variant allele of one VCF/BCF file."""
    if build not in ("auto", *BUILDS):
        raise Nlrp3AnnotError(f"unknown build {build!r}: use auto, GRCh38 or GRCh37")
    scan = scan_vcf(path)
    seq = load_sequence(scan, fasta, build)
    return annotate_scan(scan, seq)
