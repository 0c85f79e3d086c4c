"""``nlrp3annot scan``: BAM/CRAM reads in, a VCF per sample and one TSV out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlrp3annot.errors import Nlrp3AnnotError


def scan_settings(args: argparse.Namespace):
    """(CallSettings, ReadFilters) from the options, checked."""
    from nlrp3annot.reads.alignments import ReadFilters
    from nlrp3annot.reads.settings import CallSettings

    if not args.min_depth >= 1:
        raise Nlrp3AnnotError(f"--min-depth {args.min_depth}: give a number of reads, 1 or more")
    if not 0 < args.max_lod <= 1:
        raise Nlrp3AnnotError(f"--max-lod {args.max_lod}: give an allele fraction in (0, 1]")
    for name in ("min_mapq", "min_baseq"):
        if getattr(args, name) < 0:
            raise Nlrp3AnnotError(f"--{name.replace('_', '-')}: give 0 or more")
    umi = getattr(args, "umi_tag", None)
    if umi is not None and not (len(umi) == 2 and umi.isalnum()):
        raise Nlrp3AnnotError(f"--umi-tag {umi!r}: give a two-character SAM tag such as RX")
    from_name = bool(getattr(args, "umi_from_name", False))
    if umi is not None and from_name:
        raise Nlrp3AnnotError(
            f"--umi-tag {umi} and --umi-from-name: the UMIs are in a tag or in the read "
            "name, give one of the two"
        )
    primers = getattr(args, "primers", None)
    if primers is not None and not Path(primers).is_file():
        raise Nlrp3AnnotError(f"--primers {primers}: no such file (give the assay's primer BED)")
    return (
        CallSettings(min_depth=args.min_depth, max_lod=args.max_lod),
        ReadFilters(
            args.min_mapq,
            args.min_baseq,
            not args.no_proper_pairs,
            umi,
            primers=str(primers) if primers else None,
            umi_from_name=from_name,
            umi_auto=not getattr(args, "no_umi", False),
        ),  # fmt: skip
    )


def alignment_paths(args: argparse.Namespace) -> list[str]:
    from nlrp3annot.cli import input_paths

    if not args.alignments and not args.list:
        raise Nlrp3AnnotError("no input: give BAM/CRAM files or --list FILE")
    return input_paths(argparse.Namespace(vcf=args.alignments or [], list=args.list))


def panel_of(args: argparse.Namespace):
    """The --panel file, loaded (None without one)."""
    if not getattr(args, "panel", None):
        return None
    from nlrp3annot.reads.panel import load_panel

    return load_panel(args.panel)


def run_scan(paths: list[str], fasta: str, folder: Path, args) -> list[Path]:
    """Scan and write; the per-sample VCFs."""
    from nlrp3annot.cli import redactor_of
    from nlrp3annot.reads.scan import scan_alignments
    from nlrp3annot.reads.scan_output import write_scan

    settings, filters = scan_settings(args)
    result = scan_alignments(paths, fasta, settings, filters, panel=panel_of(args))
    redactor = redactor_of(args)
    if redactor is not None:  # pseudonyms before anything is written (names, paths, header)
        for sample in result.samples:
            sample.counts.sample = redactor(sample.sample)
            sample.counts.path = ",".join(redactor.path(p) for p in sample.path.split(","))
            # replicate libraries: LB tags may be named after the patient too
            plain = {lb: f"lib{i + 1}" for i, lb in enumerate(sample.libraries)}
            sample.libraries = tuple(plain.values())
            for c in sample.candidates:
                c.called_in = tuple(plain[lb] for lb in c.called_in)
    vcfs, tsv = write_scan(result, folder)
    if not getattr(args, "quiet", False):
        for sample in result.samples:
            calls = ", ".join(f"{c.pos}{c.ref}>{c.alt} {c.vaf:.1%}" for c in sample.calls)
            print(
                f"nlrp3annot: scan {sample.sample}: {sample.assay.describe()}; "
                f"{len(sample.calls)} call(s)"
                f"{': ' + calls if calls else ''}; {sample.limits.describe()}",
                file=sys.stderr,
            )
        amplicons = ", scan_amplicons.tsv" if (folder / "scan_amplicons.tsv").exists() else ""
        print(f"nlrp3annot: scan results in {folder}/ ({tsv.name}{amplicons} and one VCF a "
              "sample)", file=sys.stderr)  # fmt: skip
    return vcfs


def make_panel(paths: list[str], fasta: str, out: Path, args) -> Path:
    """Count the normals' reads into a panel file."""
    from nlrp3annot.reads.panel import save_panel
    from nlrp3annot.reads.scan import read_counts

    if out.suffix != ".npz":
        raise Nlrp3AnnotError(f"-o {out}: a panel of normals is written as a .npz file")
    if getattr(args, "panel", None):
        raise Nlrp3AnnotError("--make-panel makes a panel: give no --panel")
    _, filters = scan_settings(args)
    *_, filters, counts = read_counts(paths, fasta, filters)
    counts = _files(counts)
    save_panel(out, counts, filters)
    if not getattr(args, "quiet", False):
        depth = sorted(int(c.depth.mean()) for c in counts)
        print(f"nlrp3annot: panel of {len(counts)} normals (mean depth {depth[0]:,}-"
              f"{depth[-1]:,} fragments) in {out}", file=sys.stderr)  # fmt: skip
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
    paths = alignment_paths(args)
    if args.make_panel:
        make_panel(paths, args.fasta, Path(args.output), args)
    else:
        run_scan(paths, args.fasta, Path(args.output), args)
    return 0
