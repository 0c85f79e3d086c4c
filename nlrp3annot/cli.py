"""Command line: argument parsing, messages and exit codes. The work is done by the library.

Exit codes: 0 success; 2 a problem with the input or environment (one line on stderr);
anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from . import __version__
from .errors import Nlrp3AnnotError

EXIT_USER_ERROR = 2


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


def cmd_annotate(args: argparse.Namespace) -> int:
    from .pipeline import annotate_file
    from .report import write_json, write_skipped, write_tsv, write_vcf

    result = annotate_file(args.vcf, fasta=args.fasta, build=args.build)
    fmt = _output_format(args.format, args.output)
    if fmt == "json":
        write_json(result, args.output)
    elif fmt == "vcf":
        write_vcf(result, args.vcf, args.output)
    else:
        write_tsv(result, args.output)
    skipped_file = args.skipped or (_skipped_path(args.output) if args.output else None)
    if skipped_file:
        write_skipped(result.skipped, skipped_file)
    s = result.summary
    if not args.quiet:
        outside = s["records_outside_locus"]
        outside_text = "not read (indexed fetch)" if outside is None else str(outside)
        print(
            f"nlrp3annot: {args.vcf}: {s['build']}, sequence {s['sequence']}; "
            f"{s['alleles_annotated']} alleles annotated, {s['alleles_skipped']} skipped, "
            f"records outside the NLRP3 locus: {outside_text}",
            file=sys.stderr,
        )
        reasons = Counter(x.reason for x in result.skipped)
        for reason, n in reasons.most_common():
            print(f"nlrp3annot:   skipped {n}: {reason}", file=sys.stderr)
        if result.skipped and not skipped_file:
            for x in result.skipped:
                print(
                    f"nlrp3annot:   skipped {x.chrom}:{x.pos} {x.ref}>{x.alt}: {x.reason}",
                    file=sys.stderr,
                )
        elif skipped_file and result.skipped:
            print(f"nlrp3annot:   skipped alleles listed in {skipped_file}", file=sys.stderr)
    if s["ref_mismatches"]:
        print(
            f"nlrp3annot: warning: {s['ref_mismatches']} rows have a REF that differs from the "
            f"reference (column ref_mismatch); check the FASTA and the VCF's build",
            file=sys.stderr,
        )
    return 0


def cmd_reference_fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch_locus

    builds = ["GRCh38", "GRCh37"] if args.build == "both" else [args.build]
    for build in builds:
        path = fetch_locus(build, source=args.source, base_url=args.url)
        if not args.quiet:
            print(f"nlrp3annot: {build} NLRP3 locus verified and cached at {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlrp3annot",
        description="Find and name NLRP3 (CIAS1) variants in VCFs the way ClinVar and VEP do.",
    )
    parser.add_argument("--version", action="version", version=f"nlrp3annot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ann = sub.add_parser(
        "annotate",
        help="name every NLRP3 variant of a VCF/BCF",
        description="One row per variant allele per transcript: HGVS c./p., VEP consequence, "
        "impact, exon/intron, protein domain. Examples:\n"
        "  nlrp3annot annotate sample.vcf.gz --fasta GRCh38.fa -o out.tsv\n"
        "  nlrp3annot annotate sample.vcf.gz -o out.vcf.gz   (after 'reference fetch')",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ann.add_argument("vcf", help="VCF, VCF.gz or BCF (indexed files are read by region)")
    ann.add_argument("--fasta", help="genome FASTA (GRCh38 or GRCh37; plain or bgzip+.fai+.gzi)")
    ann.add_argument(
        "--build",
        default="auto",
        choices=["auto", "GRCh38", "GRCh37"],
        help="genome build of the VCF (default: tell from header and REF alleles)",
    )
    ann.add_argument("-o", "--output", help="output file (default: TSV on stdout)")
    ann.add_argument(
        "--format",
        choices=["tsv", "json", "vcf"],
        help="output format (default: from the -o suffix, else tsv)",
    )
    ann.add_argument(
        "--skipped",
        help="where to list skipped alleles "
        "(default: OUTPUT.skipped.tsv beside -o; stderr without -o)",
    )
    ann.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    ann.set_defaults(func=cmd_annotate)

    ref = sub.add_parser("reference", help="reference sequence commands")
    ref_sub = ref.add_subparsers(dest="reference_command", required=True)
    fetch = ref_sub.add_parser(
        "fetch", help="download and cache the NLRP3 locus (gene +/- 5 kb) for runs without --fasta"
    )
    fetch.add_argument("--build", default="GRCh38", choices=["GRCh38", "GRCh37", "both"])
    fetch.add_argument(
        "--source",
        default="ensembl",
        choices=["ensembl", "ncbi"],
        help="Ensembl REST (default) or NCBI E-utilities",
    )
    fetch.add_argument("--url", help="base URL of the service (a mirror or a local test server)")
    fetch.add_argument("-q", "--quiet", action="store_true")
    fetch.set_defaults(func=cmd_reference_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Nlrp3AnnotError as exc:
        print(f"nlrp3annot: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nlrp3annot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
