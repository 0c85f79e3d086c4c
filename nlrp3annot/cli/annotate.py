"""``nlrp3annot annotate``: VCF/BCF files in, one table (TSV, JSON or VCF) out, with the
skipped alleles and the per-sample summary beside it. ``run`` and ``demo`` annotate
through :func:`annotate` too, with settings of their own making."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli.common import (
    EXIT_SOME_FAILED,
    EXIT_USER_ERROR,
    RunRecord,
    check_outputs,
    input_paths,
)
from nlrp3annot.cli.options import ERROR_RATE, FRACTION, P_VALUE, READS, WORKERS
from nlrp3annot.cli.terminal import PREFIX, counts_text, progress_bar, say, shown, shown_folder
from nlrp3annot.errors import Nlrp3AnnotError

if TYPE_CHECKING:
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.patients.zygosity import MosaicOptions
    from nlrp3annot.runner.checkpoint import Checkpoint
    from nlrp3annot.runner.pipeline import TranscriptChoice


@dataclass(frozen=True)
class MosaicValues:
    """The mosaic test's options as given (--min-depth, --mosaic-alpha, --max-mosaic-vaf,
    --noise-floor, --min-alt-reads), checked by :func:`mosaic_options` when the
    annotation starts."""

    min_depth: int = 20
    alpha: float = 0.01
    max_vaf: float = 0.40
    noise_floor: float = 0.01
    min_alt_reads: int = 5

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> MosaicValues:
        return cls(
            args.min_depth,
            args.mosaic_alpha,
            args.max_mosaic_vaf,
            args.noise_floor,
            args.min_alt_reads,
        )


@dataclass(frozen=True)
class Transcripts:
    """--gff, --transcripts and --pick as given (:meth:`choice` is the runner's value)."""

    gff: tuple[str, ...] = ()
    spec: str | None = None
    pick: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Transcripts:
        return cls(tuple(args.gff or []), args.transcripts, args.pick)

    def choice(self) -> TranscriptChoice:
        from nlrp3annot.runner.pipeline import TranscriptChoice

        return TranscriptChoice(self.gff, self.spec, self.pick)


@dataclass(frozen=True)
class AnnotateSettings:
    """Everything an annotation needs to know, typed: the inputs (files given and listed),
    the genome, the outputs and the options."""

    inputs: tuple[str, ...]
    record: RunRecord
    listing: str | None = None  # --list (an input too: no output may replace it)
    fasta: str | None = None
    build: str = "auto"
    output: str | None = None
    format: str | None = None  # -O/--format (default: from the -o extension)
    skipped: str | None = None  # --skipped: always written (default: beside -o, if any)
    locus_only: bool = False  # --locus-only: a VCF output holds the annotated records only
    patients: str | None = None
    mosaic: MosaicValues = MosaicValues()
    transcripts: Transcripts = Transcripts()
    jobs: int | None = None  # --jobs (default: the cores this process has)
    scheduler: str | None = None
    coverage: tuple[str, ...] = ()  # --coverage values, [SAMPLE=]BED
    resume: bool = False
    resume_folder: str | None = None  # default: .<output>.resume beside -o
    quiet: bool = False
    verbose: bool = False  # -v: each file's details even when there are several
    in_run: bool = False  # a stage of run/demo: their closing summary says the statuses
    # paths an output names otherwise than given (files of a run's own staging folder)
    shown: Mapping[str, str] | None = field(default=None)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AnnotateSettings:
        return cls(
            inputs=tuple(input_paths(args.vcf, args.list)),
            record=RunRecord(tuple(args.command_line), args.redact, args.quiet),
            listing=args.list,
            fasta=args.fasta,
            build=args.build,
            output=args.output,
            format=args.format,
            skipped=args.skipped,
            locus_only=args.locus_only,
            patients=args.patients,
            mosaic=MosaicValues.from_args(args),
            transcripts=Transcripts.from_args(args),
            jobs=args.jobs,
            scheduler=args.scheduler,
            coverage=tuple(args.coverage or ()),
            resume=args.resume,
            quiet=args.quiet,
            verbose=args.verbose,
        )


# The cyclic collector's first threshold for an annotate run (Python's default is 700, as
# mypy raises it to 200,000 for the same reason): a run allocates its 10^4-10^5 records and
# rows to keep them, and with the default the collector walked them again and again (full
# collections over everything loaded): 0.085 s of W5's 0.5 s. Cycles are still collected.
GC_FIRST_THRESHOLD = 200_000


def cmd_annotate(args: argparse.Namespace) -> int:
    import gc

    gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
    return annotate(AnnotateSettings.from_args(args))


def skipped_path(output: str) -> Path:
    """Where ``annotate -o OUTPUT`` lists its skipped alleles by default (``compare
    --annotations`` reads them there)."""
    from nlrp3annot.io.output_names import skipped_path as named

    return named(output)


def _vcf_findings(result, record: RunRecord, knowledge: Knowledge):
    """The findings a VCF output carries besides CSQ: ClinVar per allele (looked up here in
    the ``knowledge`` the run used, which has a sites-only file's alleles looked up already,
    so the writer needs no knowledge table), each sample's own change, call and status, and
    the version and command (paths pseudonymised with --redact)."""
    from nlrp3annot import __version__
    from nlrp3annot.io.vcf_findings import findings_of, provenance_line
    from nlrp3annot.knowledge.lookup import common_alleles_at_minor_sites
    from nlrp3annot.values import KNOWLEDGE_COLUMNS

    # one read-only dict per distinct value tuple (most alleles share "unknown to both")
    columns: dict[tuple[str, ...], dict[str, str]] = {}

    def site_values(row):
        values = knowledge.site_values(row.build, row.spdi, row.hgvs_p)
        found = columns.get(values)
        if found is None:
            found = columns[values] = dict(zip(KNOWLEDGE_COLUMNS, values, strict=True))
        return found

    header = provenance_line(__version__, record.command())
    common = common_alleles_at_minor_sites()

    def common_at_minor_site(row) -> bool:
        return (row.build, row.norm_pos, row.norm_ref, row.norm_alt) in common

    return findings_of(
        result.annotations, result.table, result.patients, site_values, header,
        common_at_minor_site,
    )  # fmt: skip


def annotate(settings: AnnotateSettings) -> int:
    """Annotate the inputs and write the outputs; the exit code (EXIT_SOME_FAILED when some
    of several files failed and the others were written)."""
    from nlrp3annot.io.output_names import output_format, skipped_path
    from nlrp3annot.io.writers import (
        write_json,
        write_patients,
        write_skipped,
        write_tsv,
        write_xlsx,
    )
    from nlrp3annot.runner.batch import annotate_files

    paths = list(settings.inputs)
    output = settings.output
    skipped_file = settings.skipped or (str(skipped_path(output)) if output else None)
    inputs = [*paths, settings.listing, settings.fasta, *settings.transcripts.gff]
    check_outputs([output, skipped_file, settings.patients], inputs)
    fmt = output_format(settings.format, output)
    if fmt == "vcf" and len(paths) > 1:
        raise Nlrp3AnnotError("VCF output takes one input file; use TSV or JSON for many")
    options = mosaic_options(settings.mosaic)
    coverage = coverage_files(settings.coverage)
    bar = progress_bar("annotating", len(paths), settings.quiet)
    task = bar.add_task("", total=len(paths)) if bar else None
    # each file's details: for one file, or with -v; with several, only their warnings
    details = settings.verbose or len(paths) == 1
    real = {name: path for path, name in (settings.shown or {}).items()}

    def done(name: str, result, error: str) -> None:
        lines = [f"error: {error}"] if error else []
        if result is not None and not settings.quiet:
            listed = bool(output or settings.skipped)
            file = shown(real.get(name, name))
            lines += _file_lines(file, result.summary, result.skipped, listed, details)
        if bar is not None:  # a live bar: print above it
            bar.update(task, advance=1, description=Path(name).name)
            for line in lines:
                bar.console.print(PREFIX + line, markup=False, highlight=False)
        else:
            for line in lines:
                say(line)

    jobs = _jobs(settings.jobs)
    checkpoint = _checkpoint(settings)
    knowledge = None
    if fmt == "vcf":  # the run's tables, for the findings to look up in after it
        from nlrp3annot.knowledge.columns import Knowledge

        knowledge = Knowledge.load()

    def run():
        return annotate_files(
            paths, settings.fasta, settings.build, options, done,
            settings.transcripts.choice(), jobs, settings.scheduler, checkpoint=checkpoint,
            keep_lines=fmt == "vcf" and settings.locus_only, coverage=coverage,
            shown=settings.shown, tsv_lines=fmt == "tsv" and not settings.record.salt_file,
            knowledge=knowledge,
        )  # fmt: skip

    if bar is not None:
        with bar:
            result = run()
    else:
        result = run()
    if len(paths) == 1 and result.failures:
        return EXIT_USER_ERROR
    if len(paths) > 1 and not settings.quiet:
        say(files_line(result, skipped_file))
    redactor = settings.record.redactor()
    if redactor is not None:  # every output below names pseudonyms only
        result = redactor.result(result)
    # The outputs are one set: remove the previous run's before writing any, so a kill in
    # between leaves new files and missing ones, never a new file beside an old one.
    for previous in (output, skipped_file, settings.patients):
        if previous and previous != "-" and Path(previous).is_file():
            Path(previous).unlink()
    if fmt == "json":
        write_json(result, output)
    elif fmt == "xlsx":
        write_xlsx(result, output)
    elif fmt == "vcf":
        from nlrp3annot.io.vcf_writer import write_vcf  # (a TSV run does not load it)

        assert knowledge is not None  # (loaded above for a VCF output)
        findings = _vcf_findings(result, settings.record, knowledge)
        counts = write_vcf(result, paths[0], output, redactor, findings, settings.locus_only)
        _report_vcf(counts, output, settings.quiet)
    else:
        write_tsv(result, output)
    # the list beside an output only when something was skipped (the stale one of an earlier
    # run is gone above); one asked for with --skipped always, for a workflow's declared file
    if skipped_file and (result.skipped or settings.skipped):
        write_skipped(result.skipped, skipped_file)
        if result.skipped and not settings.quiet and len(paths) == 1:
            say(f"skipped alleles listed in {shown(skipped_file)}")
    if settings.patients:
        write_patients(result, settings.patients)
        if not settings.quiet and not settings.in_run:
            counts = Counter(str(p["status"]) for p in result.patients)
            say(
                f"{len(result.patients)} samples in {shown(settings.patients)}: "
                f"{counts_text(counts)}"
            )
    if result.failures:
        print(
            f"nlrp3annot: {len(result.failures)} of {len(paths)} files failed (see above); "
            f"the others are in the output",
            file=sys.stderr,
        )
        return EXIT_SOME_FAILED
    if checkpoint is not None and not settings.resume_folder:
        checkpoint.clear()  # every output is written: nothing left to resume
    return 0


def _report_vcf(counts, output: str | None, quiet: bool) -> None:
    """What the VCF output holds; a .vcf.gz that could not be indexed is said even with -q."""
    where = output or "stdout"
    if counts.note:
        print(f"nlrp3annot: warning: {where}: {counts.note}", file=sys.stderr)
    if quiet:
        return
    if counts.records_in is None:
        print(
            f"nlrp3annot: {where}: {counts.annotated} annotated records (--locus-only)",
            file=sys.stderr,
        )
    else:
        print(
            f"nlrp3annot: {where}: all {counts.records_in} records, {counts.annotated} "
            f"annotated, {counts.passed_through} passed through unchanged",
            file=sys.stderr,
        )


def _checkpoint(settings: AnnotateSettings) -> Checkpoint | None:
    """The store of finished files for --resume (None without it)."""
    from nlrp3annot.runner.checkpoint import Checkpoint

    folder = settings.resume_folder
    if folder is None and settings.output:
        output = Path(settings.output)
        folder = output.with_name(f".{output.name}.resume")
    if not settings.resume:
        if folder is not None and Checkpoint(folder).count() and not settings.quiet:
            say(
                f"note: an interrupted run kept finished files in {shown_folder(folder)}; "
                "add --resume to skip them"
            )
        return None
    if folder is None:
        raise Nlrp3AnnotError("--resume needs -o: the finished files are kept beside the output")
    checkpoint = Checkpoint(folder)
    if checkpoint.count() and not settings.quiet:
        say(f"resuming: finished files kept in {shown_folder(folder)} are not annotated again")
    return checkpoint


def coverage_files(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``--coverage`` as (sample or "", path) pairs, each file checked before any work."""
    if not values:  # (the coverage readers, and gzip under them, load only when asked for)
        return ()
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.io.coverage_files import parse_coverage_option

    pairs = parse_coverage_option(list(values))
    for _, path in pairs:
        if not Path(path).is_file():
            raise InputFileError(
                Path(path), "no such coverage file", "give a mosdepth or callable-regions BED"
            )
    return tuple((sample, str(Path(path).resolve())) for sample, path in pairs)


def mosaic_options(values: MosaicValues) -> MosaicOptions:
    """The mosaic-test options, checked: a depth of at least 1 read, 0 < alpha < 1, an
    allele fraction in (0, 1], a noise floor in [0, 1) and at least 1 ALT read (NaN and
    out-of-range values are refused, not used)."""
    from nlrp3annot.patients.zygosity import MosaicOptions

    READS.check("--min-depth", values.min_depth)
    P_VALUE.check("--mosaic-alpha", values.alpha)
    FRACTION.check("--max-mosaic-vaf", values.max_vaf)
    ERROR_RATE.check("--noise-floor", values.noise_floor)
    READS.check("--min-alt-reads", values.min_alt_reads)
    return MosaicOptions(
        min_depth=values.min_depth,
        alpha=values.alpha,
        max_vaf=values.max_vaf,
        noise_floor=values.noise_floor,
        min_alt_reads=values.min_alt_reads,
    )


def _jobs(jobs: int | None) -> int:
    """--jobs, checked (default: the cores this process has)."""
    from nlrp3annot.runner.parallel import default_jobs

    if jobs is None:
        jobs = default_jobs()
    WORKERS.check("--jobs", jobs)
    return jobs


def _file_lines(file: str, summary: dict, skipped: list, listed: bool, details: bool) -> list[str]:
    """What the terminal says of one annotated file: with ``details``, its line (build,
    sequence, alleles annotated and skipped, records outside the locus) and its skipped
    alleles by reason (each allele when they are listed nowhere else); always its warnings."""
    lines = []
    if details:
        outside = summary["records_outside_locus"]
        outside_text = "not read (indexed fetch)" if outside is None else str(outside)
        lines.append(
            f"{file}: {summary['build']}, sequence {_source(summary['sequence'])}; "
            f"{summary['alleles_annotated']} alleles annotated, {summary['alleles_skipped']} "
            f"skipped, records outside the NLRP3 locus: {outside_text}"
        )
    lines += [f"warning: {text}" for text in summary.get("warnings", [])]
    lines += [f"warning: transcript left out: {r}" for r in summary.get("transcripts_refused", [])]
    mine = [x for x in skipped if x.path == summary["file"]]
    if details:
        for reason, n in Counter(x.reason for x in mine).most_common():
            lines.append(f"  skipped {n}: {reason}")
    if not listed:  # no skipped list is written: stderr is where they are listed
        lines += [f"  skipped {x.chrom}:{x.pos} {x.ref}>{x.alt}: {x.reason}" for x in mine]
    if summary["ref_mismatches"]:
        lines.append(
            f"warning: {file}: {summary['ref_mismatches']} rows have a REF that differs from "
            "the reference (column ref_mismatch); check the FASTA and the VCF's build"
        )
    return lines


def _source(sequence: str) -> str:
    """The sequence a file was read against: a FASTA path shown from the one base, or the
    words of a cached locus as they are."""
    return shown(sequence) if sequence and Path(sequence).exists() else sequence


def files_line(result, skipped_file: str | Path | None) -> str:
    """The annotation of several files in one line: files, alleles, skipped alleles by
    their commonest reasons (and where they are listed), REF mismatches, failures."""
    per_file = result.summary["per_file"]
    skipped = len(result.skipped)
    text = (
        f"annotated {len(per_file)} files: {sum(f['alleles_annotated'] for f in per_file)} "
        f"alleles, {skipped} skipped"
    )
    if skipped:
        reasons = Counter(x.reason for x in result.skipped).most_common()
        text += " (" + "; ".join(f"{n} {reason}" for reason, n in reasons[:3])
        text += f"; {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
        text += f"; listed in {shown(skipped_file)})" if skipped_file else ")"
    mismatches = sum(f["ref_mismatches"] for f in per_file)
    if mismatches:
        text += f", {mismatches} REF mismatches"
    if result.failures:
        text += f", {len(result.failures)} failed"
    return text
