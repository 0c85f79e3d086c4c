#!/usr/bin/env python3
"""Batches of ART reads (scripts/simulate_art.py: art_illumina HiSeq 2500 profile, bwa mem,
samtools markdup) on the TEST locus, with their truth, for the scan's benchmark
(scripts/benchmark.py R3) and tests; and the evaluation of a caller's calls against the
truth (nlrp3annot scan, freebayes --pooled-continuous, bcftools call).

A batch of 20, as a lab runs them: 12 mosaics, each with one ClinVar pathogenic SNV at the
batch's allele fraction (two also with a small deletion at that fraction), one germline
heterozygous carrier of the first deletion (so a carrier sits in the batch), and 7 pure
reference samples: 2 with an oxidative (8-oxoG, read 1 only) artefact, 2 with PCR
duplicate families (marked by samtools markdup), 1 with FFPE deamination, 2 clean. Designs:
``deep`` (a capture of the coding exons at ~2,800x, 250 bp fragments, so mates overlap) and
``locus`` (~140x over the whole locus, 350 bp fragments). ``oxidative`` is a batch of 12
deep pure-reference samples, all with the oxidative artefact.

``amplicon`` is a batch of 14 of a directional amplicon assay (simulate_art's tiled 220 bp
amplicons, primers left in, MiSeq profile, no duplicate marking) at ~2,500x: 8 mosaics, two
at each of 1, 2, 5 and 10%, each with its own ClinVar pathogenic SNV (the first of each
fraction also with a small deletion at that fraction), and 6 pure references: 1 oxidised,
1 deaminated, 4 clean (no carrier: no PCR duplicates either, amplicons are all copies).

``umi`` is a batch of 12 of a UMI capture kit (the deep design's templates, 250 bp
fragments) at ~4,000 molecules per coding position, every molecule a UMI family of 1-6 read
pairs (RX tag, no duplicate marking), sequencing errors from ART's profile on every copy
and early PCR errors (2e-4 per base and family, each in 20-50% of its family): 6 mosaics,
two at each of 0.3, 0.5 and 1%, each with its own ClinVar pathogenic SNV, the first 0.5%
and 1% mosaics also carrying the first 0.3% mosaic's allele at 0.15% (low-level alleles of
other samples at a true allele); 6 pure references, the first with 3 stray molecules of
the first 1% mosaic's allele (as contamination brings). 12 minutes to build on 2 shared
cores (~50 s a sample: ART, the families in Python, bwa mem).

    python scripts/scan_batches.py --workdir /tmp/scanbench --design deep --level 0.03
    python scripts/scan_batches.py --workdir /tmp/scanbench --design amplicon
    python scripts/scan_batches.py --workdir /tmp/scanbench --design umi [--quick]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from simulate_art import FASTA, Library, Locus, Mosaic, simulate_sample

# ClinVar pathogenic SNVs (GRCh38, VCF-style) spread over the coding exons, with their
# ClinVar protein names; the types include G>T/C>A (what 8-oxoG fakes) and C>T/G>A (what
# deamination fakes), so artefacts and real alleles meet
SNVS = [
    (247418829, "G", "T", "p.Arg10Met"),
    (247418855, "G", "C", "p.Asp19His"),
    (247423964, "T", "C", "p.Ile172Thr"),
    (247424356, "G", "A", "p.Asp303Asn"),
    (247424369, "G", "T", "p.Gly307Val"),
    (247424492, "C", "T", "p.Thr348Met"),
    (247424570, "C", "A", "p.Ala374Asp"),
    (247424765, "C", "T", "p.Ala439Val"),
    (247425154, "G", "A", "p.Gly569Arg"),
    (247425241, "A", "T", "p.Ile598Phe"),
    (247429697, "G", "A", "p.Gly755Arg"),
    (247436053, "A", "G", "p.Tyr859Cys"),
]
# small deletions (c.482del and c.1699_1701del on NM_001243133.2: MANE exon 4 starts at
# c.398 = 247,423,847): (first deleted base, length)
DELETIONS = [(247_423_931, 1), (247_425_148, 3)]
DESIGNS = {
    "deep": Library("capture", 2800.0, fragment_mean=250, fragment_sd=40),
    "locus": Library("locus", 140.0, fragment_mean=350, fragment_sd=60),
    "amplicon": Library("amplicon", 2500.0, mark_duplicates=False),
    # read depth 4,800 (both mates) of 250 bp fragments: 4,000 molecules in an exon's middle
    "umi": Library(
        "capture",
        4000 * 300 / 250,
        umi=True,
        family_size=3.0,
        family_max=6,
        pcr_error=2e-4,
        mark_duplicates=False,
        even_depth=True,
    ),  # fmt: skip
}
AMPLICON_LEVELS = [0.01, 0.02, 0.05, 0.10]
UMI_LEVELS = [0.003, 0.005, 0.01]
UMI_LOW_LEVEL = 0.0015  # another sample's allele, below any limit at 4,000 molecules
UMI_STRAY_MOLECULES = 3
UMI_QUICK = {"mosaics": 1, "references": 3}  # 6: one mosaic per fraction, the stray reference
ARTEFACTS = {
    "oxidative": {"oxidative": 0.002},
    "duplicates": {"duplicates": 0.3, "family_size": 3.0},
    "deamination": {"deamination": 0.001},
    "clean": {},
}


@dataclass
class Sample:
    name: str
    alleles: list[Mosaic] = field(default_factory=list)
    artefact: str = "clean"
    seed: int = 1
    # real alleles below any limit: not expected to be found, and no false call if found
    low_level: list[Mosaic] = field(default_factory=list)
    # (allele, molecules) brought by contamination: a call of one is a false call
    stray: list[tuple[Mosaic, int]] = field(default_factory=list)

    @property
    def pure_reference(self) -> bool:
        return not self.alleles


def deletion(locus: Locus, first: int, length: int, fraction: float) -> Mosaic:
    """A deletion VCF-style (anchor base first), left-aligned on the reference."""
    anchor = first - 1
    while locus.base(anchor) == locus.base(anchor + length):  # left-align
        anchor -= 1
    ref = "".join(locus.base(p) for p in range(anchor, anchor + length + 1))
    return Mosaic(anchor, ref, ref[0], fraction)


def batch(design: str, level: float, locus: Locus, seed: int = 1) -> list[Sample]:
    tag = f"{design}{round(level * 1000):03d}"
    samples = []
    for k, (pos, ref, alt, _) in enumerate(SNVS):
        alleles = [Mosaic(pos, ref, alt, level)]
        if k < len(DELETIONS):
            alleles.append(deletion(locus, *DELETIONS[k], level))
        samples.append(Sample(f"{tag}_M{k + 1:02d}", alleles, "clean", seed * 1000 + k))
    samples.append(Sample(f"{tag}_G1", [deletion(locus, *DELETIONS[0], 0.5)], "clean",
                          seed * 1000 + 50))  # fmt: skip
    for k, artefact in enumerate(["oxidative", "oxidative", "duplicates", "duplicates",
                                  "deamination", "clean", "clean"]):  # fmt: skip
        samples.append(Sample(f"{tag}_R{k + 1}", [], artefact, seed * 1000 + 100 + k))
    return samples


def amplicon_batch(
    locus: Locus, levels: list[float] = AMPLICON_LEVELS, references: int = 6, seed: int = 3
) -> list[Sample]:
    """The amplicon batch: two mosaics per fraction of ``levels``, mosaic k with SNVS[k] and
    the first of each fraction also with a deletion (the two DELETIONS in turn), then the
    first ``references`` of: oxidised, deaminated, 4 clean. A mosaic keeps its alleles,
    name and seed whatever ``levels`` holds, so a smaller batch reuses the full one's BAMs."""
    samples = []
    for i, level in enumerate(AMPLICON_LEVELS):
        if level not in levels:
            continue
        for j in range(2):
            k = 2 * i + j
            pos, ref, alt, _ = SNVS[k]
            alleles = [Mosaic(pos, ref, alt, level)]
            if j == 0:
                alleles.append(deletion(locus, *DELETIONS[i % 2], level))
            name = f"amp{round(level * 1000):03d}_M{j + 1}"
            samples.append(Sample(name, alleles, "clean", seed * 1000 + k))
    for k, artefact in enumerate(["oxidative", "deamination", "clean", "clean", "clean",
                                  "clean"][:references]):  # fmt: skip
        samples.append(Sample(f"amp_R{k + 1}", [], artefact, seed * 1000 + 100 + k))
    return samples


def umi_batch(
    levels: list[float] = UMI_LEVELS, mosaics: int = 2, references: int = 6, seed: int = 5
) -> list[Sample]:
    """The UMI batch: ``mosaics`` (1 or 2) per fraction of ``levels``, mosaic k with SNVS[k];
    the first 0.5% and 1% mosaics also carry the first 0.3% mosaic's allele at 0.15%; then
    ``references`` pure references, the first with 3 stray molecules of the first 1%
    mosaic's allele. Names and seeds do not depend on the arguments, so a smaller batch
    reuses the full one's BAMs."""

    def snv(k: int, fraction: float) -> Mosaic:
        pos, ref, alt, _ = SNVS[k]
        return Mosaic(pos, ref, alt, fraction)

    low = snv(0, UMI_LOW_LEVEL)  # UMI_LEVELS[0]'s first mosaic's allele
    samples = []
    for i, level in enumerate(UMI_LEVELS):
        for j in range(2):
            if level not in levels or j >= mosaics:
                continue
            k = 2 * i + j
            name = f"umi{round(level * 1000):03d}_M{j + 1}"
            extra = [low] if j == 0 and i > 0 else []
            samples.append(Sample(name, [snv(k, level)], "clean", seed * 1000 + k, extra))
    stray = [(snv(4, 0.0), UMI_STRAY_MOLECULES)]  # UMI_LEVELS[2]'s first mosaic's allele
    for k in range(references):
        samples.append(Sample(f"umi_R{k + 1}", [], "clean", seed * 1000 + 100 + k,
                              stray=stray if k == 0 else []))  # fmt: skip
    return samples


def oxidative_batch(count: int = 12, seed: int = 7) -> list[Sample]:
    return [Sample(f"oxo_R{k + 1:02d}", [], "oxidative", seed * 1000 + k) for k in range(count)]


def library(design: str, artefact: str, depth: float | None = None) -> Library:
    base = DESIGNS[design].__dict__ | ({"depth": depth} if depth else {})
    return Library(**{**base, **ARTEFACTS[artefact]})


def build(
    samples: list[Sample], design: str, folder: Path, locus: Locus, depth: float | None = None
) -> list[Path]:
    """Every sample's BAM (kept: a BAM already there is reused), and truth.tsv; ``depth``
    instead of the design's."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in samples:
        bam = folder / f"{s.name}.bam"
        if not Path(str(bam) + ".bai").exists():
            simulate_sample(bam, s.name, s.alleles + s.low_level,
                            library(design, s.artefact, depth), s.seed, locus,
                            molecules=s.stray)  # fmt: skip
        paths.append(bam)
    with (folder / "truth.tsv").open("w") as handle:
        handle.write("sample\tartefact\tpos\tref\talt\tfraction\tkind\n")
        for s in samples:
            rows = [(a, "allele") for a in s.alleles] + [(a, "low_level") for a in s.low_level]
            rows += [(Mosaic(a.pos, a.ref, a.alt, n), "stray_molecules") for a, n in s.stray]
            for a, kind in rows or [(None, "")]:
                cells = [a.pos, a.ref, a.alt, a.fraction] if a else [""] * 4
                handle.write("\t".join(str(v) for v in [s.name, s.artefact, *cells, kind]))
                handle.write("\n")
    return paths


# -- evaluation -------------------------------------------------------------------------


@dataclass
class Score:
    found: int = 0
    truths: int = 0
    found_snv: int = 0
    truths_snv: int = 0
    false_calls_reference: int = 0  # any call in a pure-reference sample
    false_at_known: int = 0  # false calls (any sample) at a ClinVar pathogenic allele
    references: int = 0
    reference_status: list[str] = field(default_factory=list)  # non-negative statuses
    missed: list[str] = field(default_factory=list)


def score(samples: list[Sample], calls: dict[str, set[tuple[int, str, str]]], known) -> Score:
    """``calls``: sample -> (pos, ref, alt) VCF-style, left-aligned."""
    out = Score()
    for s in samples:
        mine = calls.get(s.name, set())
        truth = {(a.pos, a.ref, a.alt) for a in s.alleles}
        if s.pure_reference:
            out.references += 1
            out.false_calls_reference += len(mine)
        for a in s.alleles:
            if a.fraction >= 0.5:
                continue  # the germline carrier is there to hide others, not to be found
            hit = (a.pos, a.ref, a.alt) in mine
            out.truths += 1
            out.found += hit
            if len(a.ref) == len(a.alt) == 1:
                out.truths_snv += 1
                out.found_snv += hit
            if not hit:
                out.missed.append(f"{s.name}:{a.pos}{a.ref}>{a.alt}")
        low = {(a.pos, a.ref, a.alt) for a in s.low_level}
        out.false_at_known += len((mine - truth - low) & known)
    return out


def read_vcf_calls(path: Path, min_reads: int = 0, min_vaf: float = 0.0, both_strands=False):
    """(pos, ref, alt) of a single-sample VCF's non-reference calls, split per ALT and
    left-aligned by ``bcftools norm`` beforehand; optional filters as the evaluation's
    "freebayes filtered" column: >= min_reads ALT reads, VAF >= min_vaf, ALT on both
    strands (SAF, SAR)."""
    import pysam

    out = set()
    with pysam.VariantFile(str(path)) as vcf:
        for rec in vcf:
            sample = rec.samples[0]
            for i, alt in enumerate(rec.alts or ()):
                ao = _nth(sample.get("AO"), i)
                ro = sample.get("RO") or 0
                depth = (sum(x or 0 for x in _all(sample.get("AO"))) + ro) or 1
                if min_reads and (ao or 0) < min_reads:
                    continue
                if min_vaf and (ao or 0) / depth < min_vaf:
                    continue
                if both_strands:
                    saf, sar = _nth(rec.info.get("SAF"), i), _nth(rec.info.get("SAR"), i)
                    if not (saf and sar):
                        continue
                out.add((rec.pos, rec.ref, alt))
    return out


def _all(value):
    return value if isinstance(value, tuple) else (value,)


def _nth(value, i):
    values = _all(value)
    return values[i] if i < len(values) else None


def freebayes_calls(bam: Path, fasta: Path, targets: Path, folder: Path) -> Path:
    """``freebayes --pooled-continuous`` on one sample (a mosaic caller's settings: any
    fraction from 0.5% with 3 reads), split and left-aligned by bcftools norm."""
    raw = folder / f"{bam.stem}.freebayes.vcf"
    with raw.open("w") as handle:
        subprocess.run(
            ["freebayes", "-f", str(fasta), "-t", str(targets), "--pooled-continuous",
             "-F", "0.005", "-C", "3", "--min-coverage", "20", str(bam)],
            check=True, stdout=handle,
        )  # fmt: skip
    normed = folder / f"{bam.stem}.freebayes.norm.vcf"
    subprocess.run(["bcftools", "norm", "-m", "-any", "-f", str(fasta), "-o", str(normed),
                    str(raw)], check=True, capture_output=True)  # fmt: skip
    return normed


def write_targets(path: Path) -> Path:
    from simulate_art import CODING

    path.write_text("".join(f"chr1\t{a - 1}\t{b}\n" for a, b in CODING))
    return path


def plain_fasta(folder: Path) -> Path:
    """The TEST genome uncompressed (freebayes reads plain FASTA), made once."""
    out = folder / "TEST_LOCUS_GRCh38_not_real_genome.fa"
    if not Path(str(out) + ".fai").exists():
        subprocess.run(f"gzip -dc {FASTA} > {out}", shell=True, check=True)
        subprocess.run(["samtools", "faidx", str(out)], check=True)
    return out


def scan_calls(folder: Path) -> tuple[dict[str, set], dict[str, dict]]:
    """Calls and patient rows of an ``nlrp3annot scan`` + ``annotate --patients`` run."""
    calls: dict[str, set] = {}
    with (folder / "scan.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["verdict"] == "called":
                calls.setdefault(row["sample"], set()).add(
                    (int(row["pos"]), row["ref"], row["alt"])
                )
    patients = {}
    with (folder / "patients.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            patients[row["sample"].lstrip("'")] = row
    return calls, patients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--design", choices=[*DESIGNS, "oxidative"], default="deep")
    parser.add_argument("--quick", action="store_true", help="umi: the quick batch only")
    parser.add_argument("--level", type=float, default=0.03)
    args = parser.parse_args()
    locus = Locus(args.workdir / "locus")
    if args.design == "oxidative":
        samples, design = oxidative_batch(), "deep"
    elif args.design == "amplicon":
        samples, design = amplicon_batch(locus), "amplicon"
    elif args.design == "umi":
        samples, design = umi_batch(**(UMI_QUICK if args.quick else {})), "umi"
    else:
        samples, design = batch(args.design, args.level, locus), args.design
    fixed = ("oxidative", "amplicon", "umi")
    name = args.design if args.design in fixed else f"{args.design}_{args.level:g}"
    for path in build(samples, design, args.workdir / name, locus):
        print(path)


if __name__ == "__main__":
    main()
