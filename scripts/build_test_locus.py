#!/usr/bin/env python3
"""Build the TEST genomes in tests/data/: chr1 of GRCh38 and GRCh37, all N except the NLRP3
locus, whose bases are chosen to agree with every fact we have. NOT THE REAL GENOME.

    python scripts/build_test_locus.py [--sources DIR] [--seed 20261125]

The real sequence is not on these machines. The test locus agrees with:
  - the MANE protein (each codon is a codon of its amino acid),
  - the reference base of every ClinVar SNV (Canonical SPDI),
  - the protein change ClinVar states for every coding SNV or one-codon delins
    (e.g. c.778C>T must give Ter, c.780A>G must be synonymous: codon 260 is CGA),
  - the deleted sequence of every ClinVar indel SPDI, with flanks that end the repeat
    exactly where ClinVar's fully justified SPDI ends it,
  - GT...AG at every intron,
  - an ATG AAG 6 nt upstream of the MANE start, where the 1036-aa isoform starts.
Every other base comes from a seeded random generator. Writes:
  tests/data/TEST_LOCUS_GRCh38_not_real_genome.fa.gz (+ .fai, .gzi), same for GRCh37
  tests/data/clinvar_NM_001243133.2.tsv   ClinVar small variants, the naming test's truth
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

import pysam
from Bio.Data.CodonTable import standard_dna_table

HERE = Path(__file__).resolve().parent.parent
GRCH37_OFFSET = 163_302
CHR1_LENGTH = {"GRCh38": 248_956_422, "GRCh37": 249_250_621}
FLANK = 9_000  # real bases beyond the transcript ends (annotated window is 5 kb)
THREE_TO_ONE = {
    "Ala": "A",
    "Arg": "R",
    "Asn": "N",
    "Asp": "D",
    "Cys": "C",
    "Gln": "Q",
    "Glu": "E",
    "Gly": "G",
    "His": "H",
    "Ile": "I",
    "Leu": "L",
    "Lys": "K",
    "Met": "M",
    "Phe": "F",
    "Pro": "P",
    "Ser": "S",
    "Thr": "T",
    "Trp": "W",
    "Tyr": "Y",
    "Val": "V",
    "Ter": "*",
}
CODON_TABLE = dict(standard_dna_table.forward_table)
CODON_TABLE.update({c: "*" for c in standard_dna_table.stop_codons})


def load_clinvar(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t")]
    return [r for r in rows if r["name"].startswith("NM_001243133.2(NLRP3):c.")]


def parse_spdi(spdi: str) -> tuple[int, str, str] | None:
    m = re.fullmatch(r"NC_000001\.11:(\d+):([ACGT]*):([ACGT]*)", spdi)
    return (int(m.group(1)), m.group(2), m.group(3)) if m else None


def cds_positions(model: dict) -> list[int]:
    b = model["builds"]["GRCh38"]
    out = []
    for s, e in b["exons"]:
        out.extend(p for p in range(s, e + 1) if b["cds_start"] <= p <= b["cds_end"])
    return out


def expanded_region(seq: dict[int, str], pos0: int, deleted: str, inserted: str) -> tuple[int, int]:
    """Fully justified region (1-based, inclusive; empty as (p+1, p)) of an indel given as SPDI
    at 0-based ``pos0``: extend left and right while the changed sequence can roll."""
    # reduce to the minimal indel: common prefix/suffix between deleted and inserted
    start = pos0 + 1
    d, i = deleted, inserted
    while d and i and d[0] == i[0]:
        d, i, start = d[1:], i[1:], start + 1
    while d and i and d[-1] == i[-1]:
        d, i = d[:-1], i[:-1]
    if d and i:
        return pos0 + 1, pos0 + len(deleted)  # a true delins does not roll
    unit = d or i
    lo, hi = start, start + len(d) - 1  # bases deleted (empty for an insertion)
    # roll left
    rolled = unit
    while seq.get(lo - 1) == rolled[-1]:
        rolled = rolled[-1] + rolled[:-1]
        lo -= 1
    rolled = unit
    while seq.get(hi + 1) == rolled[0]:
        rolled = rolled[1:] + rolled[0]
        hi += 1
    return lo, hi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sources", type=Path, default=HERE.parent / "shared" / "reference-sources"
    )
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=HERE / "tests" / "data")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    model = json.loads((HERE / "reference" / "NLRP3_MANE.json").read_text())
    b38 = model["builds"]["GRCh38"]
    exons = b38["exons"]
    lo, hi = exons[0][0] - FLANK, exons[-1][1] + FLANK
    clinvar = load_clinvar(args.sources / "NLRP3_ClinVar_web_export_chat_bot_caps.tsv")

    fixed: dict[int, str] = {}
    why: dict[int, str] = {}

    def fix(pos: int, base: str, reason: str) -> None:
        if fixed.get(pos, base) != base:
            sys.exit(f"conflict at {pos}: {fixed[pos]} ({why[pos]}) vs {base} ({reason})")
        fixed[pos], why[pos] = base, reason

    # 1. reference bases of every ClinVar SPDI (SNVs and indels)
    for r in clinvar:
        spdi = parse_spdi(r["Canonical SPDI"])
        if spdi is None or spdi[1] == spdi[2]:
            continue  # no sequence alteration (c.780=)
        pos0, deleted, _ = spdi
        for k, base in enumerate(deleted):
            fix(pos0 + 1 + k, base, r["name"])
    # 2. canonical splice sites
    for (_, end), (start, _) in zip(exons, exons[1:], strict=False):
        for pos, base in ((end + 1, "G"), (end + 2, "T"), (start - 2, "A"), (start - 1, "G")):
            fix(pos, base, "splice site GT-AG")

    # 3. the bases just outside each ClinVar indel's SPDI region must end the repeat there
    forbidden: dict[int, set[str]] = {}
    indels = []
    for r in clinvar:
        spdi = parse_spdi(r["Canonical SPDI"])
        if not spdi or len(spdi[1]) == len(spdi[2]):
            continue
        indels.append((r["name"], spdi))
        pos0, deleted, inserted = spdi
        want = (pos0 + 1, pos0 + len(deleted))
        for flank in (want[0] - 1, want[1] + 1):
            for base in "ACGT":
                trial = {pos0 + 1 + k: b for k, b in enumerate(deleted)}
                trial[flank] = base
                if expanded_region(trial, pos0, deleted, inserted) != want:
                    forbidden.setdefault(flank, set()).add(base)

    # 4. codons: agree with the protein, fixed bases, and ClinVar's stated protein changes
    protein = model["protein"] + "*"
    cds = cds_positions(model)
    c_to_g = {i + 1: p for i, p in enumerate(cds)}
    rules: dict[int, list[tuple[dict[int, str], str]]] = {}  # codon -> [(c.pos->base, aa)]
    for r in clinvar:
        m = re.search(
            r":c\.(\d+)(?:_(\d+))?(?:([ACGT])>([ACGT])|delins([ACGT]+)) \(p\.(.+)\)$", r["name"]
        )
        if not m:
            continue
        first = int(m.group(1))
        last = int(m.group(2) or first)
        inserted = m.group(4) or m.group(5)
        if len(inserted) != last - first + 1 or (first - 1) // 3 != (last - 1) // 3:
            continue
        pm = re.fullmatch(r"([A-Z][a-z]{2})(\d+)(=|[A-Z][a-z]{2})", m.group(6))
        if not pm:
            continue
        target = THREE_TO_ONE[pm.group(1)] if pm.group(3) == "=" else THREE_TO_ONE[pm.group(3)]
        change = {first + k: base for k, base in enumerate(inserted)}
        rules.setdefault((first - 1) // 3, []).append((change, target))

    for k, aa in enumerate(protein):
        cpos = [3 * k + 1, 3 * k + 2, 3 * k + 3]
        candidates = []
        for codon, codon_aa in CODON_TABLE.items():
            if codon_aa != aa:
                continue
            if any(
                fixed.get(c_to_g[c], b) != b or b in forbidden.get(c_to_g[c], ())
                for c, b in zip(cpos, codon, strict=True)
            ):
                continue
            ok = True
            for change, target in rules.get(k, []):
                alt = "".join(change.get(c, b) for c, b in zip(cpos, codon, strict=True))
                ok &= CODON_TABLE[alt] == target
            if ok:
                candidates.append(codon)
        if k == 0:
            candidates = [c for c in candidates if c == "ATG"]
        if not candidates:
            sys.exit(f"no codon fits residue {k + 1} ({aa}); rules {rules.get(k)}")
        codon = rng.choice(sorted(candidates))
        for c, base in zip(cpos, codon, strict=True):
            fix(c_to_g[c], base, f"codon {k + 1}")

    # 5. everything else from the seeded background, avoiding the forbidden flank bases
    seq: dict[int, str] = {
        p: fixed.get(p) or rng.choice([b for b in "ACGT" if b not in forbidden.get(p, ())])
        for p in range(lo, hi + 1)
    }
    # The 1036-aa UniProt/NP_004886.3 isoform starts 6 nt upstream of the MANE ATG (GENCODE 19
    # start codon at GRCh37 247,582,097 = GRCh38 247,418,795) with Met-Lys (Q96P20 "MKM..."):
    # give it ATG AAG so that a model of that isoform is a valid transcript here. Set after
    # the background so the seeded bases everywhere else stay as they were.
    upstream_start = b38["cds_start"] - 6
    for k, base in enumerate("ATGAAG"):
        if upstream_start + k in fixed:
            sys.exit(f"the upstream ATG would overwrite a fixed base at {upstream_start + k}")
        seq[upstream_start + k] = base
    bad = [n for n, (p, d, i) in indels if expanded_region(seq, p, d, i) != (p + 1, p + len(d))]
    if bad:
        sys.exit(f"indel context could not be matched for: {bad}")

    # 6. check: translation of the CDS is the MANE protein
    cds_seq = "".join(seq[p] for p in cds)
    translated = "".join(CODON_TABLE[cds_seq[i : i + 3]] for i in range(0, len(cds_seq), 3))
    assert translated == protein, "CDS does not translate to the MANE protein"
    locus = "".join(seq[p] for p in range(lo, hi + 1))

    args.out.mkdir(parents=True, exist_ok=True)
    for build, offset in (("GRCh38", 0), ("GRCh37", GRCH37_OFFSET)):
        path = args.out / f"TEST_LOCUS_{build}_not_real_genome.fa.gz"
        start = lo + offset
        header = (
            f">chr1 TEST SEQUENCE, NOT THE REAL GENOME: nlrp3annot test locus, {build} "
            f"coordinates; real-looking bases only at {start}-{start + len(locus) - 1} "
            f"(NLRP3 +/- {FLANK} bp, built by scripts/build_test_locus.py seed {args.seed}); "
            f"N elsewhere\n"
        )
        whole = "N" * (start - 1) + locus + "N" * (CHR1_LENGTH[build] - start + 1 - len(locus))
        with pysam.BGZFile(str(path), "wb") as out:
            out.write(header.encode())
            for i in range(0, len(whole), 60):
                out.write(whole[i : i + 60].encode() + b"\n")
        pysam.faidx(str(path))
        print(f"wrote {path}")

    keep = [
        "name",
        "Protein change",
        "VariationID",
        "Canonical SPDI",
        "GRCh37Location",
        "GRCh38Location",
        "Variant type",
        "Molecular consequence",
        "germline_classification",
    ]
    with (args.out / "clinvar_NM_001243133.2.tsv").open("w") as handle:
        handle.write(
            "# ClinVar small variants named on NM_001243133.2 (copied from the ClinVar web\n"
        )
        handle.write(
            "# export in shared/reference-sources; see PROVENANCE.md). Truth for naming tests.\n"
        )
        writer = csv.DictWriter(handle, keep, delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(clinvar)
    print(
        f"fixed bases: {len(fixed)}; locus {lo}-{hi} ({len(locus)} bp); ClinVar rows {len(clinvar)}"
    )


if __name__ == "__main__":
    main()
