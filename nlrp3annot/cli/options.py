"""The option groups that several commands share (``run`` and ``demo`` take most of
``annotate``'s and ``scan``'s options): each adds its options to one command's parser, in
the order ``--help`` lists them."""

from __future__ import annotations

import argparse


def transcript_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gff",
        action="append",
        default=[],
        help="GFF3/GTF (RefSeq, Ensembl or GENCODE; plain or gzip) whose NLRP3 "
        "transcripts are added; repeatable",
    )
    p.add_argument(
        "--transcripts",
        default=None,
        help="mane, all, or accessions ID,ID... (default: mane; all with --gff)",
    )
    p.add_argument(
        "--pick",
        action="store_true",
        help="one row per allele: MANE Select, then NM_004895.4 (LRG reference "
        "standard), then the longest CDS (as VEP --pick)",
    )


def parallel_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes for many files or a large joint VCF (default: the cores "
        "this machine gives the process); results are identical to --jobs 1",
    )
    p.add_argument(
        "--scheduler",
        help="address of a Dask distributed scheduler (tcp://host:8786) to run the files "
        "on a cluster instead; paths must be readable from the workers",
    )


def resume_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep each finished file's result beside the output, and skip the files a "
        "killed or failed run with --resume already finished (same inputs and options)",
    )


def scan_options(p: argparse.ArgumentParser, depth: bool = True) -> None:
    """The read filters and limits of ``scan`` (``run`` and ``demo`` share --min-depth with
    the mosaic test)."""
    if depth:
        p.add_argument("--min-depth", type=int, default=20, help="reads for a test (default 20)")
    p.add_argument("--min-mapq", type=int, default=20, help="mapping quality (default 20)")
    p.add_argument("--min-baseq", type=int, default=20, help="base quality (default 20)")
    p.add_argument(
        "--no-proper-pairs",
        action="store_true",
        help="count paired reads even when not mapped as a proper pair",
    )
    p.add_argument(
        "--max-lod",
        type=float,
        default=0.10,
        help="a sample is negative only where a mosaic this small would have been found at "
        "every known pathogenic position (default 0.10: what ~140x genome depth reaches; "
        "the negative states its own limit; set 0.05 or lower to require a deep assay)",
    )
    p.add_argument(
        "--umi-tag",
        metavar="TAG",
        help="reads of one molecule carry this UMI tag (e.g. RX): they collapse to one "
        "consensus first, so PCR and sequencing errors within a family are not evidence; "
        "duplex UMIs (AAAA-CCCC) make both strands of a molecule one",
    )
    p.add_argument(
        "--umi-from-name",
        action="store_true",
        help="as --umi-tag, the UMI read from the end of the read name: bcl-convert/bcl2fastq "
        "(the 8th ':' field, INST:RUN:FC:LANE:TILE:X:Y:ACGTACGT, dual UMIs joined by '+') "
        "or UMI-tools extract (after the last '_', NAME_ACGTACGT)",
    )
    p.add_argument(
        "--no-umi",
        action="store_true",
        help="count reads as fragments even where every file's reads carry RX UMIs (by "
        "default they are then collapsed by RX, as with --umi-tag RX, and the scan says so)",
    )
    p.add_argument(
        "--primers",
        metavar="BED",
        help="the amplicon assay's primer BED (BED6 as ARTIC/iVar use it): primer bases at "
        "either end of a read are soft-clipped (samtools ampliconclip --both-ends) and are "
        "no evidence; the limits of detection per amplicon (NAME_LEFT/NAME_RIGHT pairs) go "
        "to OUTPUT/scan_amplicons.tsv",
    )
    p.add_argument(
        "--panel",
        metavar="NPZ",
        help="a panel of normals (made by 'scan --make-panel'): their error distribution is "
        "the background beside the samples scanned together (a single patient's deep assay)",
    )


def coverage_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--coverage",
        action="append",
        metavar="[SAMPLE=]BED",
        help="evidence that a sample was covered: a mosdepth per-base or regions BED(.gz), "
        "or a callable-regions BED; for every sample, or SAMPLE=BED for one (repeatable). "
        "Gives coding_bases_covered in the patient summary",
    )


def plan_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--plan",
        metavar="PLAN_TOML",
        help="the statistical analysis plan: primary/secondary end points, multiplicity, "
        "alpha, responder rule, group rule and sensitivity rules (default: the NEJM 2006 "
        "plan; 'nlrp3annot plan' prints it to copy and edit)",
    )


def genotyped_only_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--genotyped-only",
        action="store_true",
        help="compare the clinical patients that have a genotype, however few (part of a "
        "cohort genotyped); the others are listed as not genotyped in tables/inclusion.tsv. "
        "Default: stop when fewer than half have one (the IDs of the two sides likely differ)",
    )


def redact_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--redact",
        metavar="SALT_FILE",
        help="write patient and sample IDs as stable pseudonyms (anon- + salted hash) in "
        "every output and the report; SALT_FILE is made with a random salt if missing: keep "
        "it private, and reuse it to get the same pseudonyms",
    )


def delivery_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lab",
        metavar="TOML",
        help="the laboratory's profile for the patient pages: name, address, accreditation, "
        "signatories, disclaimers, assay performance (example: reference/"
        "lab_profile.example.toml); without it the pages name no laboratory",
    )
    parser.add_argument(
        "--diagnosis",
        metavar="NAME",
        help="the clinical diagnosis of every patient whose samples-sheet rows give none "
        "(e.g. NOMID); a patient's disease is never read off the variant",
    )
    parser.add_argument(
        "--research",
        action="store_true",
        help="add a research section to each page: inflammation markers and the study group "
        "(not part of the clinical result)",
    )


def phenopackets_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--phenopackets",
        metavar="DIR",
        help="also write one GA4GH Phenopacket (v2 JSON) per patient into DIR (run and demo "
        "always write them into RESULTS/phenopackets/)",
    )


def mosaic_options(p: argparse.ArgumentParser) -> None:
    """The mosaic test's options as ``run`` and ``demo`` take them (``annotate`` adds its own,
    with help texts)."""
    p.add_argument("--min-depth", type=int, default=20)
    p.add_argument("--mosaic-alpha", type=float, default=0.01)
    p.add_argument("--max-mosaic-vaf", type=float, default=0.40)
    p.add_argument(
        "--noise-floor",
        type=float,
        default=0.01,
        help="per-base error rate a caller VCF's mosaic must rise above (one-sided exact "
        "binomial P < --mosaic-alpha; default 0.01, fit for Illumina data)",
    )
    p.add_argument(
        "--min-alt-reads",
        type=int,
        default=5,
        help="ALT reads a mosaic from a caller's VCF needs at least (default 5)",
    )
