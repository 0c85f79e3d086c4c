"""The annotation job: VCF + reference sequence -> rows, skipped list and summary.

Decides the build (``--build auto``), finds the sequence (``--fasta`` or the fetched cache),
refuses a FASTA of the other build, and runs the pure :class:`Annotator` over the records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from nlrp3annot.errors import Nlrp3AnnotError, ReferenceMismatchError
from nlrp3annot.genome.reference import BUILDS, Transcript, mane_transcript
from nlrp3annot.genome.sequence import LocusSequence, fasta_build
from nlrp3annot.io.read import scan_vcf
from nlrp3annot.io.vcf import VcfScan, Watch
from nlrp3annot.knowledge.columns import Knowledge
from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.patients.haplotypes import RowParts, sample_rows
from nlrp3annot.patients.status import summarise
from nlrp3annot.patients.zygosity import (
    DEFAULT_OPTIONS,
    NOTED_ALT_READS,
    MosaicOptions,
    scan_options,
)
from nlrp3annot.runner.forked import name_in_parallel
from nlrp3annot.values import (
    Annotation,
    AnnotationResult,
    SiteRow,
    astuple,
)

# Share of records whose REF must match the reference for a VCF to be taken as that build.
BUILD_REF_AGREEMENT = 0.9


@dataclass(frozen=True)
class TranscriptChoice:
    """Which transcripts to report on. ``gff``: annotation files adding their NLRP3
    transcripts; ``spec``: "mane", "all" or accessions (default: "all" when a GFF is given or
    models were fetched with ``reference fetch --transcripts all`` and asked for, else
    "mane"); ``pick``: one row per allele, VEP --pick style (MANE Select, then the LRG
    reference standard NM_004895.4, then the longest CDS)."""

    gff: tuple[str, ...] = ()
    spec: str | None = None
    pick: bool = False


DEFAULT_TRANSCRIPTS = TranscriptChoice()


def choose_transcripts(
    seq: LocusSequence, choice: TranscriptChoice
) -> tuple[list[Transcript], list[str]]:
    """The transcripts to annotate on, and a reason for each transcript refused."""
    transcripts = [mane_transcript(seq.build)]
    refused: list[str] = []
    spec = choice.spec or ("all" if choice.gff else "mane")
    if choice.gff or spec != "mane":
        from nlrp3annot.genome.annotation_files import read_annotation
        from nlrp3annot.genome.ensembl_transcripts import cached_transcripts
        from nlrp3annot.genome.transcripts import select, validate

        candidates = [t for path in choice.gff for t in read_annotation(path, seq.build)]
        fetched = None if choice.gff else cached_transcripts(seq.build)
        if not choice.gff:
            if fetched is None:
                _refuse_unfetched(spec, seq.build)
            candidates = fetched or []
        seen = {transcripts[0].accession, transcripts[0].ensembl_id}
        for candidate in candidates:
            if candidate.accession in seen:
                continue  # the bundled MANE model already covers it
            valid, reason = validate(candidate, seq)
            if valid is None:
                refused.append(reason)
                continue
            seen.add(valid.accession)
            transcripts.append(valid)
        transcripts = select(transcripts, spec)
    return transcripts, refused


def _refuse_unfetched(spec: str, build: str) -> None:
    """``--transcripts all`` (or an accession other than MANE's) without ``--gff`` and
    before ``reference fetch --transcripts all``: only the bundled MANE model is here, and
    annotating on it alone would quietly answer another question than the one asked."""
    mane = mane_transcript(build)
    fetch = f"nlrp3annot reference fetch --build {build} --transcripts all --no-sequence"
    if spec.strip().lower() == "all":
        raise Nlrp3AnnotError(
            f"--transcripts all: the NLRP3 transcripts other than MANE {mane.accession} are "
            f"not fetched for {build}; run '{fetch}' once, or give a RefSeq/Ensembl GFF3 or "
            "GTF with --gff (or leave --transcripts out for MANE only)"
        )
    names = {mane.accession.split(".")[0].upper(), (mane.ensembl_id or "").split(".")[0].upper()}
    other = [n.strip() for n in spec.split(",") if n.strip().split(".")[0].upper() not in names]
    if other:
        raise Nlrp3AnnotError(
            f"--transcripts {','.join(other)}: only MANE {mane.accession} is bundled; give a "
            f"GFF3/GTF that has it with --gff (RefSeq for NM_, Ensembl or GENCODE for ENST), "
            f"or for Ensembl's models run '{fetch}' once"
        )


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
    from nlrp3annot.genome import fetch  # imported here: requests is only needed without --fasta

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


def _evidence(scan: VcfScan, build: str, settings: Settings, min_depth: int):
    """(genotyped samples, covered intervals or None, coding targets) for the summary:
    gVCF blocks and ``--coverage`` files together."""
    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.patients.coverage import coding_targets

    t = mane_transcript(build)
    targets = coding_targets(t.exons, t.cds_start, t.cds_end)
    evidence = scan.evidence
    if evidence is None:
        return None, None, targets
    covered = dict(evidence.covered[build]) if evidence.gvcf[build] else None
    for sample, path in settings.coverage:
        from nlrp3annot.io.coverage_files import covered_intervals  # (only with --coverage)

        covered = covered if covered is not None else {}
        for name in [sample] if sample else scan.samples:
            if name in scan.samples:
                covered[name] = [*covered.get(name, []), *covered_intervals(path, build, min_depth)]
    return evidence.genotyped[build], covered, targets


def _why(scan: VcfScan, seq: LocusSequence) -> str:
    if scan.header_build():
        _, contig, length = scan.declared
        return f"its ##contig {contig} length is {length}"
    counts = ", ".join(f"{len(scan.records[b])} records in the {b} NLRP3 window" for b in BUILDS)
    matching, checked = _ref_agreement(scan, seq)
    return f"{counts}; {matching}/{checked} REF alleles match {seq.build}"


@dataclass(frozen=True)
class Settings:
    """Everything a run's files share; small and picklable, so that worker processes and
    cluster workers build the same :class:`Session` from it."""

    fasta: str | None = None
    build: str = "auto"
    options: MosaicOptions = DEFAULT_OPTIONS
    choice: TranscriptChoice = DEFAULT_TRANSCRIPTS
    keep_lines: bool = False  # a VCF output is wanted: keep the locus lines as read
    coverage: tuple[tuple[str, str], ...] = ()  # (sample or "" for all, BED path)
    # a TSV is the only output (and nothing is redacted): sample rows may come back from
    # a task as their TSV lines (values.TsvLine), without the site annotations (their
    # columns are in the rows), which is all the parent needs
    tsv_lines: bool = False


class Session:
    """What one process loads once and reuses for every file of a run: the ClinVar table,
    the watched pathogenic positions, each FASTA's locus, and the annotators (which remember
    every allele they named)."""

    def __init__(self, settings: Settings = Settings(), knowledge: Knowledge | None = None):
        if settings.build not in ("auto", *BUILDS):
            raise Nlrp3AnnotError(f"unknown build {settings.build!r}: use auto, GRCh38 or GRCh37")
        self.settings = settings
        self.knowledge = knowledge or Knowledge.load()
        self.watch = Watch({b: self.knowledge.pathogenic_positions(b) for b in BUILDS})
        self._annotators: dict[tuple[str, str], tuple[Annotator, list[Transcript], list[str]]]
        self._annotators = {}
        self.jobs = 1  # processes this session may use to name one large file's alleles
        self._row_parts: dict[str, RowParts] = {}

    def row_parts(self, build: str) -> RowParts:
        """The sample rows' shared parts for files of ``build``, kept for every file: their
        ClinVar columns follow from the session's knowledge and the build alone."""
        parts = self._row_parts.get(build)
        if parts is None:
            knowledge = self.knowledge

            def known(row) -> dict:
                return knowledge.columns(row, build)

            parts = self._row_parts[build] = RowParts(known)
        return parts

    def scan(self, path: str | Path, samples: list[str] | None = None) -> VcfScan:
        return scan_vcf(
            path,
            self.watch,
            # 0/0 calls with fewer ALT reads say nothing (no mosaic, no refused one to show)
            min_alt_reads=min(self.settings.options.min_alt_reads, NOTED_ALT_READS),
            samples=samples,
            keep_lines=self.settings.keep_lines,
            min_depth=self.settings.options.min_depth,
        )

    def annotate_file(
        self, path: str | Path, samples: list[str] | None = None, shown: str | None = None
    ) -> AnnotationResult:
        """Annotate every NLRP3 allele of one file (of ``samples`` only, when given);
        ``shown``: the name the outputs give the file (as the user gave it) when ``path`` is
        another spelling of it (absolute, for a cluster worker)."""
        scan = self.scan(path, samples)
        if shown is not None:  # every name the scan gave the file: skipped list, warnings
            read = str(path)
            scan.path = shown
            for build, items in scan.skipped.items():
                scan.skipped[build] = [replace(s, path=shown) for s in items]
            scan.warnings = [
                shown + w[len(read) :] if w.startswith(f"{read}:") else w for w in scan.warnings
            ]
        seq = load_sequence(scan, self.settings.fasta, self.settings.build)
        if self.jobs > 1:
            annotator = self.annotator(seq)[0]
            name_in_parallel(annotator, [r.variant for r in scan.records[seq.build]], self.jobs)
        return annotate_scan(scan, seq, session=self)

    def annotator(self, seq: LocusSequence) -> tuple[Annotator, list[Transcript], list[str]]:
        key = (seq.source, seq.build)
        if key not in self._annotators:
            transcripts, refused = choose_transcripts(seq, self.settings.choice)
            self._annotators[key] = (Annotator(transcripts, seq), transcripts, refused)
        return self._annotators[key]

    def picked(self, seq: LocusSequence, accession: str) -> Annotator:
        key = (seq.source, f"{seq.build}:{accession}")
        if key not in self._annotators:
            _, transcripts, refused = self.annotator(seq)
            mine = [t for t in transcripts if t.accession == accession]
            self._annotators[key] = (Annotator(mine, seq), mine, refused)
        return self._annotators[key][0]


def annotate_scan(
    scan: VcfScan,
    seq: LocusSequence,
    options: MosaicOptions = DEFAULT_OPTIONS,
    choice: TranscriptChoice = DEFAULT_TRANSCRIPTS,
    knowledge: Knowledge | None = None,
    session: Session | None = None,
) -> AnnotationResult:
    """Annotate the records of one scan against ``seq``. Without a ``session``, one is made
    from ``options``, ``choice`` and ``knowledge``; with one, its settings apply."""
    session = session or Session(Settings(None, seq.build, options, choice), knowledge)
    # the session's settings made its annotators: the rest of the job follows them too
    options, choice = session.settings.options, session.settings.choice
    annotator, transcripts, refused = session.annotator(seq)
    records = scan.records[seq.build]
    annotator.name_many([rec.variant for rec in records])  # many coding SNVs, together
    per_record = [annotator.annotate(rec.variant) for rec in records]
    if choice.pick:
        from nlrp3annot.genome.transcripts import pick_order

        order = {t.accession: pick_order(t) for t in transcripts}
        per_record = [[min(rows, key=lambda r: order[r.transcript])] for rows in per_record]
        if per_record:
            annotator = session.picked(seq, per_record[0][0].transcript)
    rows = [row for group in per_record for row in group]
    knowledge = session.knowledge

    table: list
    if scan.samples:
        # a reads scan's VCF: its calls passed the scan's own error model (both strands)
        calls_options = scan_options(options) if scan.scan_limits else options
        table = sample_rows(
            records,
            per_record,
            annotator,
            calls_options,
            scan.samples,
            parts=session.row_parts(seq.build),
            file_columns={"file": scan.path},
        )
    else:
        path, build, site_values = scan.path, seq.build, knowledge.site_values  # (10^4 rows)
        table = [
            SiteRow(
                (
                    *astuple(row),
                    rec.record_id,
                    rec.filter,
                    path,
                    *site_values(build, row.spdi, row.hgvs_p),
                )
            )
            for rec, group in zip(records, per_record, strict=True)
            for row in group
        ]
    primary = primary_transcript(per_record)  # decides the status: MANE (or the picked one)
    patients = (
        summarise(
            scan.path,
            scan.samples,
            table if len(transcripts) == 1 else [r for r in table if r["transcript"] == primary],
            scan.lowest_depth[seq.build],
            options.min_depth,
            *_evidence(scan, seq.build, session.settings, options.min_depth),
            scan.scan_limits,
        )
        if scan.samples
        else []
    )
    skipped = list(scan.skipped[seq.build])
    other = [b for b in BUILDS if b != seq.build][0]
    outside = scan.outside
    n_other = len(scan.records[other]) + len(scan.skipped[other])
    summary = {
        "file": scan.path,
        "build": seq.build,
        "sequence": seq.source,
        "knowledge": knowledge.source,
        "records_read": scan.records_read,
        "alleles_annotated": len({(r.pos, r.ref, r.alt) for r in rows}),
        "rows": len(table),
        "alleles_skipped": len(skipped),
        "gvcf_reference_blocks": scan.gvcf_blocks,
        "records_outside_locus": None if outside < 0 else outside + n_other,
        "ref_mismatches": sum(r.ref_mismatch for r in rows),
        "samples": len(scan.samples),
        "transcripts": [t.accession for t in transcripts],
        "transcripts_refused": refused,
        "warnings": list(scan.warnings),
    }
    return AnnotationResult(rows, table, skipped, patients, summary, source=scan.source)


def primary_transcript(per_record: list[list[Annotation]]) -> str:
    """The transcript whose rows decide a patient's status: MANE Select when reported, else
    the first (or picked) one."""
    for rows in per_record:
        for row in rows:
            if "MANE_Select" in row.flags:
                return row.transcript
    return per_record[0][0].transcript if per_record and per_record[0] else ""


def annotate_file(
    path: str | Path,
    fasta: str | Path | None = None,
    build: str = "auto",
    options: MosaicOptions = DEFAULT_OPTIONS,
    choice: TranscriptChoice = DEFAULT_TRANSCRIPTS,
    knowledge: Knowledge | None = None,
) -> AnnotationResult:
    """Annotate every NLRP3 variant allele of one VCF/BCF file."""
    settings = Settings(None if fasta is None else str(fasta), build, options, choice)
    return Session(settings, knowledge).annotate_file(path)
