"""The results folder that ``compare``, ``run`` and ``demo`` write, each as one set
(io.output_set): the settings they share, the folder with its messages in place, and the
closing lines. ``compare`` itself is here; ``run`` and ``demo`` are in
:mod:`nlrp3annot.cli.run`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli.common import RunRecord

if TYPE_CHECKING:
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
    genotyped_only: bool = False  # --genotyped-only (compare, run)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AnalysisSettings:
        return cls(
            output=args.output,
            group_rule=args.group_rule,
            plan=load_plan(args.plan),
            record=RunRecord(tuple(args.command_line), args.redact, args.quiet),
            quiet=args.quiet,
            genotyped_only=getattr(args, "genotyped_only", False),  # (demo has no such option)
        )


def load_plan(path: str | None) -> AnalysisPlan | None:
    """The --plan file read (a bad plan stops before any work), or None for the default."""
    if not path:
        return None
    from nlrp3annot.response.plan import load_plan as read_plan

    return read_plan(path)


@dataclass(frozen=True)
class CompareSettings:
    """``compare``'s arguments: the genotype tables, the clinical table, the samples
    sheet, and the analysis."""

    genotypes: tuple[str, ...]
    clinical: str
    samples: str
    analysis: AnalysisSettings

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CompareSettings:
        analysis = AnalysisSettings.from_args(args)
        return cls(tuple(args.genotypes), args.clinical, args.samples, analysis)


def cmd_compare(args: argparse.Namespace) -> int:
    return compare(CompareSettings.from_args(args))


def compare(settings: CompareSettings) -> int:
    from nlrp3annot.response.analysis import run_analysis

    analysis = settings.analysis
    with results_folder(analysis.output, analysis.record) as staging:
        output = run_analysis(
            list(settings.genotypes),
            settings.clinical,
            settings.samples,
            staging.path,
            rule=analysis.group_rule,
            plan=analysis.plan,
            redact=analysis.record.redactor(),
            command=analysis.record.command(),
            genotyped_only=analysis.genotyped_only,
        )
    if not analysis.quiet:
        report_analysis(moved(output, staging))
    return 0


def results_folder(folder: str | Path, record: RunRecord):
    """The output set of a results folder (io.output_set), saying first when the folder
    holds a run that did not finish."""
    from nlrp3annot.io.output_set import incomplete_outputs, output_set

    if incomplete_outputs(folder):
        print(
            f"nlrp3annot: warning: {folder}/ holds outputs of a run that did not finish "
            "(no run.json); this run replaces them",
            file=sys.stderr,
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
            yield staging
        finally:
            sys.stderr = stream


def moved(output, staging):
    """An AnalysisOutput written under ``staging``, with the paths it has in place."""
    from dataclasses import replace

    return replace(output, folder=staging.folder, report=staging.shown(output.report))


def report_analysis(output) -> None:
    """The closing lines of an analysis: the groups, warnings, rows not used, where the
    results are."""
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


def report_pages(pages: list[Path], staging) -> None:
    if pages:
        folder = staging.shown(pages[0]).parent
        print(f"nlrp3annot: {len(pages)} patient pages in {folder}/", file=sys.stderr)
