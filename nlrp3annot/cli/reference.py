"""The commands that download reference data: ``reference fetch`` (the NLRP3 locus and
transcript models, cached for runs without --fasta) and ``knowledge update`` (a new dated
ClinVar table)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class FetchSettings:
    builds: tuple[str, ...]  # --build, "both" as the two
    source: str = "ensembl"  # or "ncbi"
    url: str | None = None  # a mirror or a local test server
    transcripts: str | None = None  # "all": also the transcript models
    transcripts_url: str | None = None
    sequence: bool = True  # False with --no-sequence
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FetchSettings:
        builds = ("GRCh38", "GRCh37") if args.build == "both" else (args.build,)
        return cls(
            builds=builds,
            source=args.source,
            url=args.url,
            transcripts=args.transcripts,
            transcripts_url=args.transcripts_url,
            sequence=not args.no_sequence,
            quiet=args.quiet,
        )


def cmd_reference_fetch(args: argparse.Namespace) -> int:
    return reference_fetch(FetchSettings.from_args(args))


def reference_fetch(settings: FetchSettings) -> int:
    from nlrp3annot.genome.fetch import fetch_locus

    for build in settings.builds:
        if settings.sequence:
            path = fetch_locus(build, source=settings.source, base_url=settings.url)
            if not settings.quiet:
                print(
                    f"nlrp3annot: {build} NLRP3 locus verified and cached at {path}",
                    file=sys.stderr,
                )
        if settings.transcripts == "all":
            from nlrp3annot.genome.ensembl_transcripts import fetch_ensembl_transcripts

            url = settings.transcripts_url or settings.url
            path = fetch_ensembl_transcripts(build, base_url=url)
            if not settings.quiet:
                print(
                    f"nlrp3annot: {build} NLRP3 transcript models cached at {path}; use "
                    "them with 'annotate --transcripts all'",
                    file=sys.stderr,
                )
    return 0


@dataclass(frozen=True)
class UpdateSettings:
    url: str | None = None  # NCBI E-utilities (a mirror or test server)
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UpdateSettings:
        return cls(args.url, args.quiet)


def cmd_knowledge_update(args: argparse.Namespace) -> int:
    return knowledge_update(UpdateSettings.from_args(args))


def knowledge_update(settings: UpdateSettings) -> int:
    from nlrp3annot.knowledge.clinvar import load_clinvar
    from nlrp3annot.knowledge.clinvar_update import update_clinvar

    path = update_clinvar(base_url=settings.url)
    table = load_clinvar(path)
    if not settings.quiet:
        print(
            f"nlrp3annot: ClinVar NLRP3 table refreshed: {len(table)} variants in {path}; "
            f"later runs use it (the bundled table is kept)",
            file=sys.stderr,
        )
    return 0
