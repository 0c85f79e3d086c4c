"""Seeded joint VCFs as text, in every genotype shape callers write, for the scale tests.

Written as text (not through pysam) so that shapes pysam would normalise away stay as labs'
files have them: haploid and half-missing genotypes, '.' AD, AF-only (Mutect2) samples,
phased calls with phase sets, gVCF blocks with MIN_DP, multi-allelic records, symbolic and
spanning-deletion alleles, and records outside the locus on other contigs.
"""

from __future__ import annotations

import random
from pathlib import Path

import pysam
from conftest import CHR1_LENGTH, TEST_FASTA

# GRCh38 positions of MANE c.778 (R260), c.780 (rs4925543), c.907 (D303N), c.1043 (T348)
PATHOGENIC = (247424227, 247424229, 247424356, 247424492)
HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Low quality">
##ALT=<ID=NON_REF,Description="Any possible alternative allele">
##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions">
##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">
##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP in the block">
"""


def _locus_bases() -> tuple[int, str]:
    with pysam.FastaFile(str(TEST_FASTA["GRCh38"])) as fasta:
        lo = 247_411_000
        return lo, fasta.fetch("chr1", lo - 1, 247_454_000).upper()


def _call(rng: random.Random, n_alts: int) -> str:
    """One sample's GT:AD:DP:GQ:AF:PS:MIN_DP field, in a random but realistic shape."""
    shape = rng.random()
    depth = rng.choice([rng.randint(25, 80), rng.randint(2, 15)])
    alleles = list(range(n_alts + 1))
    if shape < 0.55:  # hom-ref, sometimes with a few ALT reads (a mosaic under 0/0)
        alt_reads = rng.choice([0, 0, 0, 1, 4, 6]) if depth > 20 else 0
        ad = [depth - alt_reads, alt_reads] + [0] * (n_alts - 1)
        return f"0/0:{','.join(map(str, ad))}:{depth}:60:.:.:."
    if shape < 0.70:  # het, germline-like or low fraction
        alt = rng.choice(alleles[1:])
        alt_reads = rng.choice([depth // 2, max(depth // 10, 1)])
        ad = [depth - alt_reads] + [alt_reads if a == alt else 0 for a in alleles[1:]]
        sep, ps = ("|", str(rng.choice([100, 200]))) if rng.random() < 0.3 else ("/", ".")
        return f"0{sep}{alt}:{','.join(map(str, ad))}:{depth}:50:.:{ps}:."
    if shape < 0.76:  # hom-alt or two ALTs
        a, b = rng.choice(alleles[1:]), rng.choice(alleles[1:])
        ad = [0] + [depth // 2 if x in (a, b) else 0 for x in alleles[1:]]
        return f"{a}/{b}:{','.join(map(str, ad))}:{depth}:40:.:.:."
    if shape < 0.82:
        return rng.choice(["./.:.:.:.:.:.:.", ".:.:.:.:.:.:.", "./0:10,0:10:.:.:.:.", "."])
    if shape < 0.88:  # haploid
        return f"{rng.choice(alleles)}:.:{depth}:30:.:.:."
    if shape < 0.94:  # Mutect2-like: AF and DP, no AD
        afs = ",".join(f"{rng.choice([0.0, 0.05, 0.12, 0.5]):.3f}" for _ in alleles[1:])
        return f"0/1:.:{depth}:.:{afs}:.:."
    return f"0/0:.:.:.:.:.:{depth}"  # gVCF-style MIN_DP only


def write_joint_vcf(
    path: Path,
    n_samples: int,
    n_records: int,
    seed: int = 11,
    chrom: str = "chr1",
    off_locus: int = 30,
) -> Path:
    """A sorted joint VCF (plain text) over the GRCh38 NLRP3 locus, plus off-locus lines."""
    rng = random.Random(seed)
    lo, bases = _locus_bases()
    samples = [f"S{i:04d}" for i in range(n_samples)]
    lines = []
    positions = sorted(
        set(PATHOGENIC) | {rng.randrange(lo + 10, lo + 42_000) for _ in range(n_records)}
    )
    for pos in positions[:n_records] + list(PATHOGENIC):
        ref = bases[pos - lo]
        kind = rng.random()
        if kind < 0.7:
            alts = [rng.choice([b for b in "ACGT" if b != ref])]
        elif kind < 0.85:
            alts = [b for b in "ACGT" if b != ref][: rng.randint(2, 3)]
        elif kind < 0.92:
            ref = bases[pos - lo : pos - lo + 3]
            alts = [ref[0]]
        elif kind < 0.96:
            alts = [ref + rng.choice("ACGT"), "*"]
        else:
            alts = ["<NON_REF>"]
        info = "." if alts != ["<NON_REF>"] else f"END={pos + rng.randint(1, 40)}"
        filt = rng.choice(["PASS", "PASS", "LowQual", "."])
        fields = [chrom, str(pos), rng.choice([".", f"rs{pos}"]), ref, ",".join(alts), "50", filt]
        calls = [_call(rng, len(alts)) for _ in samples]
        lines.append((pos, "\t".join([*fields, info, "GT:AD:DP:GQ:AF:PS:MIN_DP", *calls])))
    lines = [text for _, text in sorted(set(lines))]
    other = [
        "\t".join(
            ["chr2", str(1000 + i), ".", "A", "G", "50", "PASS", ".", "GT", *(["0/1"] * n_samples)]
        )
        for i in range(off_locus)
    ]
    head = HEADER + f"##contig=<ID={chrom},length={CHR1_LENGTH['GRCh38']}>\n##contig=<ID=chr2>\n"
    head += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    path.write_text(head + "\n".join(lines + other) + "\n")
    return path


def bgzip_indexed(plain: Path) -> Path:
    """bgzip + tabix index of a plain VCF (via htslib)."""
    out = plain.with_name(plain.name + ".gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out
