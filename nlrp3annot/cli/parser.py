"""The command line's grammar: every command, option and help text of ``nlrp3annot``
(the option groups several commands share are in :mod:`nlrp3annot.cli.options`). Each
parser names its command in ``action``; :mod:`nlrp3annot.cli` runs it."""

from __future__ import annotations

import argparse

from nlrp3annot import __version__
from nlrp3annot.cli.options import (
    ERROR_RATE,
    FRACTION,
    P_VALUE,
    READS,
    CommandParser,
    Number,
    coverage_option,
    delivery_options,
    genotyped_only_option,
    mosaic_options,
    parallel_options,
    phenopackets_option,
    plan_option,
    redact_option,
    resume_option,
    scan_options,
    transcript_options,
    verbose_option,
)

GROUP_RULES = ["strict", "germline_only", "vus_as_positive"]


def _group_rule_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--group-rule",
        choices=GROUP_RULES,
        help="status -> group (default: the plan's, strict: VUS and not-assessable apart)",
    )


def _comparison_options(p: argparse.ArgumentParser) -> None:
    """What ``compare`` and ``run`` both take to compare: the clinical table, the samples
    sheet, the results folder, the group rule, the plan, --genotyped-only."""
    p.add_argument(
        "--clinical",
        required=True,
        metavar="TABLE",
        help="treatment-response table: CSV/TSV/XLSX, long or wide",
    )
    p.add_argument(
        "--samples",
        required=True,
        metavar="SHEET",
        help="samples sheet: patient_id, sample_id, withdrawal_day, flare_day ...",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="results folder")
    _group_rule_option(p)
    plan_option(p)
    genotyped_only_option(p)


def _command(sub, name: str, summary: str, description: str, examples: list[str]):
    """A (sub)command's parser: ``summary`` in its parent's list of commands, the
    description and examples (``nlrp3annot ...`` lines, each shown as written) in its
    ``--help``."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples),
    )


def _subcommands(parser: argparse.ArgumentParser, dest: str):
    return parser.add_subparsers(
        dest=dest, required=True, metavar="COMMAND", help="one of these (each has --help)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="nlrp3annot",
        description="Find and name NLRP3 (CIAS1) variants in VCFs the way ClinVar and VEP "
        "do, find mosaics in BAM/CRAM reads, and join genotypes to treatment response. "
        "'nlrp3annot COMMAND --help' explains a command's options.",
        epilog="examples:\n"
        "  nlrp3annot demo -o demo/                 (the whole chain on a SYNTHETIC cohort)\n"
        "  nlrp3annot annotate sample.vcf.gz --fasta GRCh38.fa -o calls.tsv\n"
        "  nlrp3annot lookup R260W",
    )
    parser.add_argument("--version", action="version", version=f"nlrp3annot {__version__}")
    sub = _subcommands(parser, "command")

    ann = _command(
        sub, "annotate", "name every NLRP3 variant of a VCF/BCF",
        "One row per variant allele per transcript: HGVS c./p., VEP consequence, impact, "
        "exon/intron, protein domain; with --patients, each sample's status (germline, "
        "mosaic, negative, not assessable). Alleles that cannot be named are listed with "
        "their reason.",
        ["nlrp3annot annotate sample.vcf.gz --fasta GRCh38.fa -o out.tsv",
         "nlrp3annot annotate sample.vcf.gz -o out.vcf.gz   (after 'reference fetch')",
         "nlrp3annot annotate --list vcfs.txt --fasta GRCh38.fa -o calls.tsv "
         "--patients patients.tsv"],
    )  # fmt: skip
    ann.add_argument(
        "vcf",
        nargs="*",
        metavar="VCF",
        help="VCF, VCF.gz or BCF files (indexed files are read by region; or --list)",
    )
    ann.add_argument(
        "--list", metavar="FILE", help="a file naming one VCF a line (relative to the list)"
    )
    transcript_options(ann)
    parallel_options(ann)
    ann.add_argument("--patients", metavar="TSV", help="write the per-sample summary (TSV) here")
    ann.add_argument(
        "--min-depth",
        type=READS,
        default=20,
        metavar="READS",
        help="reads needed to rule a mosaic in or out (default 20)",
    )
    ann.add_argument(
        "--mosaic-alpha",
        type=P_VALUE,
        default=0.01,
        metavar="P",
        help="one-sided binomial test of the ALT fraction against 0.5 (default 0.01)",
    )
    ann.add_argument(
        "--max-mosaic-vaf",
        type=FRACTION,
        default=0.40,
        metavar="FRACTION",
        help="highest allele fraction called mosaic (default 0.40)",
    )
    ann.add_argument(
        "--noise-floor",
        type=ERROR_RATE,
        default=0.01,
        metavar="RATE",
        help="per-base error rate the ALT reads of a mosaic from a caller's VCF must rise "
        "above (one-sided exact binomial test at --mosaic-alpha; default 0.01, Illumina)",
    )
    ann.add_argument(
        "--min-alt-reads",
        type=READS,
        default=5,
        metavar="READS",
        help="ALT reads a mosaic from a caller's VCF needs at least (default 5)",
    )
    ann.add_argument("--fasta", help="genome FASTA (GRCh38 or GRCh37; plain or bgzip+.fai+.gzi)")
    ann.add_argument(
        "--build",
        default="auto",
        choices=["auto", "GRCh38", "GRCh37"],
        help="genome build of the VCF (default: auto, told from the header and REF alleles)",
    )
    ann.add_argument("-o", "--output", metavar="FILE", help="output file (default: TSV on stdout)")
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
        metavar="TSV",
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
    verbose_option(ann)
    ann.set_defaults(action="annotate")

    ref = _command(
        sub, "reference", "reference sequence commands",
        "Download and cache what runs without --fasta need: the NLRP3 locus sequence and, "
        "with --transcripts all, every NLRP3 transcript model.",
        ["nlrp3annot reference fetch", "nlrp3annot reference fetch --build both"],
    )  # fmt: skip
    ref_sub = _subcommands(ref, "reference_command")
    fetch = _command(
        ref_sub, "fetch",
        "download and cache the NLRP3 locus (gene +/- 5 kb) for runs without --fasta",
        "Downloads the NLRP3 locus (gene +/- 5 kb) of one or both builds into the cache, "
        "so that annotate and run work without --fasta; with --transcripts all, also every "
        "NLRP3 transcript model (for annotate --transcripts all or an accession).",
        ["nlrp3annot reference fetch",
         "nlrp3annot reference fetch --build both --transcripts all",
         "nlrp3annot reference fetch --source ncbi --build GRCh37"],
    )  # fmt: skip
    fetch.add_argument(
        "--build",
        default="GRCh38",
        choices=["GRCh38", "GRCh37", "both"],
        help="genome build of the locus to download (default: GRCh38)",
    )
    fetch.add_argument(
        "--source",
        default="ensembl",
        choices=["ensembl", "ncbi"],
        help="ensembl: Ensembl REST, ncbi: NCBI E-utilities (default: ensembl)",
    )
    fetch.add_argument(
        "--url", metavar="URL", help="base URL of the service (a mirror or a local test server)"
    )
    fetch.add_argument(
        "--transcripts",
        choices=["all"],
        help="also download every NLRP3 transcript model (Ensembl REST)",
    )
    fetch.add_argument(
        "--transcripts-url", metavar="URL", help="base URL of Ensembl REST for the models"
    )
    fetch.add_argument(
        "--no-sequence",
        action="store_true",
        help="skip the locus sequence (with --transcripts all: only the models)",
    )
    fetch.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    fetch.set_defaults(action="reference fetch")

    comp = _command(
        sub, "compare",
        "join genotypes to treatment response and compare mutation-positive and -negative",
        "Joins the patient summary of 'annotate --patients' to the clinical table through "
        "the samples sheet, and compares the groups by the statistical analysis plan: the "
        "results folder holds the tables, the figures and report.html.",
        ["nlrp3annot compare --genotypes patients.tsv --clinical response.xlsx "
         "--samples samples.csv -o results/",
         "nlrp3annot compare --genotypes patients.tsv --clinical response.csv "
         "--samples samples.csv -o results/ --plan plan.toml"],
    )  # fmt: skip
    comp.add_argument(
        "--genotypes",
        required=True,
        nargs="+",
        metavar="TSV",
        help="patient summary from 'annotate --patients', or several (a per-sample "
        "workflow's: read as one; a sample in two must have the same row in both)",
    )
    _comparison_options(comp)
    redact_option(comp)
    comp.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    as_run = comp.add_argument_group(
        "run's results folder from per-sample annotations (a workflow manager's jobs, "
        "as workflow/Snakefile does)"
    )
    as_run.add_argument(
        "--annotations",
        nargs="+",
        metavar="CALLS_TSV",
        help="the calls tables of 'annotate -o X.calls.tsv', one per VCF, in the order run "
        "would take the VCFs (scanned reads last): with it, compare writes the folder run "
        "writes: they, their skipped lists (X.calls.skipped.tsv beside each) and "
        "--genotypes gathered into annotation/, and a page and Phenopacket per patient "
        "(patients/, phenopackets/)",
    )
    as_run.add_argument(
        "--scan-folder",
        metavar="DIR",
        help="with --annotations: the 'scan -o' folder whose VCFs were annotated, copied "
        "into annotation/scan/ (annotate them by the path annotation/scan/<sample>."
        "scan.vcf.gz, as run names them)",
    )
    as_run.add_argument(
        "--fasta",
        help="with --annotations: the genome the VCFs were genotyped against (summary.json's "
        "genotyping, its hash, and the report's TEST GENOME banner for the test sequence)",
    )
    as_run.add_argument(
        "--min-depth",
        type=READS,
        metavar="READS",
        help="with --annotations: the --min-depth scan and annotate used (default 20)",
    )
    phenopackets_option(as_run)
    delivery_options(as_run)
    verbose_option(comp)
    comp.set_defaults(action="compare")

    run = _command(
        sub, "run",
        "annotate VCFs (and scan BAM/CRAM reads), then compare with the clinical table",
        "The whole chain into one results folder: scans the BAM/CRAM inputs for mosaics "
        "(as 'scan'), annotates every VCF/BCF (as 'annotate --patients'), compares the "
        "groups (as 'compare') and writes a page (patients/) and a Phenopacket "
        "(phenopackets/) per patient.",
        ["nlrp3annot run calls/*.vcf.gz --fasta GRCh38.fa --clinical response.xlsx "
         "--samples samples.csv -o results/",
         "nlrp3annot run P19.bam P20.cram joint.vcf.gz --fasta GRCh38.fa --clinical "
         "response.csv --samples samples.csv -o results/ --lab lab.toml"],
    )  # fmt: skip
    run.add_argument(
        "vcf",
        nargs="*",
        metavar="INPUT",
        help="VCF/BCF files to annotate and indexed BAM/CRAM files to scan (or --list)",
    )
    run.add_argument(
        "--list",
        metavar="FILE",
        help="a file naming one input (VCF/BCF/BAM/CRAM) a line (relative to the list)",
    )
    run.add_argument(
        "--fasta",
        help="genome FASTA (GRCh38 or GRCh37); needed for BAM/CRAM, else the cached locus "
        "of 'reference fetch' serves",
    )
    run.add_argument(
        "--build",
        default="auto",
        choices=["auto", "GRCh38", "GRCh37"],
        help="genome build of the inputs (default: auto, told from the header and REF alleles)",
    )
    transcript_options(run)
    parallel_options(run)
    _comparison_options(run)
    coverage_option(run)
    redact_option(run)
    resume_option(run)
    run.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    verbose_option(run)
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

    scan = _command(
        sub, "scan", "find low-fraction (mosaic) NLRP3 alleles in BAM/CRAM reads",
        "Counts the fragments over the NLRP3 coding exons and splice sites "
        "(through the index; overlapping mates once), tests every allele against its error "
        "background (the other samples', a panel's and the sample's own, per strand and read "
        "orientation), calls it only where its strand and orientation split is not unlike the "
        "other fragments' (Fisher), and "
        "writes OUTPUT/<sample>.scan.vcf.gz (calls and coverage blocks, "
        "for annotate and run) and OUTPUT/scan.tsv (every candidate and known pathogenic "
        "allele, with the limits of detection).",
        ["nlrp3annot scan P19.bam P20.cram --fasta GRCh38.fa -o scan/",
         "nlrp3annot scan --make-panel normals/*.bam --fasta GRCh38.fa -o panel.npz",
         "nlrp3annot scan P21.bam --panel panel.npz --fasta GRCh38.fa -o scan/"],
    )  # fmt: skip
    scan.add_argument(
        "alignments",
        nargs="*",
        metavar="BAM_OR_CRAM",
        help="indexed BAM or CRAM files (or --list)",
    )
    scan.add_argument("--list", metavar="FILE", help="a file naming one BAM/CRAM a line")
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
    parallel_options(scan)
    scan.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    verbose_option(scan)
    scan.set_defaults(action="scan")

    demo = _command(
        sub, "demo", "run the whole chain on the bundled SYNTHETIC cohort",
        "Runs 'run' on the bundled SYNTHETIC cohort (18 made-up NOMID patients on a test "
        "genome: VCFs, two CRAMs of deep reads, a response workbook and a samples sheet): a "
        "results folder (report.html, a page and a Phenopacket per patient) to look at "
        "before using your own data.",
        ["nlrp3annot demo", "nlrp3annot demo -o demo/ --lab lab.toml"],
    )  # fmt: skip
    demo.add_argument(
        "-o",
        "--output",
        default="nlrp3annot-demo",
        metavar="DIR",
        help="results folder (default: nlrp3annot-demo)",
    )
    _group_rule_option(demo)
    plan_option(demo)
    redact_option(demo)
    demo.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    verbose_option(demo)
    mosaic_options(demo)
    scan_options(demo, depth=False)
    parallel_options(demo)
    phenopackets_option(demo)
    delivery_options(demo)
    demo.set_defaults(action="demo")

    report = _command(
        sub, "report",
        "one printable HTML page per patient from a results folder of run or demo",
        "Writes OUTDIR/<patient>.html for every patient of RESULTS_DIR (or those "
        "named), a clinical report to sign: the laboratory and signatories (--lab), patient, "
        "specimen and referral (samples-sheet columns), the result in plain words, the "
        "variants on MANE and genomic with legacy names, zygosity or mosaic fraction with "
        "its 95% CI and tissue, ClinVar's class as ClinVar states it (stars, record, rs, "
        "last evaluated), interpretation and recommendations, coverage and the limit of "
        "detection behind a negative, method and limitations; OUTDIR/index.tsv names each "
        "patient's files. run and demo write the same pages into RESULTS_DIR/patients/.",
        ["nlrp3annot report results/ P01 P09 -o pages/ --lab lab.toml",
         "nlrp3annot report results/ --research"],
    )  # fmt: skip
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
    report.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    report.set_defaults(action="report")

    plan = _command(
        sub, "plan",
        "print the default statistical analysis plan (TOML, every key explained)",
        "Prints the default plan (the NEJM 2006 study's end points) to copy, "
        "edit and give to compare/run/demo with --plan.",
        ["nlrp3annot plan > plan.toml"],
    )  # fmt: skip
    plan.set_defaults(action="plan")

    lab = _command(
        sub, "lab-profile",
        "print the documented example laboratory profile for the patient pages (TOML)",
        "Prints the example profile (laboratory, accreditation, signatories, "
        "method, assay performance, disclaimers) to copy, fill in and give to "
        "run/demo/report with --lab.",
        ["nlrp3annot lab-profile > lab.toml"],
    )  # fmt: skip
    lab.set_defaults(action="lab-profile")

    look = _command(
        sub, "lookup",
        "find a known variant by a legacy or HGVS name (R260W, p.Arg262Trp, c.907G>A)",
        "Legacy names use MANE numbering (R260W); with --transcript NM_004895.4 "
        "(or NP_004886.3 in the name) numbers are UniProt/LRG_197 (R262W). Prints the variant "
        "on GRCh38 and GRCh37 with its HGVS names and ClinVar status.",
        ["nlrp3annot lookup R260W",
         "nlrp3annot lookup R262W --transcript NM_004895.4",
         "nlrp3annot lookup 'c.907G>A' --json"],
    )  # fmt: skip
    look.add_argument(
        "query",
        metavar="NAME",
        help="a legacy name (R260W) or an HGVS c./p. name (c.778C>T, p.Arg260Trp, "
        "NM_004895.4:c.784C>T)",
    )
    look.add_argument(
        "--transcript",
        metavar="ACCESSION",
        help="the transcript the name's numbering refers to (default: MANE Select)",
    )
    look.add_argument("--json", action="store_true", help="print JSON instead of a table")
    look.add_argument(
        "--tsv",
        action="store_true",
        help="every column as TSV (the default when stdout is not a terminal; on a terminal "
        "the default is a table of the key columns)",
    )
    look.set_defaults(action="lookup")

    know = _command(
        sub, "knowledge", "known-variant tables (ClinVar)",
        "Keep the known-variant table that names ClinVar's classes up to date.",
        ["nlrp3annot knowledge update"],
    )  # fmt: skip
    know_sub = _subcommands(know, "knowledge_command")
    update = _command(
        know_sub, "update",
        "download the NLRP3 ClinVar records from NCBI into a new dated table",
        "Downloads the NLRP3 ClinVar records through NCBI E-utilities into a new dated "
        "known-variant table in the user cache, which later runs use instead of the "
        "bundled table.",
        ["nlrp3annot knowledge update",
         "nlrp3annot knowledge update --url https://mirror.example.org/eutils"],
    )  # fmt: skip
    update.add_argument(
        "--url", metavar="URL", help="base URL of NCBI E-utilities (a mirror or test server)"
    )
    update.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
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
            elif action.choices is not None or isinstance(action.type, Number):
                literal.update(action.option_strings)
    return literal
