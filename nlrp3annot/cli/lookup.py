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

    from nlrp3annot.knowledge.lookup import LOOKUP_COLUMNS
    from nlrp3annot.knowledge.lookup import lookup as find

    rows = find(settings.query, transcript=settings.transcript)
    if settings.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\t".join(LOOKUP_COLUMNS))
        for row in rows:
            print("\t".join(str(row[c]) for c in LOOKUP_COLUMNS))
    if not rows:
        print(f"nlrp3annot: {settings.query}: not in the ClinVar table", file=sys.stderr)
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
