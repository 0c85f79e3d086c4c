"""``nlrp3annot scan``: BAM/CRAM reads in, a VCF per sample and one TSV out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlrp3annot.errors import Nlrp3AnnotError


def scan_settings(args: argparse.Namespace):
    """(CallSettings, ReadFilters) from the options, checked."""
    from nlrp3annot.reads.calling import CallSettings
    from nlrp3annot.reads.pileup import ReadFilters

    if not args.min_depth >= 1:
        raise Nlrp3AnnotError(f"--min-depth {args.min_depth}: give a number of reads, 1 or more")
    if not 0 < args.max_lod <= 1:
        raise Nlrp3AnnotError(f"--max-lod {args.max_lod}: give an allele fraction in (0, 1]")
    for name in ("min_mapq", "min_baseq"):
        if getattr(args, name) < 0:
            raise Nlrp3AnnotError(f"--{name.replace('_', '-')}: give 0 or more")
    return (
        CallSettings(min_depth=args.min_depth, max_lod=args.max_lod),
        ReadFilters(args.min_mapq, args.min_baseq, not args.no_proper_pairs),
    )


def alignment_paths(args: argparse.Namespace) -> list[str]:
    from nlrp3annot.cli import input_paths

    if not args.alignments and not args.list:
        raise Nlrp3AnnotError("no input: give BAM/CRAM files or --list FILE")
    return input_paths(argparse.Namespace(vcf=args.alignments or [], list=args.list))


def run_scan(paths: list[str], fasta: str, folder: Path, args) -> list[Path]:
    """Scan and write; the per-sample VCFs."""
    from nlrp3annot.cli import redactor_of
    from nlrp3annot.reads.scan import scan_alignments
    from nlrp3annot.reads.scan_output import write_scan

    settings, filters = scan_settings(args)
    result = scan_alignments(paths, fasta, settings, filters)
    redactor = redactor_of(args)
    if redactor is not None:  # pseudonyms before anything is written (names, paths, header)
        for sample in result.samples:
            sample.counts.sample = redactor(sample.sample)
            sample.counts.path = redactor.path(sample.path)
    vcfs, tsv = write_scan(result, folder)
    if not getattr(args, "quiet", False):
        for sample in result.samples:
            calls = ", ".join(f"{c.pos}{c.ref}>{c.alt} {c.vaf:.1%}" for c in sample.calls)
            lod = "unknown" if sample.lod is None else f"{sample.lod:.1%}"
            print(
                f"nlrp3annot: scan {sample.sample}: {len(sample.calls)} call(s)"
                f"{': ' + calls if calls else ''}; limit of detection at the known "
                f"pathogenic alleles {lod}",
                file=sys.stderr,
            )
        print(f"nlrp3annot: scan results in {folder}/ ({tsv.name} and one VCF a sample)",
              file=sys.stderr)  # fmt: skip
    return vcfs


def cmd_scan(args: argparse.Namespace) -> int:
    run_scan(alignment_paths(args), args.fasta, Path(args.output), args)
    return 0
