#!/usr/bin/env python3
"""Build the bundled ClinVar table reference/clinvar_NLRP3.tsv from the ClinVar web export.

Re-runnable: reads only the ClinVar export in ../shared/reference-sources/ (see PROVENANCE.md
there) and overwrites reference/clinvar_NLRP3.tsv. The output is committed so that a fresh
clone needs no ../shared. The format is the one nlrp3annot.knowledge reads and that
nlrp3annot.knowledge.clinvar.update_clinvar() writes (see reference/KNOWLEDGE.md).

    python scripts/build_knowledge.py [--sources DIR_OR_FILE] [--out reference/] [--date D]

Kept: one row per ClinVar variation named on NM_001243133.2 that has a Canonical SPDI.
Left out: CNVs and other-transcript names (no NM_001243133.2 name), rows without an SPDI, and
``c.780=`` (VariationID 138529), whose SPDI deletes and inserts the same base: no change.
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


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sources",
        type=Path,
        default=here.parent / "shared" / "reference-sources",
        help=f"folder holding {EXPORT} (or the export file itself)",
    )
    parser.add_argument("--out", type=Path, default=here / "reference")
    parser.add_argument(
        "--date", default=datetime.now(UTC).date().isoformat(), help="build date for the header"
    )
    args = parser.parse_args()
    export: Path = args.sources if args.sources.is_file() else args.sources / EXPORT
    if not export.is_file():
        sys.exit(f"error: {export} not found (pass --sources)")

    records, skipped = read_export(export)
    check(records)
    meta = {
        "about": f"ClinVar small variants named on {TRANSCRIPT} (NLRP3 MANE Select); "
        "one row per ClinVar VariationID",
        "source": EXPORT_ORIGIN,
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
