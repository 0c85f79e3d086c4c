"""Primer bases are not evidence (``scan --primers primers.bed``).

In an amplicon assay every read of an amplicon starts (and, when it reads through, ends)
in a primer, and a primer's bases are the primer's sequence, not the patient's: they hide
a mosaic under the primer and add reference bases that are no evidence at all. Labs clip
them by position from the primer BED (BED6 as ARTIC, iVar and ``samtools ampliconclip``
use it). We leave that job to samtools' own ``ampliconclip`` (bundled with pysam, so
nothing more to install): each alignment file's reads over the NLRP3 locus are soft-clipped
at both ends where they lie in a primer, sorted and indexed in a temporary folder, and
the scan counts those. The outputs still name the file the user gave.
"""

from __future__ import annotations

from pathlib import Path

from nlrp3annot.errors import InputFileError

TOLERANCE = 5  # ampliconclip's default: a read end this near a primer counts as in it


def check_primers(bed: Path, contig_names: set[str]) -> int:
    """The number of primers in ``bed``; a one-line error naming the file and line where
    it is not a BED of primers on the reads' chromosome 1."""
    try:
        lines = bed.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(bed, f"cannot be read ({exc})", "give a primer BED file") from None
    primers = 0
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise InputFileError(
                bed, f"line {n} has {len(fields)} tab-separated column(s), not chrom, start, end",
                "give a BED (BED6 as ARTIC/iVar primer schemes write it)",
            )  # fmt: skip
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputFileError(
                bed, f"line {n}: start {fields[1]!r} / end {fields[2]!r} are not numbers",
                "fix the line",
            ) from None  # fmt: skip
        if not 0 <= start < end:
            raise InputFileError(bed, f"line {n}: start {start} is not below end {end}",
                                 "fix the line")  # fmt: skip
        if fields[0] not in contig_names:
            continue  # primers of other chromosomes: not ours to clip
        primers += 1
    if not primers:
        raise InputFileError(
            bed, f"names no primer on {' or '.join(sorted(contig_names))}",
            "give the primer BED of this assay, with the chromosome named as in the BAM",
        )  # fmt: skip
    return primers


def clip_primers(
    path: Path, fasta: Path, bed: Path, region: str, folder: Path, named: Path | None = None
) -> Path:
    """The reads of ``path`` over ``region`` with primer bases soft-clipped at both ends,
    as an indexed BAM in ``folder``; a failure names ``named`` (the user's file, where
    ``path`` is a library's or a pool's part of it)."""
    import pysam

    stem = folder / f"{len(list(folder.iterdir()))}"
    region_bam, clipped, ordered = (stem.with_suffix(s) for s in (".region.bam", ".clip.bam",
                                                                   ".bam"))  # fmt: skip
    try:
        pysam.view("-b", "-T", str(fasta), "-o", str(region_bam), str(path), region,
                   catch_stdout=False)  # fmt: skip
        pysam.ampliconclip("-b", str(bed), "--both-ends", "--soft-clip", "--no-PG",
                           "--tolerance", str(TOLERANCE), "-o", str(clipped), str(region_bam),
                           catch_stdout=False)  # fmt: skip
        pysam.sort("-o", str(ordered), str(clipped), catch_stdout=False)
        pysam.index(str(ordered))
    except pysam.SamtoolsError as exc:
        raise InputFileError(
            named or path,
            f"its primers could not be clipped with {bed.name} ({str(exc).strip()[:200]})",
            "check the primer BED and the file",
        ) from None  # fmt: skip
    finally:
        for leftover in (region_bam, clipped):
            leftover.unlink(missing_ok=True)
    return ordered
