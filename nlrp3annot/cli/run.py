"""``nlrp3annot run`` and ``demo``: scan the alignment files, annotate every VCF into the
results folder, compare with the clinical table and write a page and a Phenopacket per
patient (``patients/``, ``phenopackets/``; ``report`` writes them again from the folder)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli.annotate import AnnotateSettings, MosaicValues, Transcripts, annotate
from nlrp3annot.cli.common import EXIT_SOME_FAILED, EXIT_USER_ERROR, input_paths
from nlrp3annot.cli.report import copy_phenopackets, delivery_settings, patient_pages
from nlrp3annot.cli.results import (
    AnalysisSettings,
    genotyping_entry,
    moved,
    report_analysis,
    results_folder,
)
from nlrp3annot.cli.scan import ScanOptions, run_scan
from nlrp3annot.cli.terminal import say, shown, shown_folder
from nlrp3annot.errors import Nlrp3AnnotError

if TYPE_CHECKING:
    from nlrp3annot.delivery.deliver import DeliverySettings

ALIGNMENTS = (".bam", ".cram")


@dataclass(frozen=True)
class Genotyping:
    """How ``run`` and ``demo`` genotype: the mosaic test, the scan of reads, the
    transcripts, the workers, --coverage and --resume."""

    mosaic: MosaicValues
    scan: ScanOptions
    transcripts: Transcripts = Transcripts()
    jobs: int | None = None
    scheduler: str | None = None
    coverage: tuple[str, ...] = ()
    resume: bool = False
    resume_folder: str | None = None


@dataclass(frozen=True)
class RunSettings:
    """``run``'s arguments: the inputs (VCF/BCF and BAM/CRAM, given and listed), the
    genome, the clinical table and samples sheet, and how to genotype, compare and
    deliver."""

    inputs: tuple[str, ...]
    listing: str | None
    fasta: str | None
    build: str
    clinical: str
    samples: str
    allow_missing: bool
    phenopackets: str | None
    genotyping: Genotyping
    analysis: AnalysisSettings
    delivery: DeliverySettings

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunSettings:
        analysis = AnalysisSettings.from_args(args)  # a bad plan stops before any work
        delivery = delivery_settings(args)  # ... and so does a bad lab profile
        return cls(
            inputs=tuple(args.vcf),
            listing=args.list,
            fasta=args.fasta,
            build=args.build,
            clinical=args.clinical,
            samples=args.samples,
            allow_missing=args.allow_missing,
            phenopackets=args.phenopackets,
            genotyping=Genotyping(
                mosaic=MosaicValues.from_args(args),
                scan=ScanOptions.from_args(args),
                transcripts=Transcripts.from_args(args),
                jobs=args.jobs,
                scheduler=args.scheduler,
                coverage=tuple(args.coverage or ()),
                resume=args.resume,
                # the finished files are kept outside the staging folder
                resume_folder=str(Path(args.output) / ".resume"),
            ),
            analysis=analysis,
            delivery=delivery,
        )


@dataclass(frozen=True)
class DemoSettings:
    """``demo``'s arguments: where the demo goes, and how to genotype, compare and
    deliver."""

    phenopackets: str | None
    genotyping: Genotyping
    analysis: AnalysisSettings
    delivery: DeliverySettings

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoSettings:
        analysis = AnalysisSettings.from_args(args)  # a bad plan stops before any work
        delivery = delivery_settings(args)  # ... and so does a bad lab profile
        genotyping = Genotyping(
            mosaic=MosaicValues.from_args(args),
            scan=ScanOptions.from_args(args),
            jobs=args.jobs,
            scheduler=args.scheduler,
        )
        return cls(args.phenopackets, genotyping, analysis, delivery)


def cmd_run(args: argparse.Namespace) -> int:
    return run(RunSettings.from_args(args))


def cmd_demo(args: argparse.Namespace) -> int:
    return demo(DemoSettings.from_args(args))


def _annotate_into(
    folder: Path,
    paths: list[str],
    fasta: str | None,
    build: str,
    how: Genotyping,
    analysis: AnalysisSettings,
    results: Path | None = None,
) -> tuple[Path, int]:
    """Annotate ``paths`` into ``folder``: the patient summary path, and the exit code
    (EXIT_SOME_FAILED when some VCFs failed and the others were annotated). Files made
    under ``results`` (the staging folder) are named relative to it (:func:`_within`)."""
    folder.mkdir(parents=True, exist_ok=True)
    patients = folder / "patients.tsv"
    settings = AnnotateSettings(
        inputs=tuple(input_paths(paths, None)),
        record=analysis.record,
        fasta=fasta,
        build=build,
        output=str(folder / "calls.tsv"),
        format="tsv",
        patients=str(patients),
        mosaic=how.mosaic,
        transcripts=how.transcripts,
        jobs=how.jobs,
        scheduler=how.scheduler,
        coverage=how.coverage,
        resume=how.resume,
        resume_folder=how.resume_folder,
        quiet=analysis.quiet,
        verbose=analysis.verbose,
        in_run=True,
        shown=_within(paths, results),
    )
    code = annotate(settings)
    if code == EXIT_USER_ERROR:
        raise Nlrp3AnnotError("annotation failed; see the error above")
    return patients, code


def _skipped_files(folder: Path) -> list[tuple[str, str]]:
    """(what, listed in) for the closing summary: the alleles the annotation skipped and
    the alignment files --allow-missing left out, each counted from its list."""
    found = []
    for name, what in (
        ("calls.skipped.tsv", "alleles"),
        ("alignments.skipped.tsv", "BAM/CRAM files"),
    ):
        listed = folder / name
        if listed.is_file():
            rows = max(len(listed.read_text().splitlines()) - 1, 0)
            if rows:
                found.append((f"{rows} {what}", shown(listed)))
    return found


def _within(paths: list[str], results: Path | None) -> dict[str, str]:
    """The run's own files (the scan's VCFs) are written under a staging folder that is
    renamed at the end: the outputs name them relative to the results folder, never by the
    staging path that will not exist."""
    if results is None:
        return {}
    shown = {}
    for path in paths:
        try:
            shown[path] = Path(path).relative_to(results).as_posix()
        except ValueError:  # an input of the user's: named as given
            continue
    return shown


def _scan_reads(
    paths: list[str], fasta: str | None, folder: Path, scan: ScanOptions, analysis
) -> list[str]:
    """The VCF paths, with each BAM/CRAM replaced by the VCF its scan wrote into
    ``folder`` (the alignments are scanned together: a shared background)."""
    alignments = [p for p in paths if Path(p).suffix.lower() in ALIGNMENTS]
    if not alignments:
        return paths
    if not fasta:
        raise Nlrp3AnnotError("BAM/CRAM inputs need --fasta (the genome they were aligned to)")
    scanned = run_scan(alignments, fasta, folder, scan, analysis.record.redactor())
    return [p for p in paths if p not in alignments] + [str(p) for p in scanned]


def _alignments_to_scan(
    paths: list[str], settings: RunSettings
) -> tuple[list[str], list[tuple[str, str]]]:
    """The inputs without the alignment files ``run`` cannot use, and those files with
    why: one it cannot read, or whose sample the samples sheet does not list (its patient
    would be left without a genotype, quietly). Without --allow-missing the first stops
    the run (one line, exit 2) before anything is scanned."""
    alignments = [p for p in paths if Path(p).suffix.lower() in ALIGNMENTS]
    if not alignments or not settings.fasta:
        return paths, []
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.reads.alignments import close_quietly, open_alignments, sample_name
    from nlrp3annot.response.tables.clinical import read_samples

    listed = {str(s) for s in read_samples(settings.samples).table["sample_id"] if str(s)}
    skipped = []
    for path in alignments:
        try:
            handle = open_alignments(path, settings.fasta)
            try:
                name = sample_name(handle, Path(path))
            finally:
                close_quietly(handle)
            if name not in listed:
                raise InputFileError(
                    path, f"holds sample {name!r}, which {Path(settings.samples).name} does "
                    "not list (its patient would have no genotype)", "add it to the sheet's "
                    "sample_id column, correct the SM tag, or give --allow-missing",
                )  # fmt: skip
        except InputFileError as exc:
            if not settings.allow_missing:
                raise
            skipped.append((path, str(exc).removeprefix(f"{path}: ")))
    left_out = {p for p, _ in skipped}
    return [p for p in paths if p not in left_out], skipped


def _scan_reads_allowing(
    paths: list[str], folder: Path, settings: RunSettings, skipped: list[tuple[str, str]]
) -> list[str]:
    """:func:`_scan_reads`; with --allow-missing an alignment file that fails part way
    (a damaged block) is left out, with why, and the others scanned again."""
    from nlrp3annot.errors import InputFileError

    scan = settings.genotyping.scan
    while True:
        try:
            return _scan_reads(paths, settings.fasta, folder, scan, settings.analysis)
        except InputFileError as exc:
            if not settings.allow_missing or exc.path not in paths:
                raise
            skipped.append((exc.path, str(exc).removeprefix(f"{exc.path}: ")))
            paths = [p for p in paths if p != exc.path]


def _write_skipped_alignments(
    skipped: list[tuple[str, str]], folder: Path, analysis: AnalysisSettings
) -> None:
    if not skipped:
        return
    name = analysis.record.file_name
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file\treason"] + [f"{name(p)}\t{why}" for p, why in skipped]
    (folder / "alignments.skipped.tsv").write_text("\n".join(lines) + "\n")
    for path, why in skipped:
        # with --redact, by its pseudonym as the list names it
        say(f"skipped {name(path) if record_redacts(analysis) else shown(path)} "
            f"(--allow-missing): {why}")  # fmt: skip


def record_redacts(analysis: AnalysisSettings) -> bool:
    return analysis.record.salt_file is not None


def _patient_file_names(samples: str) -> None:
    """Refuse, before any work, a samples sheet with two patient IDs that would share a
    file name (delivery.names); the clinical table's other IDs are checked at delivery."""
    from nlrp3annot.delivery.names import file_stems
    from nlrp3annot.response.tables.clinical import read_samples

    file_stems(read_samples(samples).table["patient_id"])


def run(settings: RunSettings) -> int:
    _patient_file_names(settings.samples)  # two patients whose files would share a name
    from nlrp3annot.response.analysis import run_analysis

    analysis, how, record = settings.analysis, settings.genotyping, settings.analysis.record
    inputs = input_paths(settings.inputs, settings.listing)
    paths, skipped = _alignments_to_scan(inputs, settings)  # before any work
    with results_folder(analysis.output, record) as staging:
        out = staging.path
        paths = _scan_reads_allowing(paths, out / "annotation" / "scan", settings, skipped)
        _write_skipped_alignments(skipped, out / "annotation", analysis)
        patients, code = _annotate_into(
            out / "annotation", paths, settings.fasta, settings.build, how, analysis, out
        )
        output = run_analysis(
            patients,
            settings.clinical,
            settings.samples,
            out,
            rule=analysis.group_rule,
            plan=analysis.plan,
            redact=record.redactor(),
            command=record.command(),
            more_inputs={
                **{f"vcf {record.file_name(p)}": p for p in paths},
                **({"fasta": settings.fasta} if settings.fasta else {}),
            },
            genotyping=_genotyping(settings.fasta, how, analysis),
            genotyped_only=analysis.genotyped_only,
        )
        pages = patient_pages(out, settings.delivery)
    from nlrp3annot.runner.checkpoint import Checkpoint

    Checkpoint(how.resume_folder).clear()  # the set is in place: nothing left to resume
    if not analysis.quiet:
        annotated = _skipped_files(Path(analysis.output) / "annotation")
        report_analysis(moved(output, staging), pages, annotated)
    copy_phenopackets(settings.phenopackets, Path(analysis.output), analysis.quiet)
    if code == EXIT_SOME_FAILED:  # a run with a failed VCF is not a clean result
        print(
            "nlrp3annot: some VCFs failed (see above): their patients have no genotype in "
            "this comparison; fix them and run again",
            file=sys.stderr,
        )
    return code


def _genotyping(fasta, how: Genotyping, analysis: AnalysisSettings) -> dict:
    """summary.json's ``genotyping`` (delivery.provenance), the FASTA named as the outputs
    name every input (with --redact, its pseudonym; its first line and hash still say
    which genome it is)."""
    return genotyping_entry(fasta, how.mosaic.min_depth, analysis.record)


def demo(settings: DemoSettings) -> int:
    import shutil
    from importlib import resources

    from nlrp3annot.response.analysis import run_analysis

    analysis, how, record = settings.analysis, settings.genotyping, settings.analysis.record
    out = Path(analysis.output)
    inputs = out / "inputs"
    source = resources.files("nlrp3annot") / "demo"
    with resources.as_file(source) as bundled:
        shutil.copytree(bundled, inputs, dirs_exist_ok=True)
    vcfs = sorted(str(p) for p in (inputs / "vcf").glob("*.vcf.gz"))
    reads = sorted(str(p) for p in (inputs / "reads").glob("*.cram"))
    fasta = inputs / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
    if not analysis.quiet:
        say(
            f"SYNTHETIC demo cohort ({len(vcfs)} VCFs, {len(reads)} CRAMs of deep reads) "
            f"copied to {shown_folder(inputs)}"
        )
    with results_folder(out, record) as staging:  # (the inputs are not outputs: copied in place)
        results = staging.path
        scan_folder = results / "annotation" / "scan"
        scanned = _scan_reads(vcfs + reads, str(fasta), scan_folder, how.scan, analysis)
        patients, _ = _annotate_into(
            results / "annotation", scanned, str(fasta), "auto", how, analysis, results
        )
        output = run_analysis(
            patients,
            inputs / "response.xlsx",
            inputs / "samples.csv",
            results,
            rule=analysis.group_rule,
            plan=analysis.plan,
            synthetic=True,
            redact=record.redactor(),
            command=record.command(),
            title="NLRP3 genotype and anakinra response (SYNTHETIC demo)",
            genotyping=_genotyping(fasta, how, analysis),
        )
        pages = patient_pages(results, settings.delivery)
    output = moved(output, staging)
    if not analysis.quiet:
        report_analysis(output, pages, _skipped_files(out / "annotation"))
    copy_phenopackets(settings.phenopackets, out, analysis.quiet)
    if not analysis.quiet:
        print(f"open {shown(output.report)}")
    return 0
