#!/usr/bin/env python3
"""Build the bundled ClinVar table reference/clinvar_NLRP3.tsv, from NCBI's ClinVar files or
from the ClinVar web export.

From NCBI's own release files (the way to build it; see reference/KNOWLEDGE.md):

    python scripts/build_knowledge.py --clinvar-vcf clinvar.vcf.gz \
        --variant-summary variant_summary.txt.gz --fasta GRCh38.fa \
        [--clinvar-vcf-grch37 clinvar_GRCh37.vcf.gz] [--out reference/] [--date D]

  The GRCh38 VCF gives the records (GENEINFO NLRP3:114548), classification, review status,
  conditions, rs number and the release (##fileDate); variant_summary gives ClinVar's names on
  NM_001243133.2 (the VCF has none), the GRCh37/GRCh38 locations and the date last evaluated;
  the GRCh38 FASTA (a genome, or any FASTA holding chr1's NLRP3 locus) gives the Canonical
  SPDI, fully justified across repeats. A GRCh37 VCF, if given, must agree (same release, every
  shared record at GRCh38 + 163,302).

From the ClinVar web-search export in ../shared/reference-sources/ (how the committed table was
made, since no NCBI release file with NLRP3 could be had here; see PROVENANCE.md there):

    python scripts/build_knowledge.py [--sources DIR_OR_FILE] [--out reference/] [--date D]

Either way it overwrites reference/clinvar_NLRP3.tsv, in the format nlrp3annot.knowledge reads
and update_clinvar() writes. Kept: one row per ClinVar variation named on NM_001243133.2 that
has a Canonical SPDI. Left out: CNVs and other-transcript names (no NM_001243133.2 name), rows
without an SPDI, and ``c.780=`` (VariationID 138529), whose SPDI deletes and inserts the same
base: no change.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

from nlrp3annot.knowledge.clinvar import (
    CLINVAR_FILE,
    LICENCE,
    SPDI_NOTE,
    TRANSCRIPT,
    ClinVarRecord,
    format_table,
    iso_date,
    parse_spdi,
    parse_table,
    parse_title,
)

GRCH37_OFFSET = 163_302  # GRCh37 = GRCh38 + 163,302 across the locus (PROVENANCE.md)
EXPORT = "NLRP3_ClinVar_web_export_chat_bot_caps.tsv"
# The export's own origin, from shared/reference-sources/PROVENANCE.md.
EXPORT_ORIGIN = (
    f"{EXPORT} in shared/reference-sources (ClinVar web-search export; GitHub "
    "Marinkacosmos/chat_bot_caps db/db_clinvar_eddited.xlsx sheet clinvar_result_2, commit "
    "4df4b797fecbd7c3cfeae4772f4fec1fe1278fb0; see PROVENANCE.md there)"
)
# Columns of the export that the table uses; a renamed column must stop the build.
NEEDED = (
    "name",
    "Canonical SPDI",
    "VariationID",
    "GRCh38Location",
    "GRCh37Location",
    "germline_classification",
    "Germline review status",
    "Condition(s)",
    "dbSNP ID",
    "Germline date last evaluated",
)


def read_export(path: Path) -> tuple[list[ClinVarRecord], dict[str, int]]:
    """Records of the export named on NM_001243133.2, and counts of what was left out."""
    skipped = {"not named on NM_001243133.2": 0, "no Canonical SPDI": 0, "no change": 0}
    records: list[ClinVarRecord] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in NEEDED if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"error: {path}: missing columns {missing}")
        for row in reader:
            names = parse_title(row["name"])
            if names is None:
                skipped["not named on NM_001243133.2"] += 1
                continue
            spdi = parse_spdi(row["Canonical SPDI"])
            if spdi is None:
                skipped["no Canonical SPDI"] += 1
                continue
            if spdi[1] == spdi[2]:  # c.780= : ClinVar's record of the reference allele
                skipped["no change"] += 1
                continue
            records.append(
                ClinVarRecord(
                    variation_id=int(row["VariationID"]),
                    hgvs_c=names[0],
                    hgvs_p=names[1],
                    significance=row["germline_classification"].strip(),
                    review_status=row["Germline review status"].strip(),
                    conditions=row["Condition(s)"].strip(),
                    dbsnp=row["dbSNP ID"].strip(),
                    spdi=spdi,
                    grch38_location=row["GRCh38Location"].strip(),
                    grch37_location=row["GRCh37Location"].strip(),
                    last_evaluated=iso_date(row["Germline date last evaluated"]),
                )
            )
    return records, skipped


def check(records: list[ClinVarRecord]) -> None:
    """Refuse data that would make look-ups ambiguous or that contradicts itself."""
    seen_ids: set[int] = set()
    seen_spdi: dict[tuple[int, str, str], int] = {}
    for r in records:
        if r.variation_id in seen_ids:
            sys.exit(f"error: VariationID {r.variation_id} appears twice")
        seen_ids.add(r.variation_id)
        if r.spdi in seen_spdi:
            sys.exit(f"error: VariationIDs {seen_spdi[r.spdi]} and {r.variation_id} share an SPDI")
        seen_spdi[r.spdi] = r.variation_id
        pos0, deleted, _ = r.spdi
        start38 = int(r.grch38_location.split("-")[0])
        # An SNV sits at SPDI position + 1. Other changes start inside the justified span;
        # ClinVar gives an insertion as the pair of bases around it, so allow the base before.
        if len(deleted) == 1 == len(r.spdi[2]):
            inside = start38 == pos0 + 1
        else:
            inside = pos0 <= start38 <= pos0 + len(deleted) + 1
        if not inside:
            sys.exit(f"error: VariationID {r.variation_id}: GRCh38 {start38} outside SPDI {r.spdi}")
        if r.grch37_location:
            start37 = int(r.grch37_location.split("-")[0])
            if start37 - start38 != GRCH37_OFFSET:
                sys.exit(f"error: VariationID {r.variation_id} breaks the GRCh37 offset")


def export_table(path: Path) -> tuple[list[ClinVarRecord], dict[str, int], dict[str, str]]:
    """Records and header lines from the ClinVar web export."""
    records, skipped = read_export(path)
    latest = max((r.last_evaluated for r in records if r.last_evaluated), default="")
    meta = {
        "source": EXPORT_ORIGIN,
        "release": f"unknown: a web-search export, not an NCBI release file; latest date last "
        f"evaluated in it {latest}",
    }
    return records, skipped, meta


def ncbi_table(args: argparse.Namespace) -> tuple[list[ClinVarRecord], dict[str, int], dict]:
    """Records and header lines from NCBI's ClinVar VCF + variant_summary + a GRCh38 FASTA."""
    from nlrp3annot.genome.sequence import read_fasta_locus
    from nlrp3annot.knowledge.ncbi import build_records, read_clinvar_vcf, read_variant_summary

    if args.variant_summary is None or args.fasta is None:
        sys.exit(
            "error: --clinvar-vcf needs --variant-summary (ClinVar's names on "
            f"{TRANSCRIPT}: the VCF has none) and --fasta (GRCh38, for the Canonical SPDI)"
        )
    for path in (args.clinvar_vcf, args.variant_summary, args.fasta, args.clinvar_vcf_grch37):
        if path is not None and not path.is_file():
            sys.exit(f"error: {path} not found")
    try:
        vcf = read_clinvar_vcf(args.clinvar_vcf)
        summary = read_variant_summary(args.variant_summary, f"{TRANSCRIPT}(NLRP3):")
    except (OSError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    if vcf.reference != "GRCh38":
        sys.exit(f"error: {args.clinvar_vcf}: ##reference={vcf.reference}, expected GRCh38")
    if not vcf.file_date:
        sys.exit(f"error: {args.clinvar_vcf}: no ##fileDate line (the ClinVar release)")
    if args.clinvar_vcf_grch37 is not None:
        check_grch37(args.clinvar_vcf_grch37, vcf)
    seq = read_fasta_locus(args.fasta, "GRCh38")
    records, skipped = build_records(vcf, summary, seq)
    if skipped["REF not the reference"]:
        sys.exit(
            f"error: {args.fasta}: {skipped['REF not the reference']} ClinVar REF alleles are not "
            "its bases: give the GRCh38 FASTA"
        )
    release = vcf.file_date
    files = f"{args.clinvar_vcf.name} (##fileDate={release}, ##reference=GRCh38)"
    if args.clinvar_vcf_grch37 is not None:
        files += f", {args.clinvar_vcf_grch37.name}"
    meta = {
        "source": f"NCBI ClinVar release files: {files}, {args.variant_summary.name}; "
        f"Canonical SPDI from {args.fasta.name}",
        "release": release,
    }
    return records, skipped, meta


def check_grch37(path: Path, grch38) -> None:
    """A GRCh37 VCF must be the same release, with each shared record 163,302 further on."""
    from nlrp3annot.knowledge.ncbi import read_clinvar_vcf

    try:
        vcf37 = read_clinvar_vcf(path)
    except (OSError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    if vcf37.reference != "GRCh37":
        sys.exit(f"error: {path}: ##reference={vcf37.reference}, expected GRCh37")
    if vcf37.file_date != grch38.file_date:
        sys.exit(f"error: {path}: release {vcf37.file_date}, the GRCh38 VCF is {grch38.file_date}")
    on38 = {r.variation_id: r for r in grch38.records}
    for r in vcf37.records:
        other = on38.get(r.variation_id)
        if other is not None and (r.pos - other.pos, r.ref, r.alt) != (
            GRCH37_OFFSET,
            other.ref,
            other.alt,
        ):
            sys.exit(f"error: VariationID {r.variation_id}: GRCh37 and GRCh38 rows disagree")


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sources",
        type=Path,
        default=here.parent / "shared" / "reference-sources",
        help=f"folder holding {EXPORT} (or the export file itself)",
    )
    parser.add_argument("--clinvar-vcf", type=Path, help="NCBI clinvar.vcf.gz, GRCh38")
    parser.add_argument("--clinvar-vcf-grch37", type=Path, help="NCBI clinvar.vcf.gz, GRCh37")
    parser.add_argument("--variant-summary", type=Path, help="NCBI variant_summary.txt(.gz)")
    parser.add_argument("--fasta", type=Path, help="GRCh38 FASTA (genome or NLRP3 locus)")
    parser.add_argument("--out", type=Path, default=here / "reference")
    parser.add_argument(
        "--date", default=datetime.now(UTC).date().isoformat(), help="build date for the header"
    )
    args = parser.parse_args()
    if args.clinvar_vcf is not None:
        records, skipped, origin = ncbi_table(args)
    else:
        export: Path = args.sources if args.sources.is_file() else args.sources / EXPORT
        if not export.is_file():
            sys.exit(f"error: {export} not found (pass --sources, or --clinvar-vcf)")
        records, skipped, origin = export_table(export)
    check(records)
    meta = {
        "about": f"ClinVar small variants named on {TRANSCRIPT} (NLRP3 MANE Select); "
        "one row per ClinVar VariationID",
        "source": origin["source"],
        "release": origin["release"],
        "built": args.date,
        "built_by": "scripts/build_knowledge.py",
        "licence": LICENCE,
        "spdi": SPDI_NOTE,
    }
    text = format_table(records, meta)
    parsed, _ = parse_table(text, CLINVAR_FILE)  # the package must read back what was written
    if len(parsed) != len(records):
        sys.exit("error: the written table does not read back")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / CLINVAR_FILE).write_text(text, encoding="utf-8")
    left_out = ", ".join(f"{n} {why}" for why, n in skipped.items())
    print(f"wrote {args.out / CLINVAR_FILE}: {len(records)} variants (left out: {left_out})")


if __name__ == "__main__":
    main()
