"""The commands that write a results folder: ``compare``, ``run`` and ``demo``. Each writes
its folder as one set (io.output_set); ``run`` and ``demo`` annotate into it first and
write a page per patient (``patients/``), which ``report`` writes again from the folder."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli import (
    EXIT_SOME_FAILED,
    EXIT_USER_ERROR,
    cmd_annotate,
    input_paths,
    recorded_command,
    redactor_of,
)
from nlrp3annot.delivery.provenance import genotyping
from nlrp3annot.errors import Nlrp3AnnotError

if TYPE_CHECKING:
    from nlrp3annot.delivery.deliver import DeliverySettings


def cmd_compare(args: argparse.Namespace) -> int:
    _plan(args)  # a bad plan stops before any work
    from nlrp3annot.response.analysis import run_analysis

    with _results_folder(args.output, args) as staging:
        output = run_analysis(
            args.genotypes,
            args.clinical,
            args.samples,
            staging.path,
            rule=args.group_rule,
            plan=_plan(args),
            redact=redactor_of(args),
            command=recorded_command(args),
        )
    if not args.quiet:
        _report_analysis(_moved(output, staging))
    return 0


def _plan(args: argparse.Namespace):
    """The --plan file read (a bad plan stops before any work), or None for the default."""
    if not getattr(args, "plan", None):
        return None
    from nlrp3annot.response.plan import load_plan

    if not hasattr(args, "loaded_plan"):
        args.loaded_plan = load_plan(args.plan)
    return args.loaded_plan


def cmd_plan(args: argparse.Namespace) -> int:
    from importlib import resources

    text = resources.files("nlrp3annot.response").joinpath("default_plan.toml").read_text()
    sys.stdout.write(text)
    return 0


def cmd_lab_profile(args: argparse.Namespace) -> int:
    from nlrp3annot.delivery.lab import example_path

    sys.stdout.write(example_path().read_text(encoding="utf-8"))
    return 0


def _results_folder(folder: str | Path, args: argparse.Namespace):
    """The output set of a results folder (io.output_set), saying first when the folder
    holds a run that did not finish."""
    from nlrp3annot.io.output_set import incomplete_outputs, output_set

    if incomplete_outputs(folder):
        print(
            f"nlrp3annot: warning: {folder}/ holds outputs of a run that did not finish "
            "(no run.json); this run replaces them",
            file=sys.stderr,
        )
    return _messages_in_place(output_set(folder, recorded_command(args)))


class _FinalNames:
    """stderr, with the staging folder's name written as the results folder's: a message
    names where a file will be, not a folder that is gone when the run ends."""

    def __init__(self, stream, staging) -> None:
        self.stream = stream
        self.names = [(str(staging.path.resolve()), str(staging.folder.resolve())),
                      (str(staging.path), str(staging.folder))]  # fmt: skip

    def write(self, text: str) -> int:
        for staged, final in self.names:
            text = text.replace(staged, final)
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextmanager
def _messages_in_place(context):
    with context as staging:
        stream = sys.stderr
        sys.stderr = _FinalNames(stream, staging)
        try:
            yield staging
        finally:
            sys.stderr = stream


def _moved(output, staging):
    """An AnalysisOutput written under ``staging``, with the paths it has in place."""
    from dataclasses import replace

    return replace(output, folder=staging.folder, report=staging.shown(output.report))


def _report_analysis(output) -> None:
    groups = ", ".join(f"{n} {g}" for g, n in sorted(output.summary["groups"].items()))
    print(f"nlrp3annot: patients: {groups}", file=sys.stderr)
    for warning in output.summary["comparison"].get("warnings", []):
        print(f"nlrp3annot: warning: {warning}", file=sys.stderr)
    skipped = output.summary.get("clinical_skipped") or []
    if skipped:  # rows the tables could not use: said here, not only in a file
        reasons = Counter(str(row.get("reason", "")) for row in skipped)
        listed = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
        print(
            f"nlrp3annot: warning: {len(skipped)} clinical/samples rows or cells not used "
            f"({listed}); listed in {output.folder}/tables/clinical_skipped.tsv",
            file=sys.stderr,
        )
    print(
        f"nlrp3annot: results in {output.folder}/ (summary.json, tables/); report: {output.report}",
        file=sys.stderr,
    )


def delivery_settings(args: argparse.Namespace) -> DeliverySettings:
    """--lab, --diagnosis and --research as typed settings, read once at the edge (a bad lab
    profile stops the command before any work)."""
    from nlrp3annot.delivery.deliver import DeliverySettings
    from nlrp3annot.delivery.lab import read_lab_profile

    lab = read_lab_profile(args.lab) if getattr(args, "lab", None) else None
    return DeliverySettings(
        lab=lab,
        diagnosis=getattr(args, "diagnosis", None) or "",
        research=bool(getattr(args, "research", False)),
    )


def _patient_pages(results: Path, settings: DeliverySettings) -> list[Path]:
    """One printable page per patient, results/patients/<file name>.html, and one GA4GH
    Phenopacket, results/phenopackets/<file name>.phenopacket.json (nlrp3annot.delivery),
    written into the staging folder so that they are part of the run's set."""
    from nlrp3annot.delivery.deliver import deliver

    done = deliver(results, settings, packets=results / "phenopackets")
    _say_skipped(done.skipped)
    return done.pages


def _patient_file_names(samples: str) -> None:
    """Refuse, before any work, a samples sheet with two patient IDs that would share a
    file name (delivery.names); the clinical table's other IDs are checked at delivery."""
    from nlrp3annot.delivery.names import file_stems
    from nlrp3annot.response.tables.clinical import read_samples

    file_stems(read_samples(samples).table["patient_id"])


def _say_skipped(skipped: list[tuple[str, str]]) -> None:
    for patient, why in skipped:
        print(f"nlrp3annot: no Phenopacket for patient {patient!r}: {why}", file=sys.stderr)


def _phenopackets_copy(args: argparse.Namespace, results: Path) -> None:
    """--phenopackets DIR: the run's Phenopackets also in DIR (a registry's drop folder)."""
    if not getattr(args, "phenopackets", None):
        return
    import shutil

    folder = Path(args.phenopackets)
    folder.mkdir(parents=True, exist_ok=True)
    made = sorted((results / "phenopackets").glob("*.phenopacket.json"))
    for path in made:
        shutil.copyfile(path, folder / path.name)
    if not args.quiet:
        print(f"nlrp3annot: {len(made)} Phenopackets in {folder}/", file=sys.stderr)


def _report_pages(pages: list[Path], staging) -> None:
    if pages:
        folder = staging.shown(pages[0]).parent
        print(f"nlrp3annot: {len(pages)} patient pages in {folder}/", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    """Patient pages (and Phenopackets) of a finished results folder: every patient's, or
    those named."""
    from nlrp3annot.delivery.deliver import deliver

    settings = delivery_settings(args)
    folder = Path(args.output) if args.output else Path(args.results) / "patients"
    packets = Path(args.phenopackets) if args.phenopackets else None
    done = deliver(Path(args.results), settings, folder, packets, args.patients)
    _say_skipped(done.skipped)
    if not args.quiet:
        print(f"nlrp3annot: {len(done.pages)} patient page(s) in {folder}/", file=sys.stderr)
        if packets is not None:
            print(f"nlrp3annot: {len(done.packets)} Phenopacket(s) in {packets}/",
                  file=sys.stderr)  # fmt: skip
    return 0


def _annotate_into(
    folder: Path, paths: list[str], fasta, build, args, results: Path | None = None
) -> tuple[Path, int]:
    """Run the annotate command into ``folder``: the patient summary path, and the exit
    code (EXIT_SOME_FAILED when some VCFs failed and the others were annotated). Files made
    under ``results`` (the staging folder) are named relative to it (:func:`_within`)."""
    folder.mkdir(parents=True, exist_ok=True)
    patients = folder / "patients.tsv"
    ns = argparse.Namespace(
        vcf=paths,
        list=None,
        fasta=fasta,
        build=build,
        output=str(folder / "calls.tsv"),
        format="tsv",
        skipped=None,
        patients=str(patients),
        quiet=args.quiet,
        min_depth=args.min_depth,
        mosaic_alpha=args.mosaic_alpha,
        max_mosaic_vaf=args.max_mosaic_vaf,
        noise_floor=args.noise_floor,
        min_alt_reads=args.min_alt_reads,
        gff=getattr(args, "gff", []),
        transcripts=getattr(args, "transcripts", None),
        pick=getattr(args, "pick", False),
        jobs=getattr(args, "jobs", None),
        scheduler=getattr(args, "scheduler", None),
        redact=getattr(args, "redact", None),
        _redactor=redactor_of(args),
        resume=getattr(args, "resume", False),
        resume_folder=getattr(args, "resume_folder", None),
        coverage=getattr(args, "coverage", None),
        shown=_within(paths, results),
    )
    code = cmd_annotate(ns)
    if code == EXIT_USER_ERROR:
        raise Nlrp3AnnotError("annotation failed; see the error above")
    return patients, code


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


ALIGNMENTS = (".bam", ".cram")


def _scan_reads(paths: list[str], fasta, folder: Path, args) -> list[str]:
    """The VCF paths, with each BAM/CRAM replaced by the VCF its scan wrote into
    ``folder`` (the alignments are scanned together: a shared background)."""
    alignments = [p for p in paths if Path(p).suffix.lower() in ALIGNMENTS]
    if not alignments:
        return paths
    if not fasta:
        raise Nlrp3AnnotError("BAM/CRAM inputs need --fasta (the genome they were aligned to)")
    from nlrp3annot.cli_scan import run_scan

    scanned = run_scan(alignments, fasta, folder, args)
    return [p for p in paths if p not in alignments] + [str(p) for p in scanned]


def _alignments_to_scan(paths: list[str], args) -> tuple[list[str], list[tuple[str, str]]]:
    """The inputs without the alignment files ``run`` cannot use, and those files with
    why: one it cannot read, or whose sample the samples sheet does not list (its patient
    would be left without a genotype, quietly). Without --allow-missing the first stops
    the run (one line, exit 2) before anything is scanned."""
    alignments = [p for p in paths if Path(p).suffix.lower() in ALIGNMENTS]
    if not alignments or not args.fasta:
        return paths, []
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.reads.alignments import close_quietly, open_alignments, sample_name
    from nlrp3annot.response.tables.clinical import read_samples

    listed = {str(s) for s in read_samples(args.samples).table["sample_id"] if str(s)}
    skipped = []
    for path in alignments:
        try:
            handle = open_alignments(path, args.fasta)
            try:
                name = sample_name(handle, Path(path))
            finally:
                close_quietly(handle)
            if name not in listed:
                raise InputFileError(
                    path, f"holds sample {name!r}, which {Path(args.samples).name} does not "
                    "list (its patient would have no genotype)", "add it to the sheet's "
                    "sample_id column, correct the SM tag, or give --allow-missing",
                )  # fmt: skip
        except InputFileError as exc:
            if not getattr(args, "allow_missing", False):
                raise
            skipped.append((path, str(exc).removeprefix(f"{path}: ")))
    left_out = {p for p, _ in skipped}
    return [p for p in paths if p not in left_out], skipped


def _scan_reads_allowing(paths: list[str], folder: Path, args, skipped) -> list[str]:
    """:func:`_scan_reads`; with --allow-missing an alignment file that fails part way
    (a damaged block) is left out, with why, and the others scanned again."""
    from nlrp3annot.errors import InputFileError

    while True:
        try:
            return _scan_reads(paths, args.fasta, folder, args)
        except InputFileError as exc:
            if not getattr(args, "allow_missing", False) or exc.path not in paths:
                raise
            skipped.append((exc.path, str(exc).removeprefix(f"{exc.path}: ")))
            paths = [p for p in paths if p != exc.path]


def _write_skipped_alignments(skipped: list[tuple[str, str]], folder: Path, args) -> None:
    if not skipped:
        return
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file\treason"] + [f"{_file_name(p, args)}\t{why}" for p, why in skipped]
    (folder / "alignments.skipped.tsv").write_text("\n".join(lines) + "\n")
    for path, why in skipped:
        print(f"nlrp3annot: skipped {_file_name(path, args)} (--allow-missing): {why}",
              file=sys.stderr)  # fmt: skip


def cmd_run(args: argparse.Namespace) -> int:
    _plan(args)  # a bad plan stops before any work
    settings = delivery_settings(args)  # ... and so does a bad lab profile
    _patient_file_names(args.samples)  # ... and two patients whose files would share a name
    from nlrp3annot.response.analysis import run_analysis

    paths, skipped = _alignments_to_scan(input_paths(args), args)  # before any work
    args.resume_folder = str(Path(args.output) / ".resume")  # outside the staging folder
    with _results_folder(args.output, args) as staging:
        out = staging.path
        paths = _scan_reads_allowing(paths, out / "annotation" / "scan", args, skipped)
        _write_skipped_alignments(skipped, out / "annotation", args)
        patients, code = _annotate_into(
            out / "annotation", paths, args.fasta, args.build, args, results=out
        )
        output = run_analysis(
            patients,
            args.clinical,
            args.samples,
            out,
            rule=args.group_rule,
            plan=_plan(args),
            redact=redactor_of(args),
            command=recorded_command(args),
            more_inputs={
                **{f"vcf {_file_name(p, args)}": p for p in paths},
                **({"fasta": args.fasta} if args.fasta else {}),
            },
            genotyping=_genotyping(args.fasta, args),
        )
        pages = _patient_pages(out, settings)
    from nlrp3annot.runner.checkpoint import Checkpoint

    Checkpoint(args.resume_folder).clear()  # the set is in place: nothing left to resume
    if not args.quiet:
        _report_analysis(_moved(output, staging))
        _report_pages(pages, staging)
    _phenopackets_copy(args, Path(args.output))
    if code == EXIT_SOME_FAILED:  # a run with a failed VCF is not a clean result
        print(
            "nlrp3annot: some VCFs failed (see above): their patients have no genotype in "
            "this comparison; fix them and run again",
            file=sys.stderr,
        )
    return code


def _file_name(path: str | Path, args: argparse.Namespace) -> str:
    """A file's name as the outputs record it (with --redact, its pseudonym)."""
    redactor = redactor_of(args)
    return str(redactor.path(str(path))) if redactor is not None else Path(path).name


def _genotyping(fasta, args: argparse.Namespace) -> dict:
    """summary.json's ``genotyping`` (delivery.provenance), the FASTA named as the outputs
    name every input (with --redact, its pseudonym; its first line and hash still say
    which genome it is)."""
    entry = genotyping(fasta, args.min_depth)
    if fasta and redactor_of(args) is not None:
        for key in ("fasta", "reference"):
            entry[key] = _file_name(fasta, args)
    return entry


def cmd_demo(args: argparse.Namespace) -> int:
    _plan(args)  # a bad plan stops before any work
    settings = delivery_settings(args)  # ... and so does a bad lab profile
    import shutil
    from importlib import resources

    from nlrp3annot.response.analysis import run_analysis

    out = Path(args.output)
    inputs = out / "inputs"
    source = resources.files("nlrp3annot") / "demo"
    with resources.as_file(source) as demo:
        shutil.copytree(demo, inputs, dirs_exist_ok=True)
    vcfs = sorted(str(p) for p in (inputs / "vcf").glob("*.vcf.gz"))
    reads = sorted(str(p) for p in (inputs / "reads").glob("*.cram"))
    fasta = inputs / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
    if not args.quiet:
        print(
            f"nlrp3annot: SYNTHETIC demo cohort ({len(vcfs)} VCFs, {len(reads)} CRAMs of deep "
            f"reads) copied to {inputs}",
            file=sys.stderr,
        )
    with _results_folder(out, args) as staging:  # (the inputs are not outputs: copied in place)
        results = staging.path
        scanned = _scan_reads(vcfs + reads, str(fasta), results / "annotation" / "scan", args)
        patients, _ = _annotate_into(
            results / "annotation", scanned, str(fasta), "auto", args, results=results
        )
        output = run_analysis(
            patients,
            inputs / "response.xlsx",
            inputs / "samples.csv",
            results,
            rule=args.group_rule,
            plan=_plan(args),
            synthetic=True,
            redact=redactor_of(args),
            command=recorded_command(args),
            title="NLRP3 genotype and anakinra response (SYNTHETIC demo)",
            genotyping=_genotyping(fasta, args),
        )
        pages = _patient_pages(results, settings)
    output = _moved(output, staging)
    if not args.quiet:
        _report_analysis(output)
        _report_pages(pages, staging)
    _phenopackets_copy(args, out)
    if not args.quiet:
        print(f"open {output.report}")
    return 0
