"""The results folder that ``compare``, ``run`` and ``demo`` write, each as one set
(io.output_set): the settings they share, the folder with its messages in place, and the
closing lines. ``compare`` itself is here; ``run`` and ``demo`` are in
:mod:`nlrp3annot.cli.run`. ``compare --annotations`` writes ``run``'s folder from
per-sample ``annotate`` outputs (a workflow manager's jobs; io.gather)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli.common import RunRecord
from nlrp3annot.cli.report import copy_phenopackets, delivery_settings, patient_pages
from nlrp3annot.cli.terminal import (
    console_for,
    counts_text,
    moving,
    say,
    shown,
    shown_folder,
    summary_block,
)

if TYPE_CHECKING:
    from nlrp3annot.delivery.deliver import DeliverySettings
    from nlrp3annot.response.plan import AnalysisPlan


@dataclass(frozen=True)
class AnalysisSettings:
    """What ``compare``, ``run`` and ``demo`` share: the results folder, the group rule,
    the analysis plan (read at the edge: a bad plan stops before any work), the run's
    record and quietness."""

    output: str
    group_rule: str | None
    plan: AnalysisPlan | None
    record: RunRecord
    quiet: bool
    verbose: bool = False  # -v: each file's details
    genotyped_only: bool = False  # --genotyped-only (compare, run)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AnalysisSettings:
        return cls(
            output=args.output,
            group_rule=args.group_rule,
            plan=load_plan(args.plan),
            record=RunRecord(tuple(args.command_line), args.redact, args.quiet),
            quiet=args.quiet,
            verbose=args.verbose,
            genotyped_only=getattr(args, "genotyped_only", False),  # (demo has no such option)
        )


def load_plan(path: str | None) -> AnalysisPlan | None:
    """The --plan file read (a bad plan stops before any work), or None for the default."""
    if not path:
        return None
    from nlrp3annot.response.plan import load_plan as read_plan

    return read_plan(path)


@dataclass(frozen=True)
class AsRun:
    """``compare --annotations``: what makes compare's folder the one ``run`` writes. The
    per-sample calls tables (their skipped lists beside them, named as ``annotate`` names
    them), the scan folder, the genome and minimum depth they were genotyped with, and the
    patient pages' settings."""

    calls: tuple[str, ...]
    scan: str | None
    fasta: str | None
    min_depth: int
    delivery: DeliverySettings
    phenopackets: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AsRun | None:
        if not args.annotations:
            given = [option for option, value in (
                ("--scan-folder", args.scan_folder), ("--fasta", args.fasta),
                ("--min-depth", args.min_depth), ("--phenopackets", args.phenopackets),
                ("--lab", args.lab), ("--diagnosis", args.diagnosis),
                ("--research", args.research),
            ) if value not in (None, False)]  # fmt: skip
            if given:
                from nlrp3annot.errors import Nlrp3AnnotError

                raise Nlrp3AnnotError(
                    f"{', '.join(given)}: only with --annotations (the calls tables of "
                    "annotate, from which compare writes run's results folder)"
                )
            return None
        return cls(
            calls=tuple(args.annotations),
            scan=args.scan_folder,
            fasta=args.fasta,
            min_depth=20 if args.min_depth is None else args.min_depth,
            delivery=delivery_settings(args),  # a bad lab profile stops before any work
            phenopackets=args.phenopackets,
        )


@dataclass(frozen=True)
class CompareSettings:
    """``compare``'s arguments: the genotype tables, the clinical table, the samples
    sheet, the analysis and, with --annotations, what makes the folder ``run``'s."""

    genotypes: tuple[str, ...]
    clinical: str
    samples: str
    analysis: AnalysisSettings
    as_run: AsRun | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CompareSettings:
        analysis = AnalysisSettings.from_args(args)
        as_run = AsRun.from_args(args)
        return cls(tuple(args.genotypes), args.clinical, args.samples, analysis, as_run)


def cmd_compare(args: argparse.Namespace) -> int:
    return compare(CompareSettings.from_args(args))


def compare(settings: CompareSettings) -> int:
    from nlrp3annot.response.analysis import run_analysis

    analysis, as_run, record = settings.analysis, settings.as_run, settings.analysis.record
    if as_run is not None:  # two patients whose pages would share a file name: before work
        from nlrp3annot.delivery.names import file_stems
        from nlrp3annot.response.tables.clinical import read_samples

        file_stems(read_samples(settings.samples).table["patient_id"])
    pages: list[Path] = []
    with results_folder(analysis.output, record) as staging:
        genotypes: list = list(settings.genotypes)
        more_inputs, genotyping = None, None
        if as_run is not None:
            gathered = _gather(settings, as_run, staging.path / "annotation")
            genotypes = [gathered.patients]
            more_inputs = {
                **{f"vcf {record.file_name(p)}": p for p in gathered.vcfs},
                **({"fasta": as_run.fasta} if as_run.fasta else {}),
            }
            genotyping = genotyping_entry(as_run.fasta, as_run.min_depth, record)
        output = run_analysis(
            genotypes,
            settings.clinical,
            settings.samples,
            staging.path,
            rule=analysis.group_rule,
            plan=analysis.plan,
            redact=record.redactor(),
            command=record.command(),
            more_inputs=more_inputs,
            genotyping=genotyping,
            genotyped_only=analysis.genotyped_only,
        )
        if as_run is not None:
            pages = patient_pages(staging.path, as_run.delivery)
    if not analysis.quiet:
        report_analysis(moved(output, staging), pages or None)
    if as_run is not None:
        copy_phenopackets(as_run.phenopackets, Path(analysis.output), analysis.quiet)
    return 0


def _gather(settings: CompareSettings, as_run: AsRun, folder: Path):
    """The per-sample annotate outputs as ``run``'s annotation/ folder (io.gather); every
    VCF they name must be readable from here (its hash goes into the provenance)."""
    from nlrp3annot.cli.annotate import skipped_path
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.io.gather import gather_annotations

    skipped = [skipped_path(calls) for calls in as_run.calls]
    gathered = gather_annotations(settings.genotypes, as_run.calls, skipped, folder, as_run.scan)
    for vcf in gathered.vcfs:
        if not Path(vcf).is_file():
            raise InputFileError(
                vcf, "named by the --annotations tables but not found from here",
                "run compare in the folder annotate ran in",
            )  # fmt: skip
    return gathered


def genotyping_entry(fasta: str | Path | None, min_depth: int, record: RunRecord) -> dict:
    """summary.json's ``genotyping`` (delivery.provenance), the FASTA named as the outputs
    name every input (with --redact, its pseudonym; its first line and hash still say
    which genome it is)."""
    from nlrp3annot.delivery.provenance import genotyping

    entry = genotyping(fasta, min_depth)
    if fasta and record.redactor() is not None:
        for key in ("fasta", "reference"):
            entry[key] = record.file_name(fasta)
    return entry


def results_folder(folder: str | Path, record: RunRecord):
    """The output set of a results folder (io.output_set), saying first when the folder
    holds a run that did not finish."""
    from nlrp3annot.io.output_set import incomplete_outputs, output_set

    if incomplete_outputs(folder):
        say(
            f"warning: {shown_folder(folder)} holds outputs of a run that did not finish "
            "(no run.json); this run replaces them"
        )
    return _messages_in_place(output_set(folder, record.command()))


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
            with moving(staging.path, staging.folder):
                yield staging
        finally:
            sys.stderr = stream


def moved(output, staging):
    """An AnalysisOutput written under ``staging``, with the paths it has in place."""
    from dataclasses import replace

    return replace(output, folder=staging.folder, report=staging.shown(output.report))


def report_analysis(
    output,
    pages: list[Path] | None = None,
    annotated: list[tuple[str, str]] | None = None,
) -> None:
    """The closing summary of an analysis (cutadapt's way: a quiet run that ends with one
    readable report): the patients by status, the groups compared, what was skipped and
    where it is listed, warnings, the bottom line of the plan's primary question (the
    report's own sentence), and where the results and the report are. ``pages``: the
    patient pages written (run, demo); ``annotated``: (what, listed in) of the skipped
    alleles and alignment files of the run's annotation. A rich table on a terminal,
    ``nlrp3annot: label: value`` lines when piped."""
    summary = output.summary
    rows = []
    statuses = Counter(str(p.get("status") or "no genotype") for p in summary.get("patients", []))
    if statuses:
        rows.append(("patients", f"{sum(statuses.values())}: {counts_text(statuses)}"))
    groups = summary.get("groups") or {}
    rows.append(("compared", " vs ".join(f"{n} {g}" for g, n in groups.items()) or "none"))
    skipped = [f"{what} (listed in {where})" for what, where in annotated or []]
    clinical = summary.get("clinical_skipped") or []
    if clinical:  # rows the tables could not use: said here, not only in a file
        reasons = Counter(str(row.get("reason", "")) for row in clinical)
        listed = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
        where = shown(Path(output.folder) / "tables" / "clinical_skipped.tsv")
        skipped.append(f"{len(clinical)} clinical/samples rows or cells: {listed} "
                       f"(listed in {where})")  # fmt: skip
    rows.append(("skipped", "; ".join(skipped) or "nothing"))
    rows += [("warning", w) for w in summary.get("comparison", {}).get("warnings", [])]
    bottom = primary_bottom_line(summary)
    if bottom:
        rows.append(("bottom line", bottom))
    folder = shown_folder(output.folder)
    contents = "summary.json, tables/"
    if pages:
        contents += f", {len(pages)} patient pages in patients/"
    rows.append(("results", f"{folder} ({contents})"))
    rows.append(("report", shown(output.report)))
    title = str(summary.get("title") or "nlrp3annot")
    summary_block(title, rows, console_for())


def primary_bottom_line(summary: dict) -> str | None:
    """The report's first-screen sentence for the plan's primary question (bottom_line.
    overall_line, read from summary.json's numbers: nothing is computed again); None
    when the summary holds no such family."""
    comparison = summary.get("comparison") or {}
    family = f"{comparison.get('question', 'study')}_endpoints"
    rows = (comparison.get(family) or {}).get("endpoints")
    if not rows or "alpha" not in comparison or len(comparison.get("compared") or ()) != 2:
        return None
    import pandas as pd

    from nlrp3annot.response.report.bottom_line import overall_line

    nan = float("nan")  # a P not computed is null in JSON, NaN in the report's tables
    table = pd.DataFrame(
        [{**r, **{k: nan for k in ("p", "p_adjusted") if r.get(k) is None}} for r in rows]
    )
    compared = tuple(comparison.get("compared") or ())
    return overall_line({family: table}, float(comparison["alpha"]), compared, family)
