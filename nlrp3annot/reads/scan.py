"""The scan job: BAM/CRAM files in, per-sample candidate alleles with their verdicts and
limits of detection out (written by :mod:`nlrp3annot.reads.scan_output`). Samples scanned
together, and a panel of normals, make each other's background.

Sharp edges: every file needs an index; all files must be of one build (from the @SQ length
of chromosome 1 or another primary chromosome); the FASTA must be that build; and where the
reads' majority base disagrees with the FASTA at more than 5% of the covered target
positions, the FASTA is not the genome the reads were aligned to: refused, not guessed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError
from nlrp3annot.genome.reference import GRCH37_OFFSET, declared_build, mane_transcript
from nlrp3annot.patients.coverage import coding_targets
from nlrp3annot.reads.alignments import (
    ReadFilters,
    close_quietly,
    contig_of,
    open_alignments,
    output_stem,
    sample_name,
    unusable_reason,
)
from nlrp3annot.reads.amplicons import AmpliconLimits, amplicon_limits, primer_amplicons
from nlrp3annot.reads.assay import Assay, assay_of
from nlrp3annot.reads.background import (
    IndelBackground,
    SnvBackground,
    indel_background,
    snv_background,
)
from nlrp3annot.reads.calling import (
    Allele,
    Candidate,
    indel_candidates,
    judge,
    near_indels,
    snv_candidates,
    trusted_cells,
)
from nlrp3annot.reads.checks import check_reference, check_umis, warn
from nlrp3annot.reads.files import check_cram_reference, read_failure
from nlrp3annot.reads.limits import detection_limits
from nlrp3annot.reads.panel import Panel
from nlrp3annot.reads.pileup import BASES, Counts, count_alleles
from nlrp3annot.reads.replicates import (
    library_label,
    library_names,
    pooled_candidates,
    pooled_counts,
    replicate_settings,
)
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


@dataclass(frozen=True)
class KnownAlleles:
    """ClinVar pathogenic/likely pathogenic SNVs and indels (VCF-style, left-aligned)."""

    snvs: frozenset[Allele]
    indels: frozenset[Allele]


def known_alleles(build: str, seq, knowledge=None) -> KnownAlleles:
    """``seq``: the FASTA's sequence (``get(start, end)``), to spell and left-align the
    indels. Changes of several bases into as many (MNVs) are not single alleles here."""
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.naming.variant import shift_5prime, to_vcf, trim
    from nlrp3annot.patients.status import is_pathogenic

    knowledge = knowledge or Knowledge.load()
    shift = GRCH37_OFFSET if build == "GRCh37" else 0
    snvs, indels = set(), set()
    for record in knowledge.clinvar.records():
        pos0, deleted, inserted = record.spdi
        if not is_pathogenic(record.significance):
            continue
        if len(deleted) == 1 and len(inserted) == 1:
            snvs.add((pos0 + 1 + shift, deleted, inserted))
        elif len(deleted) != len(inserted):
            edit = trim(pos0 + 1 + shift, deleted, inserted)
            indels.add(to_vcf(shift_5prime(edit, seq, edit.start - 1000), seq))
    return KnownAlleles(frozenset(snvs), frozenset(indels))


def _sample_names(paths, opened) -> list[str]:
    """Each file's sample. Files of one sample are replicate libraries when each names
    its own libraries (LB tags no other file of the sample shares): independent PCRs.
    Refused: a sample given twice otherwise (same library, or no LB), and two samples
    whose scan VCFs would share a name (``P16 blood`` and ``P16_blood``: the second would
    overwrite the first, and a carrier would read negative)."""
    names: dict[str, str] = {}
    libraries: dict[str, list[frozenset[str]]] = {}
    out = []
    stems: dict[str, tuple[str, str]] = {}  # output name (any case) -> (sample, file)
    for path, handle in zip(paths, opened, strict=True):
        name = sample_name(handle, Path(path))
        own = library_names(handle)
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
) -> ScanResult:
    build, contig, targets, reference, seq, counts = read_counts(paths, fasta, filters)
    if panel is not None:
        panel.check(build, counts[0].positions, filters)
    known = known_alleles(build, seq, knowledge)
    samples = call_samples(counts, reference, known, settings,
                           panel.samples if panel else [])  # fmt: skip
    for sample in samples:  # no base counted: the filters say why, not the limits
        if sample.limits is not None and not sample.counts.depth.any():
            reason = unusable_reason(sample.counts.dropped, filters)
            sample.limits = replace(sample.limits, unusable=reason)
    _name(samples, contig, seq, mane_transcript(build))
    _describe_assays(samples, filters, contig)
    return ScanResult(build, contig, targets, reference, samples, settings, filters, panel)


def read_counts(paths: list[str | Path], fasta: str | Path, filters: ReadFilters):
    """(build, contig, targets, reference bases, FASTA sequence, counts per file): the
    checked inputs, counted."""
    import pysam

    from nlrp3annot.genome.sequence import fasta_build

    opened = []
    cleanup: list[tempfile.TemporaryDirectory] = []
    verbosity = pysam.set_verbosity(0)  # htslib's own lines name no file: ours replace them
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
            if Path(path).suffix == ".cram":  # before its reads are decoded against --fasta
                check_cram_reference(Path(path), handle, Path(fasta), contig)
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
        reference = "".join(seq.get(a, b) for a, b in targets).upper()
        samples = _sample_names(paths, opened)  # refused before any counting
        labels = [
            library_label(library_names(h), Path(p).name)
            for p, h in zip(paths, opened, strict=True)
        ]
        if filters.primers:  # primer bases are not evidence: count clipped copies
            folder = tempfile.TemporaryDirectory(prefix="nlrp3annot-primers-")
            cleanup.append(folder)
            opened[:] = _clipped(paths, opened, builds, targets, Path(fasta),
                                 Path(filters.primers), Path(folder.name))  # fmt: skip
        counts = []
        for path, handle, name, label in zip(paths, opened, samples, labels, strict=True):
            _, contig = builds[str(path)]
            try:
                sample = count_alleles(handle, name, str(path), build, contig, targets,
                                       filters, seq.get)  # fmt: skip
            except OSError as exc:  # htslib: "truncated file", naming nothing
                raise read_failure(Path(path), handle, exc) from None
            check_reference(sample, reference, Path(path), Path(fasta))
            check_umis(sample, Path(path), filters)
            sample.library = label
            counts.append(sample)
        contig = next(iter(builds.values()))[1]
        return build, contig, targets, reference, seq, counts
    finally:
        for handle in opened:
            close_quietly(handle)
        for folder in cleanup:
            folder.cleanup()
        pysam.set_verbosity(verbosity)


def _clipped(paths, opened, builds, targets, fasta: Path, bed: Path, folder: Path) -> list:
    """Each file's reads over the coding targets with primer bases soft-clipped
    (:mod:`nlrp3annot.reads.primers`), opened; the originals closed."""
    from nlrp3annot.reads.primers import check_primers, clip_primers

    check_primers(bed, {contig for _, contig in builds.values()})
    handles = []
    for path, handle in zip(paths, opened, strict=True):
        contig = builds[str(path)][1]
        region = f"{contig}:{targets[0][0] - 1000}-{targets[-1][1] + 1000}"
        close_quietly(handle)
        clipped = clip_primers(Path(path), fasta, bed, region, folder)
        handles.append(open_alignments(clipped, fasta))
    return handles


def call_samples(
    counts: list[Counts],
    reference: str,
    known: KnownAlleles,
    settings: CallSettings,
    panel: list[Counts],
) -> list[SampleScan]:
    """Every sample's candidates with verdicts, and its limits of detection. Pure. Files
    of one sample are its replicate libraries (:mod:`nlrp3annot.reads.replicates`): each
    judged on its own, the sample's call needing every library's."""
    ref = np.array([BASES.find(b) for b in reference])
    snv_bg = snv_background(counts, panel, ref, settings)
    indel_bg = indel_background(counts, panel, settings)
    groups: dict[str, list[int]] = {}
    for s, c in enumerate(counts):
        groups.setdefault(c.sample, []).append(s)
    samples = []
    for members in groups.values():
        at_power = replicate_settings(settings, len(members))
        found_each, parts = [], []
        for s in members:
            c = counts[s]
            covered = int((c.depth > 0).sum())
            tested = max(3 * covered + sum(1 for k in c.indels if c.indels[k].any()), 1)
            found = snv_candidates(c, s, snv_bg, ref, set(known.snvs), tested, settings)
            found += indel_candidates(c, s, indel_bg, set(known.indels), tested, settings)
            for candidate in found:
                candidate.verdict = judge(candidate, settings)
            near_indels(found, settings)
            parts.append(limit_parts(c, s, found, snv_bg, indel_bg, ref, known, tested, at_power))
            found_each.append(found)
        if len(members) == 1:
            limits = scan_limits(found_each[0], parts, known, settings)
            samples.append(SampleScan(counts[members[0]], found_each[0], limits,
                                      snv_limits=_per_position(ref, parts)))  # fmt: skip
            continue
        libraries = [counts[s] for s in members]
        labels = tuple(c.library or Path(c.path).name for c in libraries)
        pooled = pooled_candidates(libraries, found_each, list(labels), settings.report_p)
        limits = scan_limits(pooled, parts, known, settings)
        samples.append(SampleScan(pooled_counts(libraries), pooled, limits, labels,
                                  _per_position(ref, parts)))  # fmt: skip
    return samples


def limit_parts(
    c: Counts,
    s: int,
    found: list[Candidate],
    snv_bg: SnvBackground,
    indel_bg: IndelBackground,
    ref: np.ndarray,
    known: KnownAlleles,
    tested: int,
    settings: CallSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """One library's limits of detection: set on each known pathogenic allele's candidate,
    and returned per coding position for (other SNVs, small indels)."""
    for kind in ("snv", "indel"):
        at_known = [x for x in found if x.known and x.is_snv == (kind == "snv")]
        if not at_known:
            continue
        lods = detection_limits(
            [x.depth_cells for x in at_known], [x.cell_background for x in at_known],
            np.array([x.rho for x in at_known]), [x.trusted for x in at_known],
            np.array([x.threshold for x in at_known]), settings,
        )  # fmt: skip
        for x, lod in zip(at_known, lods.tolist(), strict=True):
            x.lod = None if np.isnan(lod) else lod
    threshold = settings.alpha / tested
    other = _other_snv_limits(c, s, snv_bg, ref, threshold, settings)
    indels = _indel_limits(c, s, indel_bg, threshold, settings)
    return other, indels


def scan_limits(
    found: list[Candidate],
    parts: list[tuple[np.ndarray, np.ndarray]],
    known: KnownAlleles,
    settings: CallSettings,
) -> ScanLimits:
    """The sample's limits: the highest at the known pathogenic alleles (their candidates'),
    and as classes over the coding positions; over replicate libraries, each position's
    highest (nan, below the minimum depth, where any library is)."""
    highest = {}
    below = damaged = 0
    for kind in ("snv", "indel"):
        at_known = [x for x in found if x.known and x.is_snv == (kind == "snv")]
        # reads enough, but of a type the library's damage makes no evidence
        lost = [x.lod is None and x.untrusted != ""
                and sum(x.depth_cells) >= settings.min_depth for x in at_known]  # fmt: skip
        damaged += sum(lost)
        below += sum(1 for x, gone in zip(at_known, lost, strict=True)
                     if x.lod is None and not gone)  # fmt: skip
        finite = [x.lod for x in at_known if x.lod is not None]
        highest[kind] = max(finite) if finite else None
    other = np.maximum.reduce([p[0] for p in parts])
    indels = np.maximum.reduce([p[1] for p in parts])
    return ScanLimits(
        known_snv=highest["snv"],
        known_snvs=len(known.snvs),
        known_indel=highest["indel"],
        known_indels=len(known.indels),
        indels=_quantile(indels),
        other_snvs=_quantile(other),
        max_lod=settings.max_lod,
        indels_worst=_quantile(indels, 1.0),
        other_snvs_worst=_quantile(other, 1.0),
        known_below_depth=below,
        known_damaged=damaged,
        min_depth=settings.min_depth,
    )


def _per_position(ref: np.ndarray, parts) -> np.ndarray:
    """The SNV limits of every target position (nan at an N of the reference), over the
    libraries each position's highest, as :func:`scan_limits` takes them."""
    out = np.full(len(ref), np.nan)
    out[ref >= 0] = np.maximum.reduce([p[0] for p in parts])
    return out


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
        sample.assay = assay_of(sample.counts, filters.umi_tag is not None,
                                max(len(sample.libraries), 1), bool(filters.primers))  # fmt: skip
        if amplicons is not None and sample.snv_limits is not None:
            sample.amplicons = amplicon_limits(amplicons, sample.counts, sample.snv_limits,
                                               sample.candidates)  # fmt: skip


def _indel_limits(c, s, indel_bg, threshold, settings) -> np.ndarray:
    """Per coding position, the limit for a small indel there: against the sample's own
    indel rate, or the highest background of an indel any sample shows there."""
    depth = c.indel_depth.T  # (n, 4)
    mu = np.tile(np.maximum(indel_bg.own[s], settings.error_floor), (len(depth), 1))
    rho = np.full(len(depth), float(indel_bg.own_rho[s]))
    column = {int(p): i for i, p in enumerate(c.positions.tolist())}
    for allele, rates in indel_bg.mu.items():
        i = column[allele[0]]
        mu[i] = np.maximum(mu[i], rates[s])
        rho[i] = max(rho[i], float(indel_bg.rho[allele][s]))
    return detection_limits(depth, mu, rho, np.ones(depth.shape, bool), threshold, settings)


def _other_snv_limits(c, s, snv_bg, ref, threshold, settings) -> np.ndarray:
    """Per coding position, the limit for its hardest substitution (highest background)."""
    at = np.flatnonzero(ref >= 0)
    rows = np.arange(len(at))
    depth = c.bases.sum(axis=1)[:, at].T  # (m, 4)
    trusted = np.stack([trusted_cells(snv_bg.untrusted[s][ref[at], a]) for a in range(4)])
    mu = snv_bg.mu[s][:, :, at].transpose(1, 2, 0)  # (4 alt, m, 4 cells)
    evidence = np.where(trusted, depth[None], 0)
    mean = (evidence * mu).sum(axis=2) / np.maximum(evidence.sum(axis=2), 1)  # (4 alt, m)
    mean[ref[at], rows] = -1.0  # the reference base is no substitution
    hardest = mean.argmax(axis=0)
    return detection_limits(depth, mu[hardest, rows], snv_bg.rho[s][hardest, at],
                            trusted[hardest, rows], threshold, settings)  # fmt: skip


def _quantile(limits: np.ndarray, q: float = 0.95) -> float | None:
    finite = limits[np.isfinite(limits)]
    return float(np.quantile(finite, q)) if finite.size else None


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
