"""Command line: argument parsing, messages and exit codes. The work is done by the library.

Exit codes: 0 success; 2 a problem with the input or environment (one line on stderr);
anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from .errors import Nlrp3AnnotError

EXIT_USER_ERROR = 2
EXIT_SOME_FAILED = 1  # several inputs, some failed: the rest were written


def _output_format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output and output.endswith(".json"):
        return "json"
    if output and (output.endswith(".vcf") or output.endswith(".vcf.gz")):
        return "vcf"
    return "tsv"


def _skipped_path(output: str) -> Path:
    out = Path(output)
    name = out.name
    for suffix in (".vcf.gz", ".vcf", ".json", ".tsv", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}.skipped.tsv")


def input_paths(args: argparse.Namespace) -> list[str]:
    paths = list(args.vcf)
    if args.list:
        listing = Path(args.list)
        if not listing.is_file():
            raise Nlrp3AnnotError(f"{listing}: no such file (--list wants one VCF path a line)")
        for line in listing.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                path = Path(line)
                paths.append(str(path if path.is_absolute() else listing.parent / path))
    if not paths:
        raise Nlrp3AnnotError("no input: give VCF files or --list FILE")
    return paths


def _progress(paths: list[str], quiet: bool):
    """A rich progress bar on a terminal; plain per-file lines (or nothing) otherwise."""
    if quiet or not sys.stderr.isatty() or len(paths) < 2:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("annotating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        transient=True,
    )


def _vcf_findings(result, args: argparse.Namespace):
    """The findings a VCF output carries besides CSQ: ClinVar per allele (looked up here, so
    the writer needs no knowledge table), each sample's own change, call and status, and the
    version and command (paths pseudonymised with --redact)."""
    from nlrp3annot import __version__
    from nlrp3annot.io.vcf_findings import findings_of, provenance_line
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.knowledge.lookup import common_alleles_at_minor_sites
    from nlrp3annot.values import KNOWLEDGE_COLUMNS

    knowledge = Knowledge.load()

    def site_values(row):
        values = knowledge.site_values(row.build, row.spdi, row.hgvs_p)
        return dict(zip(KNOWLEDGE_COLUMNS, values, strict=True))

    header = provenance_line(__version__, recorded_command(args))
    common = common_alleles_at_minor_sites()

    def common_at_minor_site(row) -> bool:
        return (row.build, row.norm_pos, row.norm_ref, row.norm_alt) in common

    return findings_of(
        result.annotations, result.table, result.patients, site_values, header,
        common_at_minor_site,
    )  # fmt: skip


def cmd_annotate(args: argparse.Namespace) -> int:
    from nlrp3annot.io.writers import (
        write_json,
        write_patients,
        write_skipped,
        write_tsv,
        write_vcf,
    )
    from nlrp3annot.runner.batch import annotate_files

    paths = input_paths(args)
    fmt = _output_format(args.format, args.output)
    skipped_file = args.skipped or (_skipped_path(args.output) if args.output else None)
    inputs = [*paths, args.list, args.fasta, *(getattr(args, "gff", None) or [])]
    check_outputs([args.output, skipped_file, args.patients], inputs)
    if fmt == "vcf" and len(paths) > 1:
        raise Nlrp3AnnotError("VCF output takes one input file; use TSV or JSON for many")
    options = mosaic_options(args)
    coverage = coverage_files(args)
    bar = _progress(paths, args.quiet)
    task = bar.add_task("", total=len(paths)) if bar else None

    def done(path: str, result, error: str) -> None:
        if bar is not None:  # a live bar: print above it, and keep per-file detail short
            bar.update(task, advance=1, description=Path(path).name)
            if error:
                bar.console.print(f"nlrp3annot: error: {error}", markup=False, highlight=False)
            return
        if error:
            print(f"nlrp3annot: error: {error}", file=sys.stderr)
        elif not args.quiet:
            _report_file(result.summary, result.skipped, bool(args.output or args.skipped))

    jobs, scheduler = _parallel(args)
    checkpoint = _checkpoint(args)

    def run():
        return annotate_files(
            paths, args.fasta, args.build, options, done, _choice(args), jobs, scheduler,
            checkpoint=checkpoint, keep_lines=fmt == "vcf", coverage=coverage,
            shown=getattr(args, "shown", None),
        )  # fmt: skip

    if bar is not None:
        with bar:
            result = run()
    else:
        result = run()
    if len(paths) == 1 and result.failures:
        return EXIT_USER_ERROR
    if bar is not None:
        per_file = result.summary["per_file"]
        print(
            f"nlrp3annot: {len(per_file)} files annotated: "
            f"{sum(f['alleles_annotated'] for f in per_file)} alleles, "
            f"{sum(f['alleles_skipped'] for f in per_file)} skipped, "
            f"{sum(f['ref_mismatches'] for f in per_file)} REF mismatches",
            file=sys.stderr,
        )
    redactor = redactor_of(args)
    if redactor is not None:  # every output below names pseudonyms only
        result = redactor.result(result)
    # The outputs are one set: remove the previous run's before writing any, so a kill in
    # between leaves new files and missing ones, never a new file beside an old one.
    for previous in (args.output, skipped_file, args.patients):
        if previous and previous != "-" and Path(previous).is_file():
            Path(previous).unlink()
    if fmt == "json":
        write_json(result, args.output)
    elif fmt == "vcf":
        findings = _vcf_findings(result, args)
        write_vcf(result, paths[0], args.output, redactor, findings)
    else:
        write_tsv(result, args.output)
    if skipped_file:
        write_skipped(result.skipped, skipped_file)
        if result.skipped and not args.quiet:
            print(f"nlrp3annot: skipped alleles listed in {skipped_file}", file=sys.stderr)
    if args.patients:
        write_patients(result, args.patients)
        if not args.quiet:
            counts = Counter(str(p["status"]) for p in result.patients)
            text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            print(
                f"nlrp3annot: {len(result.patients)} samples in {args.patients}: {text}",
                file=sys.stderr,
            )
    if result.failures:
        print(
            f"nlrp3annot: {len(result.failures)} of {len(paths)} files failed (see above); "
            f"the others are in the output",
            file=sys.stderr,
        )
        return EXIT_SOME_FAILED
    if checkpoint is not None and not getattr(args, "resume_folder", None):
        checkpoint.clear()  # every output is written: nothing left to resume
    return 0


def _checkpoint(args: argparse.Namespace):
    """The store of finished files for --resume (None without it)."""
    from nlrp3annot.runner.checkpoint import Checkpoint

    folder = getattr(args, "resume_folder", None)
    if folder is None and args.output:
        output = Path(args.output)
        folder = output.with_name(f".{output.name}.resume")
    if not getattr(args, "resume", False):
        if folder is not None and Checkpoint(folder).count() and not args.quiet:
            print(
                f"nlrp3annot: note: an interrupted run kept finished files in {folder}/; "
                "add --resume to skip them",
                file=sys.stderr,
            )
        return None
    if folder is None:
        raise Nlrp3AnnotError("--resume needs -o: the finished files are kept beside the output")
    checkpoint = Checkpoint(folder)
    if checkpoint.count() and not args.quiet:
        print(
            f"nlrp3annot: resuming: finished files kept in {folder}/ are not annotated again",
            file=sys.stderr,
        )
    return checkpoint


def coverage_files(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """``--coverage`` as (sample or "", path) pairs, each file checked before any work."""
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.io.coverage_files import parse_coverage_option

    pairs = parse_coverage_option(getattr(args, "coverage", None))
    for _, path in pairs:
        if not Path(path).is_file():
            raise InputFileError(
                Path(path), "no such coverage file", "give a mosdepth or callable-regions BED"
            )
    return tuple((sample, str(Path(path).resolve())) for sample, path in pairs)


def mosaic_options(args: argparse.Namespace):
    """The mosaic-test options, checked: a depth of at least 1 read, 0 < alpha < 1, an
    allele fraction in (0, 1], a noise floor in [0, 1) and at least 1 ALT read (NaN and
    out-of-range values are refused, not used)."""
    from nlrp3annot.patients.zygosity import MosaicOptions

    if not args.min_depth >= 1:
        raise Nlrp3AnnotError(f"--min-depth {args.min_depth}: give a number of reads, 1 or more")
    if not 0 < args.mosaic_alpha < 1:
        raise Nlrp3AnnotError(f"--mosaic-alpha {args.mosaic_alpha}: give a P value between 0 and 1")
    if not 0 < args.max_mosaic_vaf <= 1:
        raise Nlrp3AnnotError(
            f"--max-mosaic-vaf {args.max_mosaic_vaf}: give an allele fraction above 0, at most 1"
        )
    # run and demo build their annotate arguments themselves: defaults where not given
    noise_floor = getattr(args, "noise_floor", MosaicOptions.noise_floor)
    min_alt_reads = getattr(args, "min_alt_reads", MosaicOptions.min_alt_reads)
    if not 0 <= noise_floor < 1:
        raise Nlrp3AnnotError(
            f"--noise-floor {noise_floor}: give a per-base error rate, at least 0, below 1"
        )
    if not min_alt_reads >= 1:
        raise Nlrp3AnnotError(f"--min-alt-reads {min_alt_reads}: give a number of reads, 1 or more")
    return MosaicOptions(
        min_depth=args.min_depth,
        alpha=args.mosaic_alpha,
        max_vaf=args.max_mosaic_vaf,
        noise_floor=noise_floor,
        min_alt_reads=min_alt_reads,
    )


def check_outputs(outputs: list, inputs: list) -> None:
    """Refuse, before any work, an output path that would replace an input, a folder or a
    device (one line, exit 2); writing is atomic, so a refused run leaves nothing behind."""
    given = {Path(p).resolve() for p in inputs if p}
    for output in outputs:
        if not output:
            continue
        out = Path(output)
        existing = next((d for d in out.parents if d.exists()), None)
        if existing is not None and not existing.is_dir():
            raise Nlrp3AnnotError(
                f"{out}: {existing} is a file, not a folder; give an output path in a folder"
            )
        if out.is_dir():
            raise Nlrp3AnnotError(f"{out}: is a folder; give a file name for this output")
        if out.exists() and not out.is_file():
            raise Nlrp3AnnotError(f"{out}: is not a regular file; give a file name to write")
        if out.resolve() in given:
            raise Nlrp3AnnotError(
                f"{out}: is also an input of this run; give the output another name"
            )


def _parallel(args: argparse.Namespace) -> tuple[int, str | None]:
    from nlrp3annot.runner.parallel import default_jobs

    jobs = getattr(args, "jobs", None)
    if jobs is None:
        jobs = default_jobs()
    if jobs < 1:
        raise Nlrp3AnnotError(f"--jobs {jobs}: give 1 or more worker processes")
    return jobs, getattr(args, "scheduler", None)


def _report_file(summary: dict, skipped: list, listed: bool) -> None:
    outside = summary["records_outside_locus"]
    outside_text = "not read (indexed fetch)" if outside is None else str(outside)
    print(
        f"nlrp3annot: {summary['file']}: {summary['build']}, sequence {summary['sequence']}; "
        f"{summary['alleles_annotated']} alleles annotated, {summary['alleles_skipped']} "
        f"skipped, records outside the NLRP3 locus: {outside_text}",
        file=sys.stderr,
    )
    for text in summary.get("warnings", []):
        print(f"nlrp3annot: warning: {text}", file=sys.stderr)
    for reason in summary.get("transcripts_refused", []):
        print(f"nlrp3annot: warning: transcript left out: {reason}", file=sys.stderr)
    mine = [x for x in skipped if x.path == summary["file"]]
    for reason, n in Counter(x.reason for x in mine).most_common():
        print(f"nlrp3annot:   skipped {n}: {reason}", file=sys.stderr)
    if not listed:
        for x in mine:
            print(
                f"nlrp3annot:   skipped {x.chrom}:{x.pos} {x.ref}>{x.alt}: {x.reason}",
                file=sys.stderr,
            )
    if summary["ref_mismatches"]:
        print(
            f"nlrp3annot: warning: {summary['ref_mismatches']} rows have a REF that differs "
            f"from the reference (column ref_mismatch); check the FASTA and the VCF's build",
            file=sys.stderr,
        )


def cmd_reference_fetch(args: argparse.Namespace) -> int:
    from nlrp3annot.genome.fetch import fetch_locus

    builds = ["GRCh38", "GRCh37"] if args.build == "both" else [args.build]
    for build in builds:
        if not args.no_sequence:
            path = fetch_locus(build, source=args.source, base_url=args.url)
            if not args.quiet:
                print(
                    f"nlrp3annot: {build} NLRP3 locus verified and cached at {path}",
                    file=sys.stderr,
                )
        if args.transcripts == "all":
            from nlrp3annot.genome.ensembl_transcripts import fetch_ensembl_transcripts

            path = fetch_ensembl_transcripts(build, base_url=args.transcripts_url or args.url)
            if not args.quiet:
                print(
                    f"nlrp3annot: {build} NLRP3 transcript models cached at {path}; use "
                    "them with 'annotate --transcripts all'",
                    file=sys.stderr,
                )
    return 0


def redactor_of(args: argparse.Namespace):
    """The Redactor of --redact SALT_FILE (the same one for the whole run), or None."""
    path = getattr(args, "redact", None)
    if not path:
        return None
    from nlrp3annot.io.redact import Redactor

    cached = getattr(args, "_redactor", None)
    if cached is None:
        cached = Redactor.from_file(path, announce=not args.quiet)
        args._redactor = cached
    return cached


def recorded_command(args: argparse.Namespace) -> list[str]:
    """The command line as the outputs record it: with --redact, every path in it (inputs,
    outputs, the salt) as its pseudonym (Redactor.path)."""
    given = getattr(args, "command_line", None) or ["nlrp3annot", *sys.argv[1:]]
    command = [str(word) for word in given]
    redactor = redactor_of(args)
    if redactor is None:
        return command
    from nlrp3annot.cli_parser import literal_options

    return redactor.command(command, literal_options())


def cmd_lookup(args: argparse.Namespace) -> int:
    import json

    from nlrp3annot.knowledge.lookup import LOOKUP_COLUMNS, lookup

    rows = lookup(args.query, transcript=args.transcript)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\t".join(LOOKUP_COLUMNS))
        for row in rows:
            print("\t".join(str(row[c]) for c in LOOKUP_COLUMNS))
    if not rows:
        print(f"nlrp3annot: {args.query}: not in the ClinVar table", file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0


def cmd_knowledge_update(args: argparse.Namespace) -> int:
    from nlrp3annot.knowledge.clinvar import load_clinvar
    from nlrp3annot.knowledge.clinvar_update import update_clinvar

    path = update_clinvar(base_url=args.url)
    table = load_clinvar(path)
    if not args.quiet:
        print(
            f"nlrp3annot: ClinVar NLRP3 table refreshed: {len(table)} variants in {path}; "
            f"later runs use it (the bundled table is kept)",
            file=sys.stderr,
        )
    return 0


def _choice(args: argparse.Namespace):
    from nlrp3annot.runner.pipeline import TranscriptChoice

    return TranscriptChoice(
        tuple(getattr(args, "gff", []) or []),
        getattr(args, "transcripts", None),
        getattr(args, "pick", False),
    )


# command -> "module:function", imported when the command runs (the results commands pull
# in pandas and the statistics; annotate should not pay for them)
COMMANDS = {
    "annotate": "cli:cmd_annotate",
    "reference fetch": "cli:cmd_reference_fetch",
    "compare": "cli_results:cmd_compare",
    "run": "cli_results:cmd_run",
    "demo": "cli_results:cmd_demo",
    "plan": "cli_results:cmd_plan",
    "lab-profile": "cli_results:cmd_lab_profile",
    "report": "cli_results:cmd_report",
    "scan": "cli_scan:cmd_scan",
    "lookup": "cli:cmd_lookup",
    "knowledge update": "cli:cmd_knowledge_update",
}


def _command(action: str):
    import importlib

    module, function = COMMANDS[action].split(":")
    return getattr(importlib.import_module(f"nlrp3annot.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    from nlrp3annot.cli_parser import build_parser

    args = build_parser().parse_args(argv)
    # as the user typed it (the results record it): argv in-process, else this process's
    args.command_line = ["nlrp3annot", *(argv if argv is not None else sys.argv[1:])]
    try:
        return _command(args.action)(args)
    except Nlrp3AnnotError as exc:
        print(f"nlrp3annot: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # the environment: a path under a file, a full disk, permissions
        if isinstance(exc, BrokenPipeError):
            return 0
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc)
        print(
            f"nlrp3annot: error: {where}{reason}; check the path, its permissions and free space",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except RuntimeError as exc:  # pathlib's only user-facing one: a symbolic link loop
        if not str(exc).startswith("Symlink loop"):
            raise
        where = str(exc).removeprefix("Symlink loop from ").strip("'")
        print(f"nlrp3annot: error: {where}: is a symbolic link that loops back on itself "
              "(point it at the real file)", file=sys.stderr)  # fmt: skip
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nlrp3annot: interrupted", file=sys.stderr)
        return 130


def console() -> None:
    """The ``nlrp3annot`` command: :func:`main`, then leave without tearing the interpreter
    down object by object (40 ms after an 11,000-allele run). Every output file is complete
    and renamed by then; the standard streams are flushed here. With other threads alive
    (a Dask client), the normal exit runs instead."""
    import threading

    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # a reader like `head` went away: the output it wanted is out
        pass
    os._exit(code)


if __name__ == "__main__":
    console()
