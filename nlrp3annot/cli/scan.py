"""``nlrp3annot scan``: BAM/CRAM reads in, a VCF per sample and one TSV out (or, with
``--make-panel``, a panel of normals). ``run`` and ``demo`` scan their alignment files
through :func:`run_scan`."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.cli.common import input_paths
from nlrp3annot.cli.options import FRACTION, READS, WORKERS
from nlrp3annot.cli.terminal import progress_bar, say, shown, shown_folder
from nlrp3annot.errors import Nlrp3AnnotError

if TYPE_CHECKING:
    from nlrp3annot.io.redact import Redactor
    from nlrp3annot.reads.alignments import ReadFilters
    from nlrp3annot.reads.settings import CallSettings


@dataclass(frozen=True)
class ScanOptions:
    """The read filters and limits as given (``scan``'s options; ``run`` and ``demo`` take
    them too, with --min-depth shared with the mosaic test), checked by
    :func:`scan_settings` when the scan starts."""

    min_depth: int = 20
    min_mapq: int = 20
    min_baseq: int = 20
    no_proper_pairs: bool = False
    max_lod: float = 0.10
    umi_tag: str | None = None
    umi_from_name: bool = False
    no_umi: bool = False
    primers: str | None = None
    panel: str | None = None  # --panel NPZ, a panel of normals
    quiet: bool = False
    verbose: bool = False  # -v: a line a sample (assay, calls, limits of detection)
    jobs: int | None = None  # --jobs: files counted at once (default: the cores given)
    scheduler: str | None = None  # --scheduler: files counted on a Dask cluster

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ScanOptions:
        return cls(
            min_depth=args.min_depth,
            min_mapq=args.min_mapq,
            min_baseq=args.min_baseq,
            no_proper_pairs=args.no_proper_pairs,
            max_lod=args.max_lod,
            umi_tag=args.umi_tag,
            umi_from_name=args.umi_from_name,
            no_umi=args.no_umi,
            primers=args.primers,
            panel=args.panel,
            quiet=args.quiet,
            verbose=args.verbose,
            jobs=getattr(args, "jobs", None),  # run and demo: their --jobs and --scheduler
            scheduler=getattr(args, "scheduler", None),
        )

    def spread(self) -> tuple[int, str | None]:
        """(worker processes, Dask scheduler) for the counting, --jobs checked."""
        from nlrp3annot.runner.parallel import default_jobs

        jobs = default_jobs() if self.jobs is None else self.jobs
        WORKERS.check("--jobs", jobs)
        return jobs, self.scheduler


@dataclass(frozen=True)
class ScanCommand:
    """``scan``'s arguments: the alignment files (given and listed), the genome, the
    output (a folder, or the panel file with --make-panel) and the options."""

    alignments: tuple[str, ...]
    listing: str | None
    fasta: str
    output: Path
    make_panel: bool
    options: ScanOptions

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ScanCommand:
        return cls(
            tuple(args.alignments or ()),
            args.list,
            args.fasta,
            Path(args.output),
            args.make_panel,
            ScanOptions.from_args(args),
        )


def scan_settings(options: ScanOptions) -> tuple[CallSettings, ReadFilters]:
    """(CallSettings, ReadFilters) from the options, checked."""
    from nlrp3annot.reads.alignments import ReadFilters
    from nlrp3annot.reads.settings import CallSettings

    READS.check("--min-depth", options.min_depth)
    FRACTION.check("--max-lod", options.max_lod)
    for name in ("min_mapq", "min_baseq"):
        if getattr(options, name) < 0:
            raise Nlrp3AnnotError(f"--{name.replace('_', '-')}: give 0 or more")
    umi = options.umi_tag
    if umi is not None and not (len(umi) == 2 and umi.isalnum()):
        raise Nlrp3AnnotError(f"--umi-tag {umi!r}: give a two-character SAM tag such as RX")
    from_name = options.umi_from_name
    if umi is not None and from_name:
        raise Nlrp3AnnotError(
            f"--umi-tag {umi} and --umi-from-name: the UMIs are in a tag or in the read "
            "name, give one of the two"
        )
    primers = options.primers
    if primers is not None and not Path(primers).is_file():
        raise Nlrp3AnnotError(f"--primers {primers}: no such file (give the assay's primer BED)")
    return (
        CallSettings(min_depth=options.min_depth, max_lod=options.max_lod),
        ReadFilters(
            options.min_mapq,
            options.min_baseq,
            not options.no_proper_pairs,
            umi,
            primers=str(primers) if primers else None,
            umi_from_name=from_name,
            umi_auto=not options.no_umi,
        ),  # fmt: skip
    )


def alignment_paths(alignments: tuple[str, ...], listing: str | None) -> list[str]:
    if not alignments and not listing:
        raise Nlrp3AnnotError("no input: give BAM/CRAM files or --list FILE")
    return input_paths(alignments, listing)


def panel_of(options: ScanOptions):
    """The --panel file, loaded (None without one)."""
    if not options.panel:
        return None
    from nlrp3annot.reads.panel import load_panel

    return load_panel(options.panel)


def run_scan(
    paths: list[str],
    fasta: str,
    folder: Path,
    options: ScanOptions,
    redactor: Redactor | None = None,
) -> list[Path]:
    """Scan and write (with a ``redactor``, under pseudonyms); the per-sample VCFs."""
    from nlrp3annot.reads.scan import scan_alignments
    from nlrp3annot.reads.scan_output import write_scan

    settings, filters = scan_settings(options)
    with _counting(paths, options.quiet) as counted:
        jobs, scheduler = options.spread()
        result = scan_alignments(paths, fasta, settings, filters, panel=panel_of(options),
                                 on_counted=counted, jobs=jobs, scheduler=scheduler)  # fmt: skip
    if redactor is not None:  # pseudonyms before anything is written (names, paths, header)
        for sample in result.samples:
            sample.counts.sample = redactor(sample.sample)
            sample.counts.path = ",".join(redactor.path(p) for p in sample.path.split(","))
            # replicate libraries: LB tags may be named after the patient too
            plain = {lb: f"lib{i + 1}" for i, lb in enumerate(sample.libraries)}
            sample.libraries = tuple(plain.values())
            for c in sample.candidates:
                c.called_in = tuple(plain[lb] for lb in c.called_in)
    vcfs, tsv = write_scan(result, folder, jobs)
    if not options.quiet:
        if options.verbose:
            for sample in result.samples:
                say(
                    f"scan {sample.sample}: {sample.assay.describe()}; "
                    f"{len(sample.calls)} call(s){_calls_text(sample.calls, ': ')}; "
                    f"{sample.limits.describe()}"
                )
        say(scan_line(result.samples, folder))
    return vcfs


def _calls_text(calls, lead: str) -> str:
    return lead + ", ".join(f"{c.pos}{c.ref}>{c.alt} {c.vaf:.1%}" for c in calls) if calls else ""


def scan_line(samples, folder: Path) -> str:
    """The scan in one line: samples, calls (each named, up to 5), where the results are."""
    calls = [(s.sample, c) for s in samples for c in s.calls]
    named = ", ".join(f"{name} {c.pos}{c.ref}>{c.alt} {c.vaf:.1%}" for name, c in calls[:5])
    more = f" and {len(calls) - 5} more" if len(calls) > 5 else ""
    amplicons = ", scan_amplicons.tsv" if (folder / "scan_amplicons.tsv").exists() else ""
    return (
        f"scanned {len(samples)} sample{'s' * (len(samples) != 1)}: {len(calls)} "
        f"call{'s' * (len(calls) != 1)}{f' ({named}{more})' if calls else ''}; results in "
        f"{shown_folder(folder)} (scan.tsv{amplicons} and one VCF a sample; -v: each "
        "sample's limits of detection)"
    )


@contextmanager
def _counting(paths: list[str], quiet: bool):
    """A progress bar of the libraries counted, on a terminal; the callback for
    scan_alignments (None when piped or quiet)."""
    bar = progress_bar("counting reads", len(paths), quiet)
    if bar is None:
        yield None
        return
    task = bar.add_task("", total=None)

    def counted(path: str, units: int) -> None:
        bar.update(task, total=units, advance=1, description=Path(path).name)

    with bar:
        yield counted


def make_panel(paths: list[str], fasta: str, out: Path, options: ScanOptions) -> Path:
    """Count the normals' reads into a panel file."""
    from nlrp3annot.reads.panel import save_panel
    from nlrp3annot.reads.scan import read_counts

    if out.suffix != ".npz":
        raise Nlrp3AnnotError(f"-o {out}: a panel of normals is written as a .npz file")
    if options.panel:
        raise Nlrp3AnnotError("--make-panel makes a panel: give no --panel")
    _, filters = scan_settings(options)
    with _counting(paths, options.quiet) as counted:
        *_, filters, counts = read_counts(paths, fasta, filters, counted, *options.spread())
    counts = _files(counts)
    save_panel(out, counts, filters)
    if not options.quiet:
        depth = sorted(int(c.depth.mean()) for c in counts)
        say(f"panel of {len(counts)} normals (mean depth {depth[0]:,}-{depth[-1]:,} "
            f"fragments) in {shown(out)}")  # fmt: skip
    return out


def _files(counts: list) -> list:
    """One count per file: amplicon pools (reads.pools) added up again (a panel keeps no
    pools; its counts serve every pool's background)."""
    from nlrp3annot.reads.replicates import pooled_counts

    by_file: dict[str, list] = {}
    for c in counts:
        by_file.setdefault(c.path, []).append(c)
    return [pooled_counts(group) if len(group) > 1 else group[0] for group in by_file.values()]


def cmd_scan(args: argparse.Namespace) -> int:
    command = ScanCommand.from_args(args)
    paths = alignment_paths(command.alignments, command.listing)
    if command.make_panel:
        make_panel(paths, command.fasta, command.output, command.options)
    else:
        run_scan(paths, command.fasta, command.output, command.options)
    return 0
