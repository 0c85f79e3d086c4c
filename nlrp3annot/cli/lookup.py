"""The commands that print what the package knows: ``lookup`` (a known variant by a legacy
or HGVS name), ``plan`` (the default analysis plan) and ``lab-profile`` (the example
laboratory profile)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from nlrp3annot.cli.common import EXIT_SOME_FAILED


@dataclass(frozen=True)
class LookupSettings:
    query: str
    transcript: str | None = None  # the transcript the name's numbering refers to
    json: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LookupSettings:
        return cls(args.query, args.transcript, args.json)


def cmd_lookup(args: argparse.Namespace) -> int:
    return lookup(LookupSettings.from_args(args))


def lookup(settings: LookupSettings) -> int:
    import json

    from nlrp3annot.knowledge.lookup import LOOKUP_COLUMNS, is_dbsnp_id
    from nlrp3annot.knowledge.lookup import lookup as find

    rows = find(settings.query, transcript=settings.transcript)
    if settings.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\t".join(LOOKUP_COLUMNS))
        for row in rows:
            print("\t".join(str(row[c]) for c in LOOKUP_COLUMNS))
    if not rows:
        what = "no record with this dbSNP ID" if is_dbsnp_id(settings.query) else "not"
        print(
            f"nlrp3annot: {settings.query}: {what} in the ClinVar table of NLRP3 "
            "(nlrp3annot knowledge update fetches a newer one)",
            file=sys.stderr,
        )
        return EXIT_SOME_FAILED
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from importlib import resources

    text = resources.files("nlrp3annot.response").joinpath("default_plan.toml").read_text()
    sys.stdout.write(text)
    return 0


def cmd_lab_profile(args: argparse.Namespace) -> int:
    from nlrp3annot.delivery.lab import example_path

    sys.stdout.write(example_path().read_text(encoding="utf-8"))
    return 0
