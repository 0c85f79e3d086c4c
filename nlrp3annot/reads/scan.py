"""The scan job: BAM/CRAM files in, per-sample candidate alleles with their verdicts and
limits of detection out (written by :mod:`nlrp3annot.reads.scan_output`). Samples scanned
together, and a panel of normals, make each other's background.

Sharp edges: every file needs an index; all files must be of one build (from the @SQ length
of chromosome 1 or another primary chromosome); the FASTA must be that build; and where the
reads' majority base disagrees with the FASTA at more than 5% of the covered target
positions, the FASTA is not the genome the reads were aligned to: refused, not guessed.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.genome.reference import mane_transcript
from nlrp3annot.patients.coverage import coding_targets
from nlrp3annot.reads.alignments import ReadFilters, output_stem, unusable_reason
from nlrp3annot.reads.amplicons import AmpliconLimits, amplicon_limits, primer_amplicons
from nlrp3annot.reads.assay import Assay, assay_of
from nlrp3annot.reads.calling import (
    Allele,
    Candidate,
    indel_candidates,
    judge,
    near_indels,
    snv_candidates,
)
from nlrp3annot.reads.checks import warn
from nlrp3annot.reads.known import KnownAlleles, known_alleles
from nlrp3annot.reads.panel import Panel
from nlrp3annot.reads.per_file import (
    CountJob,
    Failure,
    FileCounts,
    FileSurvey,
    SurveyJob,
    count_file,
    survey_file,
)
from nlrp3annot.reads.pileup import BASES, Counts
from nlrp3annot.reads.pools import (
    judge_pools,
    pool_backgrounds,
    pool_label,
    tested_alleles,
)
from nlrp3annot.reads.replicates import (
    pooled_candidates,
    pooled_counts,
    replicate_settings,
)
from nlrp3annot.reads.sample_limits import limit_parts, per_position, scan_limits
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.values import ScanLimits

DEFAULT_SETTINGS = CallSettings()
DEFAULT_FILTERS = ReadFilters()


@dataclass
class SampleScan:
    counts: Counts
    candidates: list[Candidate] = field(default_factory=list)
    limits: ScanLimits | None = None
    libraries: tuple[str, ...] = ()  # replicate libraries (LB) pooled here, when several
    # per position (counts.positions): the limit for its hardest substitution (nan: none)
    snv_limits: np.ndarray | None = None
    assay: Assay | None = None
    amplicons: list[AmpliconLimits] | None = None  # with --primers: limits per amplicon
    # amplicon pools (reads.pools): the pools, and per allele the labels of those reading it
    pools: tuple[str, ...] = ()
    read_by: dict[Allele, tuple[str, ...]] = field(default_factory=dict)

    @property
    def sample(self) -> str:
        return self.counts.sample

    @property
    def path(self) -> str:
        return self.counts.path

    @property
    def lod(self) -> float | None:
        """The limit of detection over the known pathogenic alleles."""
        return self.limits.known if self.limits else None

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
    panel: Panel | None = None


def _sample_names(surveys: list[FileSurvey]) -> list[str]:
    """Each file's sample. Files of one sample are replicate libraries when each names
    its own libraries (LB tags no other file of the sample shares): independent PCRs.
    Refused: a sample given twice otherwise (same library, or no LB), and two samples
    whose scan VCFs would share a name (``P16 blood`` and ``P16_blood``: the second would
    overwrite the first, and a carrier would read negative)."""
    names: dict[str, str] = {}
    libraries: dict[str, list[frozenset[str]]] = {}
    out = []
    stems: dict[str, tuple[str, str]] = {}  # output name (any case) -> (sample, file)
    for survey in surveys:
        path, name, own = survey.path, survey.sample, survey.libraries
        out.append(name)
        if name in names:
            shared = [lb for other in libraries[name] for lb in sorted(other & own)]
            if not own or not all(libraries[name]) or shared:
                why = (
                    f"in the same library {shared[0]!r} (one PCR, not a replicate)" if shared
                    else "and no LB (library) tags that tell replicate libraries apart"
                )  # fmt: skip
                raise InputFileError(
                    Path(path), f"holds sample {name!r}, as does {Path(names[name]).name}, {why}",
                    "give each sample once, or replicate libraries (independent PCRs) each "
                    "with its own LB tag",
                )  # fmt: skip
            libraries[name].append(own)
            continue
        stem = output_stem(name)
        if stem.lower() in stems:
            other, where = stems[stem.lower()]
            raise InputFileError(
                Path(path), f"holds sample {name!r}, whose scan VCF would take the name of "
                f"sample {other!r} of {Path(where).name} ({stem}.scan.vcf.gz)",
                "set SM tags that differ in more than spaces, case or punctuation",
            )  # fmt: skip
        stems[stem.lower()] = (name, str(path))
        names[name] = str(path)
        libraries[name] = [own]
    return out


def scan_alignments(
    paths: list[str | Path],
    fasta: str | Path,
    settings: CallSettings = DEFAULT_SETTINGS,
    filters: ReadFilters = DEFAULT_FILTERS,
    knowledge=None,
    panel: Panel | None = None,
    on_counted: Callable[[str, int], None] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> ScanResult:
    """Count, test and call the alleles of ``paths``; ``on_counted(path, units)`` after each
    library (or amplicon pool) is counted, the slow part (progress bars). The files are
    counted in ``jobs`` processes or on the Dask ``scheduler`` (tcp://host:8786), the
    calling joint here (its samples judged in ``jobs`` forked processes once the batch's
    backgrounds are known): the result is the same however they ran."""
    build, contig, targets, reference, seq, filters, counts = read_counts(
        paths, fasta, filters, on_counted, jobs, scheduler
    )
    if panel is not None:
        panel.check(build, counts[0].positions, filters)
    known = known_alleles(build, seq, knowledge)
    samples = call_samples(counts, reference, known, settings,
                           panel.samples if panel else [], jobs)  # fmt: skip
    for sample in samples:  # no base counted: the filters say why, not the limits
        if sample.limits is not None and not sample.counts.depth.any():
            reason = unusable_reason(sample.counts.dropped, filters)
            sample.limits = replace(sample.limits, unusable=reason)
    _name(samples, contig, seq, mane_transcript(build))
    _describe_assays(samples, filters, contig)
    return ScanResult(build, contig, targets, reference, samples, settings, filters, panel)


def read_counts(
    paths: list[str | Path],
    fasta: str | Path,
    filters: ReadFilters,
    on_counted: Callable[[str, int], None] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
):
    """(build, contig, targets, reference bases, FASTA sequence, the filters used, counts
    per file): the checked inputs, counted. With no UMI option and every file's reads
    carrying RX tags, the filters collapse UMI families by RX (said once on stderr).
    ``on_counted(path, units)``: called after each of the ``units`` (libraries, pools) is
    counted. Each file is surveyed and counted on its own (:mod:`nlrp3annot.reads.per_file`)
    in ``jobs`` processes or on the Dask ``scheduler``; the counts are the same however
    they ran."""
    from nlrp3annot.genome.sequence import fasta_build
    from nlrp3annot.reads.primers import check_primers
    from nlrp3annot.runner.spread import spread

    paths = [str(p) for p in paths]
    with spread(jobs, scheduler, len(paths)) as spreading:
        where = os.path.abspath if spreading.remote else str  # a worker's own folder
        at = where(str(fasta))
        look = not filters.umis and filters.umi_auto
        asked = [SurveyJob(p, where(p), at, look) for p in paths]
        surveys = list(_outcomes(spreading.map(survey_file, asked, paths), spreading.remote))
        if len({s.build for s in surveys}) > 1:
            raise Nlrp3AnnotError(
                "the alignments are of different builds ("
                + ", ".join(f"{Path(s.path).name}: {s.build}" for s in surveys)
                + "); scan each build separately"
            )
        build = surveys[0].build
        seq = fasta_build(fasta)  # the FASTA's own build, from the known bases
        if seq.build != build:
            raise InputFileError(
                Path(fasta), f"is {seq.build} but the alignments are {build}",
                f"give the {build} FASTA the reads were aligned to",
            )  # fmt: skip
        t = mane_transcript(build)
        targets = coding_targets(t.exons, t.cds_start, t.cds_end)
        reference = "".join(seq.get(a, b) for a, b in targets).upper()
        samples = _sample_names(surveys)  # refused before any counting
        filters = _umis_as_found(surveys, filters)
        sent = filters
        if filters.primers:
            check_primers(Path(filters.primers), {s.contig for s in surveys})
            sent = replace(filters, primers=where(filters.primers))
        asked = [CountJob(s.path, where(s.path), at, name, build, s.contig, tuple(targets), sent)
                 for s, name in zip(surveys, samples, strict=True)]  # fmt: skip
        units = _planned_units(surveys, filters)
        files = []
        counted = _outcomes(spreading.map(count_file, asked, paths), spreading.remote)
        for path, file in zip(paths, counted, strict=True):
            files.append(file)
            for _ in file.counts:
                if on_counted is not None:
                    on_counted(path, units)
    counts = _pool_labels(files, samples)
    return build, surveys[0].contig, targets, reference, seq, filters, counts


def _outcomes(outcomes, remote: bool):
    """Each file's result in input order, with what it said on stderr; the first file's
    failure raised (as one process would)."""
    for outcome, said in outcomes:
        sys.stderr.write(said)
        if isinstance(outcome, Failure):
            if remote and "no such file" in outcome.message:
                outcome = replace(outcome, message=outcome.message + " (as a Dask worker "
                                  "sees it: the workers must see the same files)")  # fmt: skip
            raise outcome.error()
        yield outcome


def _planned_units(surveys: list[FileSurvey], filters: ReadFilters) -> int:
    """How many libraries (and amplicon pools of them) the files make: a progress bar's
    total."""
    from nlrp3annot.reads.pools import primer_index

    pools = 1
    if filters.primers:
        names = len(primer_index(Path(filters.primers), surveys[0].contig).pool_names)
        pools = names if names > 1 else 1
    return sum(max(len(s.libraries), 1) for s in surveys) * pools


def _pool_labels(files: list[FileCounts], samples: list[str]) -> list[Counts]:
    """Every library's counts, an amplicon pool's named as a library of its own
    (reads.pools): its library's label and the pool where the sample has several."""
    libraries_of: Counter = Counter()
    for file, name in zip(files, samples, strict=True):
        libraries_of[name] += file.libraries
    counts = []
    for file in files:
        for sample in file.counts:
            if sample.pool:
                replicates = libraries_of[sample.sample] > 1
                label = pool_label(sample.pool)
                sample.library = f"{sample.library}.{label}" if replicates else label
            counts.append(sample)
    return counts


def _umis_as_found(surveys: list[FileSurvey], filters: ReadFilters) -> ReadFilters:
    """RX UMIs where every file's reads carry them and no UMI option was given: counting
    PCR copies as molecules would state limits several times too low and let a PCR error
    in a family count as many fragments. Where only some files' reads carry them, each of
    those is warned about (once, whatever its libraries or pools)."""
    from nlrp3annot.reads.umis import RX_SHARE

    if filters.umis or not filters.umi_auto:
        return filters
    if all(s.rx >= RX_SHARE for s in surveys):
        print("nlrp3annot: the reads carry RX UMIs: molecules counted by RX, as with "
              "--umi-tag RX (--no-umi counts reads)", file=sys.stderr)  # fmt: skip
        return replace(filters, umi_tag="RX")
    for s in surveys:
        if s.rx > 0:
            warn(Path(s.path), "reads carry RX UMIs: give --umi-tag RX, or PCR copies count "
                 "as molecules")  # fmt: skip
    return filters


# A batch with at least this many samples has them judged in forked processes (with
# --jobs): ~20 ms a sample, where forking a process that holds every sample's counts costs a
# few tens of ms
PARALLEL_CALLING_MIN = 8


def call_samples(
    counts: list[Counts],
    reference: str,
    known: KnownAlleles,
    settings: CallSettings,
    panel: list[Counts],
    jobs: int = 1,
) -> list[SampleScan]:
    """Every sample's candidates with verdicts, and its limits of detection. Pure. Files
    of one sample are its replicate libraries (:mod:`nlrp3annot.reads.replicates`): each
    judged on its own, the sample's call needing every library's. Amplicon pools
    (``Counts.pool``, :mod:`nlrp3annot.reads.pools`) are libraries too, each tested
    against its own pool in the other samples, with a say only where they read. With
    ``jobs`` > 1 the samples, each judged against the batch's backgrounds alone, are shared
    out to forked processes; the result is the same."""
    ref = np.array([BASES.find(b) for b in reference])
    backgrounds = pool_backgrounds(counts, panel, ref, settings)
    groups: dict[str, list[int]] = {}
    for s, c in enumerate(counts):
        groups.setdefault(c.sample, []).append(s)
    members = list(groups.values())

    def call(m: list[int]) -> SampleScan:
        return _call_sample(counts, m, backgrounds, ref, known, settings)

    if jobs < 2 or len(members) < PARALLEL_CALLING_MIN:
        return [call(m) for m in members]
    from nlrp3annot.runner.forked import in_shares

    def sent(m: list[int], scan: SampleScan) -> SampleScan:
        # a sample of one file shows that file's counts, which this process has already:
        # they are not sent back (~0.6 MB each)
        return replace(scan, counts=None) if scan.counts is counts[m[0]] else scan

    out = in_shares(members, jobs, call, sent)
    for m, scan in zip(members, out, strict=True):
        if scan.counts is None:
            scan.counts = counts[m[0]]
    return out


def _call_sample(
    counts: list[Counts],
    members: list[int],
    backgrounds: list[tuple],
    ref: np.ndarray,
    known: KnownAlleles,
    settings: CallSettings,
) -> SampleScan:
    """One sample (its libraries or pools: ``counts[s]`` for ``s`` in ``members``) judged
    against the backgrounds of its batch."""
    at_power = replicate_settings(settings, len(members))
    found_each, parts = [], []
    pooled = any(counts[s].pool for s in members)
    tests = tested_alleles([counts[s] for s in members])
    for s, tested in zip(members, tests, strict=True):
        c = counts[s]
        snv_bg, indel_bg, j = backgrounds[s]
        found = snv_candidates(c, j, snv_bg, ref, set(known.snvs), tested, settings)
        found += indel_candidates(c, j, indel_bg, set(known.indels), tested, settings)
        for candidate in found:
            candidate.verdict = judge(candidate, settings)
        near_indels(found, settings)
        if not pooled:
            parts.append(limit_parts(c, j, found, snv_bg, indel_bg, ref, known, tested,
                                     at_power))  # fmt: skip
        found_each.append(found)
    if pooled:
        return _judge_pools([counts[s] for s in members], found_each, tests,
                            [backgrounds[s] for s in members], ref, known,
                            settings)  # fmt: skip
    if len(members) == 1:
        limits = scan_limits(found_each[0], parts, known, settings)
        return SampleScan(counts[members[0]], found_each[0], limits,
                          snv_limits=per_position(ref, parts))  # fmt: skip
    libraries = [counts[s] for s in members]
    labels = tuple(c.library or Path(c.path).name for c in libraries)
    candidates = pooled_candidates(libraries, found_each, list(labels), settings.report_p)
    limits = scan_limits(candidates, parts, known, settings)
    return SampleScan(pooled_counts(libraries), candidates, limits, labels,
                      per_position(ref, parts))  # fmt: skip


def _judge_pools(pools, found_each, tests, backgrounds, ref, known, settings) -> SampleScan:
    """One sample's amplicon pools (and replicate libraries) judged together."""

    def parts_at(i: int, k: int):
        snv_bg, indel_bg, j = backgrounds[i]
        at_power = replicate_settings(settings, k)
        other, indels = limit_parts(pools[i], j, found_each[i], snv_bg, indel_bg, ref, known,
                                    tests[i], at_power)  # fmt: skip
        return other, indels, {(x.pos, x.ref, x.alt): x.lod for x in found_each[i] if x.known}

    # each pool's replicate library: its label before ".pool_<name>" (none: one library)
    groups = [c.library.removesuffix(pool_label(c.pool)) for c in pools]
    found, limits, snv_limits, read_by = judge_pools(pools, found_each, groups, parts_at, ref,
                                                     known, settings)  # fmt: skip
    labels = tuple(c.library for c in pools)
    names = tuple(dict.fromkeys(c.pool for c in pools))
    return SampleScan(pooled_counts(pools), found, limits, labels, snv_limits,
                      pools=names, read_by=read_by)  # fmt: skip


def _describe_assays(samples: list[SampleScan], filters: ReadFilters, contig: str) -> None:
    """Each sample's assay, and with --primers its limits per amplicon."""
    amplicons = None
    if filters.primers:
        bed = Path(filters.primers)
        amplicons, unpaired = primer_amplicons(bed, contig)
        if unpaired:
            warn(bed, f"{len(unpaired)} primer(s) pair with no LEFT/RIGHT primer of one "
                  f"amplicon (e.g. {unpaired[0]}): no limits for those")  # fmt: skip
    for sample in samples:
        libraries = len(sample.libraries) // max(len(sample.pools), 1)
        sample.assay = assay_of(sample.counts, filters.umi_tag is not None,
                                max(libraries, 1), bool(filters.primers))  # fmt: skip
        if amplicons is not None and sample.snv_limits is not None:
            sample.amplicons = amplicon_limits(amplicons, sample.counts, sample.snv_limits,
                                               sample.candidates)  # fmt: skip


def _name(samples: list[SampleScan], contig: str, seq, transcript) -> None:
    """Each candidate's names on the MANE transcript, by the naming engine (once per allele)."""
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.values import Variant

    annotator = Annotator([transcript], seq)
    named: dict[tuple[int, str, str], tuple[str, str, str]] = {}
    for sample in samples:
        for c in sample.candidates:
            key = (c.pos, c.ref, c.alt)
            if key not in named:
                rows = annotator.annotate(Variant(contig, c.pos, c.ref, c.alt))
                row = rows[0] if rows else None
                named[key] = (row.hgvs_c, row.hgvs_p, row.legacy_protein) if row else ("",) * 3
            c.names = named[key]
