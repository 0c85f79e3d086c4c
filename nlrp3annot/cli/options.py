"""The option groups that several commands share (``run`` and ``demo`` take most of
``annotate``'s and ``scan``'s options): each adds its options to one command's parser, in
the order ``--help`` lists them. Also the grammar's machinery: the numbers an option takes
(refused out of range while the command line is read), and the parser class every command
uses (help that wraps prose but keeps examples as written and states defaults; usage errors
of one usage line and one error line, from the command that was mistyped)."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    """An option's number type for argparse ``type=``: an int or a float within bounds,
    refused otherwise (NaN included) with the value and the range, before any work."""

    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is refused
    high_open: bool = False  # high itself is refused
    what: str = "a number"

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if self.kind is int else 'a number'}: "
                f"give {self.allowed()}"
            ) from None
        if not self.holds(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {self.allowed()}")
        return value

    def holds(self, value: float) -> bool:
        """Within the bounds (NaN and infinity never are)."""
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        return not (below or above or (isinstance(value, float) and not math.isfinite(value)))

    def check(self, option: str, value: float) -> None:
        """The same bounds for a value that did not come through the parser (settings built
        in Python): one line naming the option, as the parser's error does."""
        if not self.holds(value):
            from nlrp3annot.errors import Nlrp3AnnotError

            raise Nlrp3AnnotError(f"{option} {value}: give {self.allowed()}")

    def allowed(self) -> str:
        """What is allowed, in words: "a P value, above 0 and below 1"."""
        bounds = []
        if self.low is not None:
            bounds.append(f"{'above' if self.low_open else 'at least'} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'below' if self.high_open else 'at most'} {self.high:g}")
        return f"{self.what}, {' and '.join(bounds)}" if bounds else self.what


READS = Number(int, low=1, what="a number of reads")
P_VALUE = Number(float, low=0, high=1, low_open=True, high_open=True, what="a P value")
FRACTION = Number(float, low=0, high=1, low_open=True, what="an allele fraction")
ERROR_RATE = Number(float, low=0, high=1, high_open=True, what="a per-base error rate")
WORKERS = Number(int, low=1, what="a number of worker processes")
MAPPING_QUALITY = Number(int, low=0, high=255, what="a mapping quality (SAM MAPQ)")
BASE_QUALITY = Number(int, low=0, high=93, what="a Phred base quality (SAM)")


class HelpFormatter(argparse.HelpFormatter):
    """Prose (descriptions) wrapped to the terminal, one paragraph a line of the source
    text; lines that start with spaces (the examples) kept as written; an option's default
    added as "(default: X)" where its help does not already state it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                lines.append(indent + line)
            else:
                lines.append(textwrap.fill(line, width, initial_indent=indent,
                                           subsequent_indent=indent))  # fmt: skip
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if stated_default(action) is not None and "default" not in text:
            text += " (default: %(default)s)"
        return text


def stated_default(action: argparse.Action) -> object | None:
    """The default an option's help must state (None: nothing worth stating: no default,
    a flag's False, an empty list)."""
    default = action.default
    if default in (None, False, argparse.SUPPRESS) or default == []:
        return None
    return default


class CommandParser(argparse.ArgumentParser):
    """A command's parser: a usage error is the mistyped command's one-line usage and one
    error line (a misspelled option with the nearest one named), exit 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # the command that was given them says so, not the top level
            chosen = self._chosen(parsed)
            chosen.error(chosen.unknown(extras))
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> CommandParser:
        """The (sub)command the parsed line chose."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                name = getattr(parsed, action.dest, None)
                if name in action.choices:
                    return action.choices[name]._chosen(parsed)
        return self

    def unknown(self, extras: list[str]) -> str:
        """The words this command does not take, with the option meant where one is close."""
        import difflib

        known = [o for action in self._actions for o in action.option_strings]
        options = [word for word in extras if word.startswith("-") and len(word) > 1]
        if not options:
            return f"unexpected argument{'s' if len(extras) > 1 else ''}: {' '.join(extras)}"
        said = []
        for word in options:
            close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
            said.append(f"{word} (did you mean {close[0]}?)" if close else word)
        return f"unknown option{'s' if len(said) > 1 else ''}: {', '.join(said)}"

    def short_usage(self) -> str:
        """One line: the command, its required options, [options], its positionals."""
        formatter = self._get_formatter()
        words = [self.prog]
        optional = False
        for action in self._actions:
            if action.help is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings and action.required:
                metavar = formatter._format_args(action, action.dest.upper())
                words.append(f"{action.option_strings[0]} {metavar}".strip())
            elif action.option_strings:
                optional = True
        if optional:
            words.append("[options]")
        for action in self._actions:
            if not action.option_strings:
                words.append(formatter._format_args(action, action.dest.upper()))
        return " ".join(words)

    def error(self, message: str):  # type: ignore[override]
        subcommands = next(
            (a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None
        )
        if subcommands is not None and message.startswith("the following arguments are req"):
            names = ", ".join(subcommands.choices)
            first = next(iter(subcommands.choices))
            message = f"name a command: {names} ('{self.prog} {first} --help' explains it)"
        elif "invalid choice: " in message:
            message = _suggest_choice(message)
        sys.stderr.write(f"usage: {self.short_usage()}  (more: {self.prog} --help)\n")
        self.exit(2, f"{self.prog}: error: {message}\n")


def _suggest_choice(message: str) -> str:
    """argparse's "invalid choice: 'annotat' (choose from ...)" with the nearest choice."""
    import difflib
    import re

    found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if found is None:
        return message
    given, choices = found.group(1), re.findall(r"'([^']*)'", found.group(2))
    close = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
    if message.startswith("argument COMMAND: "):  # a command's name: ours, not argparse's
        message = f"unknown command {given!r}" + (
            "" if close else f"; one of: {', '.join(choices)}"
        )
    return f"{message}: did you mean {close[0]}?" if close else message


def transcript_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gff",
        action="append",
        metavar="GFF",
        default=[],
        help="GFF3/GTF (RefSeq, Ensembl or GENCODE; plain or gzip) whose NLRP3 "
        "transcripts are added; repeatable",
    )
    p.add_argument(
        "--transcripts",
        default=None,
        metavar="WHICH",
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
        type=WORKERS,
        default=None,
        metavar="N",
        help="worker processes for many files or a large joint VCF (default: the cores "
        "this machine gives the process); results are identical to --jobs 1",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
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


def verbose_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print each file's details (alleles, skipped reasons, scan limits); by "
        "default one line a stage and a closing summary",
    )


def scan_options(p: argparse.ArgumentParser, depth: bool = True) -> None:
    """The read filters and limits of ``scan`` (``run`` and ``demo`` share --min-depth with
    the mosaic test)."""
    if depth:
        p.add_argument(
            "--min-depth",
            type=READS,
            default=20,
            metavar="READS",
            help="fragments a position needs for a test (default 20)",
        )
    p.add_argument(
        "--min-mapq",
        type=MAPPING_QUALITY,
        default=20,
        metavar="MAPQ",
        help="reads count from this mapping quality up (default 20)",
    )
    p.add_argument(
        "--min-baseq",
        type=BASE_QUALITY,
        default=20,
        metavar="BASEQ",
        help="bases count from this base quality up (default 20)",
    )
    p.add_argument(
        "--no-proper-pairs",
        action="store_true",
        help="count paired reads even when not mapped as a proper pair",
    )
    p.add_argument(
        "--max-lod",
        type=FRACTION,
        default=0.10,
        metavar="FRACTION",
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
    with help texts of its own); --min-depth is also the scan's."""
    p.add_argument(
        "--min-depth",
        type=READS,
        default=20,
        metavar="READS",
        help="reads needed to rule a mosaic in or out, and fragments a scanned position "
        "needs for a test (default 20)",
    )
    p.add_argument(
        "--mosaic-alpha",
        type=P_VALUE,
        default=0.01,
        metavar="P",
        help="one-sided binomial test of the ALT fraction against 0.5 (default 0.01)",
    )
    p.add_argument(
        "--max-mosaic-vaf",
        type=FRACTION,
        default=0.40,
        metavar="FRACTION",
        help="highest allele fraction called mosaic (default 0.40)",
    )
    p.add_argument(
        "--noise-floor",
        type=ERROR_RATE,
        default=0.01,
        metavar="RATE",
        help="per-base error rate a caller VCF's mosaic must rise above (one-sided exact "
        "binomial P < --mosaic-alpha; default 0.01, fit for Illumina data)",
    )
    p.add_argument(
        "--min-alt-reads",
        type=READS,
        default=5,
        metavar="READS",
        help="ALT reads a mosaic from a caller's VCF needs at least (default 5)",
    )
