"""Where reference bases come from: a genome FASTA, or a cached locus download.

The annotation core only ever sees a :class:`LocusSequence`, a plain string of the locus
with its genomic start, so the naming code never knows where the bases came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError, ReferenceMismatchError
from nlrp3annot.genome.reference import BUILDS, known_bases, locus_window

# Extra bases loaded on each side of the annotated window, so that indels at the edge
# can still be shifted by the 3' rule.
SHIFT_MARGIN = 2_000
# A FASTA is accepted for a build when this share of the known reference bases match.
MIN_KNOWN_BASE_AGREEMENT = 0.99


@dataclass(frozen=True)
class LocusSequence:
    """Reference sequence of one build over ``[start, start + len(bases) - 1]`` (1-based)."""

    build: str
    start: int
    bases: str  # upper case
    source: str  # where it came from, for messages

    @property
    def end(self) -> int:
        return self.start + len(self.bases) - 1

    def get(self, start: int, end: int) -> str:
        """Bases ``start..end`` inclusive (1-based); positions outside the locus read as N."""
        first = self.start
        if first <= start <= end < first + len(self.bases):  # inside (naming's every call)
            return self.bases[start - first : end - first + 1]
        if end < start:
            return ""
        lo, hi = max(start, self.start), min(end, self.end)
        left = "N" * (min(lo, end + 1) - start)
        right = "N" * (end - max(hi, start - 1))
        middle = self.bases[lo - self.start : hi - self.start + 1] if lo <= hi else ""
        return left + middle + right

    def base(self, pos: int) -> str:
        return self.get(pos, pos)


def known_base_agreement(seq: LocusSequence) -> tuple[int, int]:
    """(matching, checked) known ClinVar reference bases for the sequence's build."""
    checked = matching = 0
    for known in known_bases(seq.build):
        if seq.start <= known.pos <= seq.end:
            checked += 1
            matching += seq.base(known.pos) == known.ref
    return matching, checked


def verify_locus(seq: LocusSequence) -> None:
    """Refuse a sequence that is not the NLRP3 reference of its build."""
    matching, checked = known_base_agreement(seq)
    if checked == 0 or matching < MIN_KNOWN_BASE_AGREEMENT * checked:
        raise ReferenceMismatchError(
            f"{seq.source}: not the {seq.build} NLRP3 reference: {matching} of {checked} known "
            f"reference bases agree (wrong build or wrong file?)"
        )


def _fasta_contig(fasta, path: Path) -> str:
    for name in ("chr1", "1", "NC_000001.11", "NC_000001.10"):
        if name in fasta.references:
            return name
    raise InputFileError(
        path,
        "has no chromosome 1 (looked for chr1, 1, NC_000001.11, NC_000001.10)",
        "give a GRCh38 or GRCh37 genome FASTA",
    )


def read_fasta_locus(path: str | Path, build: str) -> LocusSequence:
    """Load the NLRP3 locus of ``build`` from a genome FASTA (plain or bgzip + .fai/.gzi)."""
    import pysam

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file", "check the --fasta path")
    pysam.set_verbosity(0)  # htslib's own line would come before ours
    try:
        fasta = pysam.FastaFile(str(path))
    except (OSError, ValueError) as exc:
        raise InputFileError(
            path,
            f"cannot be read as an indexed FASTA: {exc}",
            "a bgzip FASTA needs .fai and .gzi beside it (samtools faidx); plain FASTA is fine",
        ) from None
    with fasta:
        contig = _fasta_contig(fasta, path)
        start, end = locus_window(build)
        start, end = start - SHIFT_MARGIN, end + SHIFT_MARGIN
        try:
            bases = fasta.fetch(contig, start - 1, end).upper()
        except (OSError, ValueError) as exc:
            raise InputFileError(path, f"cannot read {contig}:{start}-{end}: {exc}") from None
    if len(bases) < end - start + 1:
        bases += "N" * (end - start + 1 - len(bases))
    return LocusSequence(build, start, bases, str(path))


_READ: dict[tuple[str, int, int], LocusSequence] = {}


def fasta_build(path: str | Path) -> LocusSequence:
    """Read the locus from a genome FASTA and tell which build it is from the known bases.

    Remembered per process (keyed by the file's path, size and modification time): a run
    over a thousand VCFs reads and checks the FASTA once, not once per VCF."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _fasta_build(path)  # let the reader explain
    # first by the absolute path as given (resolving links costs a system call per
    # folder, and this is asked once per VCF), then by the file it resolves to
    given = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    seq = _SEEN.get(given)
    if seq is None:
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _READ:
            _READ[key] = _fasta_build(path)
        seq = _SEEN[given] = _READ[key]
    return seq


_SEEN: dict[tuple[str, int, int], LocusSequence] = {}  # by the path as given


def _fasta_build(path: Path) -> LocusSequence:
    tried = []
    for build in BUILDS:
        seq = read_fasta_locus(path, build)
        matching, checked = known_base_agreement(seq)
        if checked and matching >= MIN_KNOWN_BASE_AGREEMENT * checked:
            return seq
        tried.append(f"{build}: {matching}/{checked}")
    raise ReferenceMismatchError(
        f"{path}: chromosome 1 does not carry the NLRP3 reference of GRCh38 or GRCh37 "
        f"(known bases agreeing: {', '.join(tried)}); give a GRCh38 or GRCh37 genome FASTA"
    )
