"""The commands that print what the package knows: ``lookup`` (a known variant by a legacy
or HGVS name), ``plan`` (the default analysis plan) and ``lab-profile`` (the example
laboratory profile)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from nlrp3annot.cli.common import EXIT_SOME_FAILED
from nlrp3annot.cli.terminal import console_for


@dataclass(frozen=True)
class LookupSettings:
    query: str
    transcript: str | None = None  # the transcript the name's numbering refers to
    json: bool = False
    tsv: bool = False  # every column as TSV even on a terminal

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LookupSettings:
        return cls(args.query, args.transcript, args.json, args.tsv)


# the columns a person reads on a terminal, in a table (the TSV and JSON hold every column)
KEY_COLUMNS = {
    "clinvar_id": "ClinVar",
    "hgvs_c": "HGVS c.",
    "hgvs_p": "HGVS p. (ClinVar)",
    "legacy_protein": "legacy",
    "clinvar_significance": "significance",
}


def cmd_lookup(args: argparse.Namespace) -> int:
    return lookup(LookupSettings.from_args(args))


def lookup(settings: LookupSettings) -> int:
    import json

    from nlrp3annot.knowledge.lookup import LOOKUP_COLUMNS, is_dbsnp_id
    from nlrp3annot.knowledge.lookup import lookup as find

    rows = find(settings.query, transcript=settings.transcript)
    console = None if settings.json or settings.tsv or not rows else console_for(sys.stdout)
    if settings.json:
        print(json.dumps(rows, indent=1))
    elif console is not None:
        lookup_table(settings.query, rows, console)
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


def lookup_table(query: str, rows: list[dict], console) -> None:
    """The rows as a rich table of the key columns (HGVS without the accession, which the
    title names), then each record's rs number, position, UniProt name and context (``--tsv``
    or a pipe gives every column)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    def short(value: object) -> str:
        return str(value).rpartition(":")[2]

    def cell(value: object) -> str:  # 'Pathogenic/Likely pathogenic' may wrap after the '/'
        return str(value).replace("/", " / ")

    accessions = sorted({str(r[c]).partition(":")[0] for r in rows for c in ("hgvs_c", "hgvs_p")
                         if ":" in str(r[c])})  # fmt: skip
    records = "record" if len(rows) == 1 else "records, the one reports usually mean first"
    table = Table(title=f"{query}: {len(rows)} ClinVar {records} ({', '.join(accessions)})",
                  title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")  # fmt: skip
    for column, name in KEY_COLUMNS.items():  # a name is never broken; the words may wrap
        wraps = column == "clinvar_significance"
        table.add_column(name, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
    for row in rows:
        table.add_row(
            *(short(row[c]) if c.startswith("hgvs") else cell(row[c]) for c in KEY_COLUMNS)
        )
    console.print(table)
    for row in rows:
        facts = [
            str(row["dbsnp"]),
            f"GRCh38 {row['grch38']}",
            f"UniProt {short(row['hgvs_p_uniprot'])}",
        ]
        said = ", ".join(f for f in facts if f)
        line = f"[bold]{escape(str(row['clinvar_id']))}[/bold] {escape(said)}"
        if row.get("context"):
            line += f": {escape(str(row['context']))}"
        console.print(line)
    console.print("(every column: --tsv or --json)", style="dim")


def cmd_plan(args: argparse.Namespace) -> int:
    from importlib import resources

    text = resources.files("nlrp3annot.response").joinpath("default_plan.toml").read_text()
    sys.stdout.write(text)
    return 0


def cmd_lab_profile(args: argparse.Namespace) -> int:
    from nlrp3annot.delivery.lab import example_path

    sys.stdout.write(example_path().read_text(encoding="utf-8"))
    return 0
