"""The command line's grammar: every command, option and help text of ``nlrp3annot``
(the option groups several commands share are in :mod:`nlrp3annot.cli.options`). Each
parser names its command in ``action``; :mod:`nlrp3annot.cli` runs it."""

from __future__ import annotations

import argparse

from nlrp3annot import __version__
from nlrp3annot.cli.options import (
    coverage_option,
    delivery_options,
    mosaic_options,
    parallel_options,
    phenopackets_option,
    plan_option,
    redact_option,
    resume_option,
    scan_options,
    transcript_options,
)


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
    ann.add_argument(
        "vcf", nargs="*", help="VCF, VCF.gz or BCF files (indexed files are read by region)"
    )
    ann.add_argument("--list", help="a file naming one VCF a line (relative to the list)")
    transcript_options(ann)
    parallel_options(ann)
    ann.add_argument("--patients", help="write the per-sample summary (TSV) here")
    ann.add_argument(
        "--min-depth",
        type=int,
        default=20,
        help="reads needed to rule a mosaic in or out (default 20)",
    )
    ann.add_argument(
        "--mosaic-alpha",
        type=float,
        default=0.01,
        help="one-sided binomial test of the ALT fraction against 0.5 (default 0.01)",
    )
    ann.add_argument(
        "--max-mosaic-vaf",
        type=float,
        default=0.40,
        help="highest allele fraction called mosaic (default 0.40)",
    )
    ann.add_argument(
        "--noise-floor",
        type=float,
        default=0.01,
        help="per-base error rate the ALT reads of a mosaic from a caller's VCF must rise "
        "above (one-sided exact binomial test at --mosaic-alpha; default 0.01, Illumina)",
    )
    ann.add_argument(
        "--min-alt-reads",
        type=int,
        default=5,
        help="ALT reads a mosaic from a caller's VCF needs at least (default 5)",
    )
    ann.add_argument("--fasta", help="genome FASTA (GRCh38 or GRCh37; plain or bgzip+.fai+.gzi)")
    ann.add_argument(
        "--build",
        default="auto",
        choices=["auto", "GRCh38", "GRCh37"],
        help="genome build of the VCF (default: tell from header and REF alleles)",
    )
    ann.add_argument("-o", "--output", help="output file (default: TSV on stdout)")
    ann.add_argument(
        "-O",
        "--format",
        "--output-format",
        dest="format",
        choices=["tsv", "json", "vcf", "xlsx"],
        help="output format (default: from the -o extension: .tsv .txt .json .vcf .vcf.gz "
        ".xlsx; tsv on stdout)",
    )
    ann.add_argument(
        "--skipped",
        help="where to list skipped alleles, always written (default: OUTPUT.skipped.tsv "
        "beside -o, a .tsv ending dropped, only when some are skipped; stderr without -o)",
    )
    ann.add_argument(
        "--locus-only",
        action="store_true",
        help="VCF output: only the annotated NLRP3 records (default: every input record, "
        "those outside the locus unchanged)",
    )
    coverage_option(ann)
    redact_option(ann)
    resume_option(ann)
    ann.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    ann.set_defaults(action="annotate")

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
    fetch.add_argument(
        "--transcripts",
        choices=["all"],
        help="also download every NLRP3 transcript model (Ensembl REST)",
    )
    fetch.add_argument("--transcripts-url", help="base URL of Ensembl REST for the models")
    fetch.add_argument(
        "--no-sequence",
        action="store_true",
        help="skip the locus sequence (with --transcripts all: only the models)",
    )
    fetch.add_argument("-q", "--quiet", action="store_true")
    fetch.set_defaults(action="reference fetch")

    rules = ["strict", "germline_only", "vus_as_positive"]
    comp = sub.add_parser(
        "compare",
        help="join genotypes to treatment response and compare mutation-positive and -negative",
        description="Example: nlrp3annot compare --genotypes patients.tsv --clinical "
        "response.xlsx --samples samples.csv -o results/",
    )
    comp.add_argument(
        "--genotypes",
        required=True,
        nargs="+",
        help="patient summary from 'annotate --patients', or several (a per-sample "
        "workflow's: read as one; a sample in two must have the same row in both)",
    )
    comp.add_argument("--clinical", required=True, help="CSV/TSV/XLSX, long or wide")
    comp.add_argument(
        "--samples",
        required=True,
        help="samples sheet: patient_id, sample_id, withdrawal_day, flare_day ...",
    )
    comp.add_argument("-o", "--output", required=True, help="results folder")
    comp.add_argument(
        "--group-rule",
        choices=rules,
        help="status -> group (default: the plan's, strict: VUS and not-assessable apart)",
    )
    plan_option(comp)
    redact_option(comp)
    comp.add_argument("-q", "--quiet", action="store_true")
    comp.set_defaults(action="compare")

    run = sub.add_parser(
        "run",
        help="annotate VCFs (and scan BAM/CRAM reads), then compare with the clinical table",
    )
    run.add_argument("vcf", nargs="*", help="VCF/BCF files, and BAM/CRAM files to scan")
    run.add_argument("--list")
    run.add_argument("--fasta")
    run.add_argument("--build", default="auto", choices=["auto", "GRCh38", "GRCh37"])
    transcript_options(run)
    parallel_options(run)
    run.add_argument("--clinical", required=True)
    run.add_argument("--samples", required=True)
    run.add_argument("-o", "--output", required=True)
    run.add_argument("--group-rule", choices=rules, help="default: the plan's")
    plan_option(run)
    coverage_option(run)
    redact_option(run)
    resume_option(run)
    run.add_argument("-q", "--quiet", action="store_true")
    mosaic_options(run)
    scan_options(run, depth=False)
    run.add_argument(
        "--allow-missing", action="store_true",
        help="go on without a BAM/CRAM that cannot be read or whose sample the samples "
        "sheet does not list (listed in annotation/alignments.skipped.tsv)",
    )  # fmt: skip
    phenopackets_option(run)
    delivery_options(run)
    run.set_defaults(action="run")

    scan = sub.add_parser(
        "scan",
        help="find low-fraction (mosaic) NLRP3 alleles in BAM/CRAM reads",
        description="Counts the fragments over the NLRP3 coding exons and splice sites "
        "(through the index; overlapping mates once), tests every allele against its error "
        "background (the other samples', a panel's and the sample's own, per strand and read "
        "orientation), calls it only where its strand and orientation split is not unlike the "
        "other fragments' (Fisher), and "
        "writes OUTPUT/<sample>.scan.vcf.gz (calls and coverage blocks, "
        "for annotate and run) and OUTPUT/scan.tsv (every candidate and known pathogenic "
        "allele, with the limits of detection). Examples:\n"
        "  nlrp3annot scan P19.bam P20.cram --fasta GRCh38.fa -o scan/\n"
        "  nlrp3annot scan --make-panel normals/*.bam --fasta GRCh38.fa -o panel.npz\n"
        "  nlrp3annot scan P21.bam --panel panel.npz --fasta GRCh38.fa -o scan/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("alignments", nargs="*", help="indexed BAM or CRAM files")
    scan.add_argument("--list", help="a file naming one BAM/CRAM a line")
    scan.add_argument("--fasta", required=True, help="the genome the reads were aligned to")
    scan.add_argument("-o", "--output", required=True, help="output folder (with "
                      "--make-panel: the panel file, .npz)")  # fmt: skip
    scan.add_argument(
        "--make-panel",
        action="store_true",
        help="count the reads of samples known to be negative into a panel of normals "
        "(-o panel.npz) instead of calling them",
    )
    scan_options(scan)
    scan.add_argument("-q", "--quiet", action="store_true")
    scan.set_defaults(action="scan")

    demo = sub.add_parser("demo", help="run the whole chain on the bundled SYNTHETIC cohort")
    demo.add_argument("-o", "--output", default="nlrp3annot-demo")
    demo.add_argument("--group-rule", choices=rules, help="default: the plan's")
    plan_option(demo)
    redact_option(demo)
    demo.add_argument("-q", "--quiet", action="store_true")
    mosaic_options(demo)
    scan_options(demo, depth=False)
    parallel_options(demo)
    phenopackets_option(demo)
    delivery_options(demo)
    demo.set_defaults(action="demo")

    report = sub.add_parser(
        "report",
        help="one printable HTML page per patient from a results folder of run or demo",
        description="Writes OUTDIR/<patient>.html for every patient of RESULTS_DIR (or those "
        "named), a clinical report to sign: the laboratory and signatories (--lab), patient, "
        "specimen and referral (samples-sheet columns), the result in plain words, the "
        "variants on MANE and genomic with legacy names, zygosity or mosaic fraction with "
        "its 95%% CI and tissue, ClinVar's class as ClinVar states it (stars, record, rs, "
        "last evaluated), interpretation and recommendations, coverage and the limit of "
        "detection behind a negative, method and limitations; OUTDIR/index.tsv names each "
        "patient's files. run and demo write the same pages into RESULTS_DIR/patients/. "
        "Example:\n"
        "  nlrp3annot report results/ P01 P09 -o pages/ --lab lab.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("results", metavar="RESULTS_DIR", help="a results folder of run or demo")
    report.add_argument(
        "patients", nargs="*", metavar="PATIENT", help="patient IDs (default: every patient)"
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        help="folder for the pages (default: RESULTS_DIR/patients, where run wrote them: "
        "the same results give the same pages)",
    )
    phenopackets_option(report)
    delivery_options(report)
    report.add_argument("-q", "--quiet", action="store_true")
    report.set_defaults(action="report")

    plan = sub.add_parser(
        "plan",
        help="print the default statistical analysis plan (TOML, every key explained)",
        description="Prints the default plan (the NEJM 2006 study's end points) to copy, "
        "edit and give to compare/run/demo with --plan. Example:\n"
        "  nlrp3annot plan > plan.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.set_defaults(action="plan")

    lab = sub.add_parser(
        "lab-profile",
        help="print the documented example laboratory profile for the patient pages (TOML)",
        description="Prints the example profile (laboratory, accreditation, signatories, "
        "method, assay performance, disclaimers) to copy, fill in and give to "
        "run/demo/report with --lab. Example:\n"
        "  nlrp3annot lab-profile > lab.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lab.set_defaults(action="lab-profile")

    look = sub.add_parser(
        "lookup",
        help="find a known variant by a legacy or HGVS name (R260W, p.Arg262Trp, c.907G>A)",
        description="Legacy names use MANE numbering (R260W); with --transcript NM_004895.4 "
        "(or NP_004886.3 in the name) numbers are UniProt/LRG_197 (R262W). Prints the variant "
        "on GRCh38 and GRCh37 with its HGVS names and ClinVar status.",
    )
    look.add_argument("query")
    look.add_argument("--transcript", help="the transcript the name's numbering refers to")
    look.add_argument("--json", action="store_true")
    look.set_defaults(action="lookup")

    know = sub.add_parser("knowledge", help="known-variant tables (ClinVar)")
    know_sub = know.add_subparsers(dest="knowledge_command", required=True)
    update = know_sub.add_parser(
        "update", help="download the NLRP3 ClinVar records from NCBI into a new dated table"
    )
    update.add_argument("--url", help="base URL of NCBI E-utilities (a mirror or test server)")
    update.add_argument("-q", "--quiet", action="store_true")
    update.set_defaults(action="knowledge update")
    return parser


# options whose values are not paths, besides those that take a number or a choice
_LITERAL_OPTIONS = {"--transcripts", "--scheduler", "--umi-tag"}


def literal_options() -> set[str]:
    """The options whose value is not a path (a number, a choice, an address): a command
    line recorded with --redact keeps their values (io.redact.Redactor.command)."""
    literal = set(_LITERAL_OPTIONS)
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
            elif action.nargs == 0:
                continue  # a flag: the next word is not its value
            elif action.choices is not None or action.type in (int, float):
                literal.update(action.option_strings)
    return literal
