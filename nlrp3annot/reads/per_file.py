"""What the scan learns from each alignment file on its own, as pure functions of (file,
settings) with picklable results, so that forked workers or Dask workers can run them
(:mod:`nlrp3annot.runner.spread`): :func:`survey_file` reads the header (build, sample,
libraries) and whether the reads carry RX UMIs; :func:`count_file` counts the fragments of
each of the file's libraries (read groups split apart) and amplicon pools, primer bases
clipped. Everything that needs all files (the build and sample checks, the RX decision,
the joint calling) stays with the caller (:mod:`nlrp3annot.reads.scan`).

A problem with the file comes back as its one-line message (:class:`Failure`), named as
the user gave the file, with what the counting said on stderr (warnings) kept to be said
by the caller in input order.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.reads.alignments import (
    ReadFilters,
    close_quietly,
    contig_of,
    open_alignments,
    sample_name,
)
from nlrp3annot.reads.pileup import Counts


@dataclass(frozen=True)
class Failure:
    """A file's one-line problem; ``path``: the file it names (an InputFileError's)."""

    message: str
    path: str | None = None

    def error(self) -> Nlrp3AnnotError:
        if self.path is None:
            return Nlrp3AnnotError(self.message)
        error = InputFileError(self.path, "")
        error.args = (self.message,)  # the worker's message, as it said it
        return error


@dataclass(frozen=True)
class FileSurvey:
    path: str  # as the user gave it
    build: str
    contig: str  # the header's chromosome 1
    sample: str
    libraries: frozenset[str]  # LB tags
    rx: float  # share of the first reads carrying an RX tag (0 when not looked)


@dataclass(frozen=True)
class SurveyJob:
    path: str  # as the user gave it: what messages and outputs name
    read_from: str  # where the worker reads it
    fasta: str
    look_for_rx: bool


@dataclass(frozen=True)
class CountJob:
    path: str
    read_from: str
    fasta: str
    sample: str
    build: str
    contig: str
    targets: tuple[tuple[int, int], ...]
    filters: ReadFilters  # with paths (primers) the worker can read


@dataclass
class FileCounts:
    """A file's counts: one per library (or amplicon pool of a library), each labelled
    with its library (``Counts.library``) and pool; ``libraries``: how many libraries."""

    counts: list[Counts]
    libraries: int
    said: str = ""  # warnings, for stderr


def survey_file(job: SurveyJob) -> tuple[FileSurvey | Failure, str]:
    """The file's header facts (refused: no index, no chromosome 1, not GRCh38/GRCh37,
    a CRAM of another reference), and with ``look_for_rx`` its RX share."""
    from nlrp3annot.genome.reference import declared_build, mane_transcript
    from nlrp3annot.patients.coverage import coding_targets
    from nlrp3annot.reads.files import check_cram_reference, read_failure
    from nlrp3annot.reads.replicates import library_names
    from nlrp3annot.reads.umis import rx_share

    def survey() -> FileSurvey:
        where = Path(job.read_from)
        handle = open_alignments(where, job.fasta)
        try:
            contig, lengths = contig_of(handle, where)
            declared = declared_build(lengths)
            if declared is None:
                raise InputFileError(
                    where, "its @SQ lengths name neither GRCh38 nor GRCh37",
                    "give alignments to GRCh38 or GRCh37",
                )  # fmt: skip
            if where.suffix == ".cram":  # before its reads are decoded against --fasta
                check_cram_reference(where, handle, Path(job.fasta), contig)
            share = 0.0
            if job.look_for_rx:
                t = mane_transcript(declared[0])
                targets = coding_targets(t.exons, t.cds_start, t.cds_end)
                try:
                    share = rx_share(handle, contig, targets[0][0], targets[-1][1])
                except OSError as exc:  # htslib: "truncated file", naming nothing
                    raise read_failure(where, handle, exc) from None
            name = sample_name(handle, Path(job.path))
            return FileSurvey(job.path, declared[0], contig, name, library_names(handle), share)
        finally:
            close_quietly(handle)

    return _as_said(survey, job)


def count_file(job: CountJob) -> tuple[FileCounts | Failure, str]:
    """The file's counts per library (and pool), each checked against the FASTA (reads of
    another genome refused) and for UMIs the options miss."""
    return _as_said(lambda: _count(job), job)


def _count(job: CountJob) -> FileCounts:
    from nlrp3annot.genome.sequence import fasta_build
    from nlrp3annot.reads.checks import check_reference, check_umis
    from nlrp3annot.reads.files import read_failure
    from nlrp3annot.reads.pileup import count_alleles
    from nlrp3annot.reads.pools import NO_AMPLICON
    from nlrp3annot.reads.read_groups import library_sources

    seq = fasta_build(job.fasta)  # once per process (remembered)
    targets = list(job.targets)
    reference = "".join(seq.get(a, b) for a, b in targets).upper()
    fasta, where = Path(job.fasta), Path(job.read_from)
    region = scan_region(job.contig, targets)
    opened = [open_alignments(where, fasta)]
    try:
        with tempfile.TemporaryDirectory(prefix="nlrp3annot-reads-") as folder:
            # each library's reads: the file's, or one LB's of a file of merged libraries
            sources = library_sources([where], opened, [region], fasta, Path(folder))
            units = [(s, "", handle, 0) for s, (*_, handle) in enumerate(sources)]
            if job.filters.primers:  # primer bases are not evidence: count clipped copies
                units = _clipped(where, sources, opened, region, fasta,
                                 Path(job.filters.primers), Path(folder))  # fmt: skip
            counts = []
            for s, pool, handle, lost in units:  # a library, or one pool's reads of it
                label = sources[s][1]
                try:
                    sample = count_alleles(handle, job.sample, job.path, job.build,
                                           job.contig, targets, job.filters,
                                           seq.get)  # fmt: skip
                except OSError as exc:  # htslib: "truncated file", naming nothing
                    raise read_failure(where, handle, exc) from None
                check_reference(sample, reference, where, fasta)
                sample.library, sample.pool = label, pool  # a pool's label: the caller's
                sample.dropped[NO_AMPLICON] += lost
                check_umis(sample, where, job.filters)
                counts.append(sample)
            return FileCounts(counts, len(sources))
    finally:
        for handle in opened:
            close_quietly(handle)


def scan_region(contig: str, targets: list[tuple[int, int]]) -> str:
    """The reads split off or clipped: the targets' span and 1000 bases either side."""
    return f"{contig}:{targets[0][0] - 1000}-{targets[-1][1] + 1000}"


def _clipped(named: Path, sources, opened, region: str, fasta: Path, bed: Path,
             folder: Path) -> list:  # fmt: skip
    """Each library's reads (``sources``: file index, label, path, handle) over the
    coding targets with primer bases soft-clipped (:mod:`nlrp3annot.reads.primers`),
    opened, as (library, pool, handle, reads of no pool); with a BED of two or more pools,
    one per pool (:mod:`nlrp3annot.reads.pools`). The originals closed; ``opened`` holds
    every handle opened (the caller closes them, also after a refusal)."""
    from nlrp3annot.reads.files import read_failure
    from nlrp3annot.reads.pools import primer_index, split_pools
    from nlrp3annot.reads.primers import clip_primers

    units = []
    primers = primer_index(bed, region.split(":")[0])
    for s, (_, _, path, handle) in enumerate(sources):
        if len(primers.pool_names) < 2:
            close_quietly(handle)
            clipped = clip_primers(path, fasta, bed, region, folder, named)
            units.append((s, "", open_alignments(clipped, fasta), 0))
            opened.append(units[-1][2])
            continue
        try:
            split, lost = split_pools(path, handle, region, primers, folder / "pools")
        except OSError as exc:  # htslib: "truncated file", naming nothing
            raise read_failure(named, handle, exc) from None
        close_quietly(handle)
        for n, (pool, part) in enumerate(split.items()):
            clipped = clip_primers(part, fasta, bed, region, folder, named)
            for leftover in (part, Path(f"{part}.bai")):
                leftover.unlink(missing_ok=True)
            units.append((s, pool, open_alignments(clipped, fasta), lost if n == 0 else 0))
            opened.append(units[-1][2])
    return units


def _as_said(work, job) -> tuple:
    """(``work()`` or the Failure it raised, what it said on stderr): the file named as
    the user gave it where the worker read it from elsewhere."""
    import pysam

    said = io.StringIO()
    verbosity = pysam.set_verbosity(0)  # htslib's own lines name no file: ours replace them
    try:
        with contextlib.redirect_stderr(said):
            outcome = work()
    except InputFileError as exc:
        outcome = Failure(_as_given(str(exc), job), job.path)
    except Nlrp3AnnotError as exc:
        outcome = Failure(_as_given(str(exc), job))
    finally:
        pysam.set_verbosity(verbosity)
    return outcome, _as_given(said.getvalue(), job)


def _as_given(text: str, job) -> str:
    return text.replace(job.read_from, job.path) if job.read_from != job.path else text
