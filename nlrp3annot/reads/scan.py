"""The scan job: BAM/CRAM files in, per-sample candidate alleles with their verdicts and the
limit of detection at the known pathogenic alleles out (written by
:mod:`nlrp3annot.reads.scan_output`). Samples scanned together share their background.

Sharp edges: every file needs an index; all files must be of one build (from the @SQ length
of chromosome 1 or another primary chromosome); the FASTA must be that build; and where the
reads' majority base disagrees with the FASTA at more than 5% of the covered target
positions, the FASTA is not the genome the reads were aligned to: refused, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.genome.reference import GRCH37_OFFSET, declared_build, mane_transcript
from nlrp3annot.patients.coverage import coding_targets
from nlrp3annot.reads.calling import (
    CallSettings,
    Candidate,
    indel_candidates,
    judge,
    limit_of_detection,
    snv_candidates,
)
from nlrp3annot.reads.pileup import (
    BASES,
    Counts,
    ReadFilters,
    contig_of,
    count_alleles,
    open_alignments,
    read_ends,
    sample_name,
)

MISMATCH_LIMIT = 0.05
DEFAULT_SETTINGS = CallSettings()
DEFAULT_FILTERS = ReadFilters()


@dataclass
class SampleScan:
    counts: Counts
    candidates: list[Candidate] = field(default_factory=list)
    lod: float | None = None  # the largest limit of detection over the known alleles
    known_below_depth: int = 0  # known pathogenic alleles at a depth below the minimum

    @property
    def sample(self) -> str:
        return self.counts.sample

    @property
    def path(self) -> str:
        return self.counts.path

    @property
    def calls(self) -> list[Candidate]:
        return [c for c in self.candidates if c.verdict == "called"]


@dataclass
class ScanResult:
    build: str
    contig: str
    targets: list[tuple[int, int]]
    reference: str  # the FASTA's bases over ``targets``, position by position
    samples: list[SampleScan]
    settings: CallSettings
    filters: ReadFilters


def known_snvs(build: str, knowledge=None) -> set[tuple[int, str, str]]:
    """ClinVar pathogenic/likely pathogenic single-base changes, on ``build``."""
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.patients.status import is_pathogenic

    knowledge = knowledge or Knowledge.load()
    shift = GRCH37_OFFSET if build == "GRCh37" else 0
    out = set()
    for record in knowledge.clinvar.records():
        pos0, deleted, inserted = record.spdi
        if is_pathogenic(record.significance) and len(deleted) == 1 and len(inserted) == 1:
            out.add((pos0 + 1 + shift, deleted, inserted))
    return out


def scan_alignments(
    paths: list[str | Path],
    fasta: str | Path,
    settings: CallSettings = DEFAULT_SETTINGS,
    filters: ReadFilters = DEFAULT_FILTERS,
    knowledge=None,
) -> ScanResult:
    from nlrp3annot.genome.sequence import fasta_build

    opened = []
    try:
        builds = {}
        for path in paths:
            handle = open_alignments(path, fasta)
            opened.append(handle)
            contig, lengths = contig_of(handle, Path(path))
            declared = declared_build(lengths)
            if declared is None:
                raise InputFileError(
                    Path(path), "its @SQ lengths name neither GRCh38 nor GRCh37",
                    "give alignments to GRCh38 or GRCh37",
                )  # fmt: skip
            builds[str(path)] = (declared[0], contig)
        if len({b for b, _ in builds.values()}) > 1:
            raise Nlrp3AnnotError(
                "the alignments are of different builds ("
                + ", ".join(f"{Path(p).name}: {b}" for p, (b, _) in builds.items())
                + "); scan each build separately"
            )
        build = next(iter(builds.values()))[0]
        seq = fasta_build(fasta)  # the FASTA's own build, from the known bases
        if seq.build != build:
            raise InputFileError(
                Path(fasta), f"is {seq.build} but the alignments are {build}",
                f"give the {build} FASTA the reads were aligned to",
            )  # fmt: skip
        t = mane_transcript(build)
        targets = coding_targets(t.exons, t.cds_start, t.cds_end)
        reference = "".join(seq.get(a, b) for a, b in targets)
        names: dict[str, str] = {}
        samples = []
        for path, handle in zip(paths, opened, strict=True):
            name = sample_name(handle, Path(path))
            if name in names:
                raise InputFileError(
                    Path(path), f"holds sample {name!r}, as does {Path(names[name]).name}",
                    "give each sample once (or set distinct SM tags)",
                )  # fmt: skip
            names[name] = str(path)
            _, contig = builds[str(path)]
            counts = count_alleles(handle, name, str(path), build, contig, targets, filters)
            _check_reference(counts, reference, Path(path), Path(fasta))
            samples.append(SampleScan(counts))
        known = known_snvs(build, knowledge)
        counts = [s.counts for s in samples]
        found = snv_candidates(counts, reference, known, settings)
        tested = {c.sample: int((c.depth > 0).sum()) * 3 + len(c.indels) for c in counts}
        for name, indels in indel_candidates(counts, seq.get, tested, settings).items():
            found[name] += indels
        for sample, handle in zip(samples, opened, strict=True):
            sample.candidates = found[sample.sample]
            _judge(sample, handle, settings, filters)
        _name(samples, builds, seq, t)
        contig = next(iter(builds.values()))[1]
        return ScanResult(build, contig, targets, reference, samples, settings, filters)
    finally:
        for handle in opened:
            handle.close()


def _name(samples: list[SampleScan], builds, seq, transcript) -> None:
    """Each candidate's names on the MANE transcript, by the naming engine (once per allele)."""
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.naming.variant import Variant

    annotator = Annotator([transcript], seq)
    contig = next(iter(builds.values()))[1]
    named: dict[tuple[int, str, str], tuple[str, str, str]] = {}
    for sample in samples:
        for c in sample.candidates:
            key = (c.pos, c.ref, c.alt)
            if key not in named:
                rows = annotator.annotate(Variant(contig, c.pos, c.ref, c.alt))
                row = rows[0] if rows else None
                named[key] = (row.hgvs_c, row.hgvs_p, row.legacy_protein) if row else ("",) * 3
            c.names = named[key]


def _judge(sample: SampleScan, handle, settings: CallSettings, filters: ReadFilters) -> None:
    """Each candidate's verdict (read ends looked at only where the test is significant),
    and the limit of detection at the known alleles."""
    lods = []
    for c in sample.candidates:
        ends = None
        snv = len(c.ref) == len(c.alt) == 1
        if snv and c.p < c.threshold and c.alt_reads >= settings.min_alt_reads:
            ends = read_ends(handle, sample.counts.contig, c.pos, c.alt, filters)
        c.verdict = judge(c, ends, settings)
        if c.known:
            c.lod = limit_of_detection(c.depth, c.background, c.threshold, settings)
            if c.lod is None:
                sample.known_below_depth += 1
            else:
                lods.append(c.lod)
    sample.lod = max(lods) if lods else None


def _check_reference(counts: Counts, reference: str, path: Path, fasta: Path) -> None:
    total = counts.forward + counts.reverse
    depth = total.sum(axis=0)
    covered = depth >= 5
    if not covered.any():
        return
    majority = np.array([BASES[i] for i in total.argmax(axis=0)])
    ref = np.array(list(reference))
    disagree = int(((majority != ref) & covered & (ref != "N")).sum())
    if disagree > MISMATCH_LIMIT * int(covered.sum()):
        raise InputFileError(
            path,
            f"its reads disagree with {fasta.name} at {disagree} of {int(covered.sum())} "
            f"covered coding positions",
            "give the FASTA the reads were aligned to (--fasta)",
        )
