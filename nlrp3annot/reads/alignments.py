"""The BAM/CRAM edge: opening an indexed file (one line naming it on any failure), its
sample and chromosome-1 name, and which reads count (:class:`ReadFilters`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.reads.flags import (
    DUPLICATE,
    PAIRED,
    PROPER,
    QCFAIL,
    SECONDARY,
    SUPPLEMENTARY,
    UNMAPPED,
)
from nlrp3annot.reads.umis import umi_problem


@dataclass(frozen=True)
class ReadFilters:
    """Which reads and bases count. With UMIs (``umi_tag``, or ``umi_from_name``: in the
    read name, :mod:`nlrp3annot.reads.umis`) the reads of one molecule (same UMI, same
    alignment) are collapsed to a consensus, so duplicate flags are not used (a duplicate
    marker without UMIs marks the members of a family)."""

    min_mapq: int = 20
    min_baseq: int = 20
    proper_pairs: bool = True  # for paired reads: both mates mapped as a proper pair
    umi_tag: str | None = None  # e.g. RX: reads of one molecule collapse to one consensus
    umi_agreement: float = 2 / 3  # share of a family's reads that must agree on a base
    primers: str | None = None  # a primer BED: primer bases are clipped, not evidence
    umi_from_name: bool = False  # the UMI ends the read name (bcl-convert, UMI-tools)
    # with no UMI option: files whose reads carry RX tags are collapsed by RX (say so)
    umi_auto: bool = True

    def __post_init__(self) -> None:
        if self.umi_tag and self.umi_from_name:
            raise Nlrp3AnnotError(
                f"--umi-tag {self.umi_tag} and --umi-from-name: the UMIs are in a tag or in "
                "the read name, give one of the two"
            )

    @property
    def umis(self) -> bool:
        """Whether reads are grouped into UMI families."""
        return bool(self.umi_tag) or self.umi_from_name

    def bad_flags(self) -> int:
        flags = UNMAPPED | SECONDARY | SUPPLEMENTARY | QCFAIL
        return flags if self.umis else flags | DUPLICATE

    def passes(self, read) -> bool:
        flag = read.flag
        if flag & self.bad_flags() or read.mapping_quality < self.min_mapq:
            return False
        return not (self.proper_pairs and flag & PAIRED and not flag & PROPER)


def dropped_why(read, flag: int, filters: ReadFilters) -> str:
    """Which filter a read failed (the first, in this order): the keys of ``dropped``."""
    if flag & (SECONDARY | SUPPLEMENTARY) or read.is_unmapped:
        return "secondary, supplementary or unmapped"
    if flag & QCFAIL:
        return "qc_fail"
    if flag & DUPLICATE and not filters.umis:
        return "duplicate"
    if read.mapping_quality < filters.min_mapq:
        return "mapq"
    if filters.proper_pairs and flag & PAIRED and not flag & PROPER:
        return "not_proper_pair"
    if read.query_sequence is None:
        return "no_sequence"
    if not read.query_qualities_str:
        return "no_base_qualities"
    return umi_problem(read, filters.umi_tag, filters.umi_from_name)


def open_alignments(path: str | Path, fasta: str | Path | None):
    """pysam's AlignmentFile for a BAM or CRAM with an index (one line naming the file on
    any failure: no index, not an alignment file, a CRAM without its reference)."""
    import pysam

    from nlrp3annot.reads.files import check_index, check_is_alignment_file

    path = Path(path)
    check_is_alignment_file(path)  # a directory, a SAM text file: said before htslib tries
    try:
        handle = pysam.AlignmentFile(
            str(path), "rc" if path.suffix == ".cram" else "rb",
            reference_filename=str(fasta) if fasta else None,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputFileError(
            path, f"is not a readable BAM/CRAM ({exc})", "check the file"
        ) from None
    if not handle.has_index():
        handle.close()
        raise InputFileError(
            path, "has no index", "index it with 'samtools index' (only the locus is read)"
        )
    try:
        check_index(path)
    except InputFileError:
        handle.close()
        raise
    return handle


def close_quietly(handle) -> None:
    """Close after a failed read: htslib then reports the same failure again on closing
    ("Closing failed: Success"), which would hide the one-line reason already raised."""
    with contextlib.suppress(OSError):
        handle.close()


def sample_name(handle, path: Path) -> str:
    """The read groups' SM, else the file name without its suffix."""
    groups = handle.header.to_dict().get("RG", [])
    names = sorted({g["SM"] for g in groups if g.get("SM")})
    if len(names) > 1:
        raise InputFileError(
            path, f"holds reads of {len(names)} samples ({', '.join(names)})", "split it"
        )
    return names[0] if names else path.name.split(".")[0]


def output_stem(sample: str) -> str:
    """The file name a sample's scan VCF is made from (``<stem>.scan.vcf.gz``): its name
    with characters a file name cannot safely hold as '_'. Two samples that meet here
    (``P16 blood`` and ``P16_blood``) are refused by the scan, never written over."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in sample).lstrip(".") or "_"


def contig_of(handle, path: Path) -> tuple[str, dict[str, int]]:
    """The chromosome-1 name of the header and every @SQ length (to tell the build)."""
    lengths = dict(zip(handle.references, handle.lengths, strict=True))
    from nlrp3annot.io.vcf import CHR1_NAMES

    for name in CHR1_NAMES:
        if name in lengths:
            return name, lengths
    raise InputFileError(path, "has no chromosome 1 in its header", "give a human BAM/CRAM")


def unusable_reason(dropped: dict[str, int], filters: ReadFilters) -> str:
    """Why a sample has no usable base in the targets, for its not_assessable note: the
    reads each filter removed, most first, each with what to do."""
    umi = "UMI in the read name" if filters.umi_from_name else f"{filters.umi_tag} UMI"
    hints = {
        "duplicate": "marked duplicate (with UMIs give --umi-tag or --umi-from-name; else mark "
        "duplicates again)",
        "mapq": f"below --min-mapq {filters.min_mapq} (MAPQ 0: placed at several loci; "
        "check the aligner's reference)",
        "qc_fail": "flagged QC-fail (0x200) by the sequencer or pipeline",
        "not_proper_pair": "paired but not in a proper pair (for single-end or unpaired data "
        "give --no-proper-pairs)",
        "no_base_qualities": "without base qualities ('*'): no base is evidence",
        "no_sequence": "without bases (SEQ '*')",
        "bad_umi": f"with a malformed {umi}",
        "no_umi": f"without a {umi}",
        "no_amplicon": "of no amplicon of the primer BED (their 5' ends in no LEFT/RIGHT "
        "primer pair of one pool: check the BED is this assay's)",
    }
    shown = sorted(((n, k) for k, n in dropped.items() if k in hints and n), reverse=True)
    if not shown:
        return f"no read over the NLRP3 coding exons has a base of --min-baseq {filters.min_baseq}"
    total = sum(n for k, n in dropped.items() if not k.startswith("_"))
    return f"no usable read over the NLRP3 coding exons: of {total:,} reads, " + "; ".join(
        f"{n:,} {hints[k]}" for n, k in shown
    )
