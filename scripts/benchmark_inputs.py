"""Seeded inputs for scripts/benchmark.py: GATK-like VCFs, the MANE model as GFF3.

Kept apart from nlrp3annot on purpose: the benchmark must not import the package it times
(whose modules move), so the transcript model is read from reference/NLRP3_MANE.json and
every VCF is built here with plain string joins and bgzip, fast enough for 1,000,000
records or 20,000 samples. Records look like GATK HaplotypeCaller / GenotypeGVCFs output
(QUAL, 14-15 INFO keys, GT:AD:DP:GQ:PL with PLs computed from AD), because parsing those
fields is a real part of the cost a lab pays; locus REF alleles are read from the TEST
FASTA, because bcftools csq aborts on a REF mismatch.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysam

ROOT = Path(__file__).resolve().parent.parent
MODEL_JSON = ROOT / "reference" / "NLRP3_MANE.json"
FASTA = ROOT / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
FLANK = 5_000  # the annotated window: transcript +/- 5 kb
GENERATOR_VERSION = 2  # bump when the generators change, so cached inputs are rebuilt

GRCH38_LENGTHS = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895,
}  # fmt: skip

# Known pathogenic CAPS variants (MANE c. numbering = legacy numbering): their genomic place
# is computed from the model and their REF base checked against the FASTA.
KNOWN_CAPS = [("R260W", 778, "C", "T"), ("D303N", 907, "G", "A"), ("E311K", 931, "G", "A"),
              ("T348M", 1043, "C", "T"), ("A439V", 1316, "C", "T")]  # fmt: skip


@dataclass(frozen=True)
class Model:
    """The GRCh38 MANE transcript, with the attribute names tests/differential_tools expects."""

    chrom: str
    exons: tuple[tuple[int, int], ...]
    cds_start: int
    cds_end: int
    gene_start: int
    gene_end: int
    accession: str
    protein_id: str
    gene: str
    gene_id: str
    protein: str

    @property
    def tx_start(self) -> int:
        return self.exons[0][0]

    @property
    def tx_end(self) -> int:
        return self.exons[-1][1]

    @property
    def window(self) -> tuple[int, int]:
        """The region handed to bcftools: gene +/- 5 kb (a superset of the annotated one)."""
        return self.gene_start - FLANK, self.gene_end + FLANK

    @property
    def inner(self) -> tuple[int, int]:
        """Where locus records go: inside both gene +/- 5 kb and transcript +/- 5 kb, so
        both tools see every one of them whichever definition they use."""
        return (
            max(self.gene_start, self.tx_start) - FLANK + 2,
            min(self.gene_end, self.tx_end) + FLANK - 2,
        )

    def cds_positions(self) -> list[int]:
        return [
            p
            for s, e in self.exons
            for p in range(max(s, self.cds_start), min(e, self.cds_end) + 1)
        ]

    def c_to_genomic(self, c: int) -> int:
        return self.cds_positions()[c - 1]


def load_model() -> Model:
    d = json.loads(MODEL_JSON.read_text())
    b = d["builds"]["GRCh38"]
    return Model(
        chrom=b["chrom"],
        exons=tuple(sorted((int(s), int(e)) for s, e in b["exons"])),
        cds_start=b["cds_start"],
        cds_end=b["cds_end"],
        gene_start=b["gene_start"],
        gene_end=b["gene_end"],
        accession=d["transcript"],
        protein_id=d["protein_id"],
        gene=d["gene"],
        gene_id=d["gene_id"],
        protein=d["protein"],
    )


@cache
def locus_sequence(model: Model) -> tuple[int, str]:
    """(first position, upper-case bases) of the window plus a few bases for deletions."""
    lo, hi = model.window
    with pysam.FastaFile(str(FASTA)) as fasta:
        return lo, fasta.fetch(model.chrom, lo - 1, hi + 10).upper()


def write_gff3(model: Model, path: Path) -> None:
    """Ensembl-style GFF3 that bcftools csq 1.16 accepts: ID=gene:/transcript: prefixes,
    biotype= on gene and mRNA rows (without it csq silently ignores the gene), CDS rows
    with GFF3 phase and including the stop codon."""
    gid, tid = f"gene:{model.gene_id.split('.')[0]}", f"transcript:{model.accession}"
    t0, t1 = model.tx_start, model.tx_end
    rows = [
        (t0, t1, "gene", f"ID={gid};Name={model.gene};biotype=protein_coding", "."),
        (
            t0,
            t1,
            "mRNA",
            f"ID={tid};Parent={gid};Name={model.accession};biotype=protein_coding",
            ".",
        ),
    ]
    done = 0
    for s, e in model.exons:
        rows.append((s, e, "exon", f"Parent={tid}", "."))
        if s < model.cds_start:
            rows.append((s, min(e, model.cds_start - 1), "five_prime_UTR", f"Parent={tid}", "."))
        lo, hi = max(s, model.cds_start), min(e, model.cds_end)
        if lo <= hi:
            phase = str((3 - done % 3) % 3)
            rows.append((lo, hi, "CDS", f"ID=CDS:{model.protein_id};Parent={tid}", phase))
            done += hi - lo + 1
        if e > model.cds_end:
            rows.append((max(s, model.cds_end + 1), e, "three_prime_UTR", f"Parent={tid}", "."))
    with path.open("w") as out:
        out.write("##gff-version 3\n")
        for s, e, kind, attrs, phase in rows:
            out.write(f"{model.chrom}\tbench\t{kind}\t{s}\t{e}\t.\t+\t{phase}\t{attrs}\n")


# --- GATK-like records -------------------------------------------------------------------
_INFO = [  # GATK 4's INFO keys (descriptions abridged)
    ("AC", "A", "Integer", "Allele count in genotypes, for each ALT allele"),
    ("AF", "A", "Float", "Allele Frequency, for each ALT allele"),
    ("AN", "1", "Integer", "Total number of alleles in called genotypes"),
    ("BaseQRankSum", "1", "Float", "Z-score from Wilcoxon rank sum test of Alt Vs. Ref BQs"),
    ("DP", "1", "Integer", "Approximate read depth; some reads may have been filtered"),
    ("ExcessHet", "1", "Float", "Phred-scaled p-value for exact test of excess heterozygosity"),
    ("FS", "1", "Float", "Phred-scaled p-value using Fisher's exact test for strand bias"),
    ("InbreedingCoeff", "1", "Float", "Inbreeding coefficient"),
    ("MLEAC", "A", "Integer", "Maximum likelihood expectation (MLE) for the allele counts"),
    ("MLEAF", "A", "Float", "Maximum likelihood expectation (MLE) for the allele frequency"),
    ("MQ", "1", "Float", "RMS Mapping Quality"),
    ("MQRankSum", "1", "Float", "Z-score From Wilcoxon rank sum test of Alt vs. Ref MQs"),
    ("QD", "1", "Float", "Variant Confidence/Quality by Depth"),
    ("ReadPosRankSum", "1", "Float", "Z-score from Wilcoxon rank sum test of read positions"),
    ("SOR", "1", "Float", "Symmetric Odds Ratio of 2x2 contingency table for strand bias"),
]
_FORMAT = [
    ("AD", "R", "Integer", "Allelic depths for the ref and alt alleles in the order listed"),
    ("DP", "1", "Integer", "Approximate read depth (reads with MQ=255 or bad mates filtered)"),
    ("GQ", "1", "Integer", "Genotype Quality"),
    ("GT", "1", "String", "Genotype"),
    ("PL", "G", "Integer", "Normalized, Phred-scaled likelihoods for genotypes"),
]
_LOG_ERR, _LOG_OK, _LOG_HALF = math.log10(0.01), math.log10(0.99), math.log10(0.5)


def vcf_header(samples: list[str], contigs: dict[str, int], caller: str = "HaplotypeCaller"):
    """A GATK 4 style header; ``samples`` empty gives a sites-only header."""
    lines = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
    ]
    if samples:
        lines += [
            f'##FORMAT=<ID={i},Number={n},Type={t},Description="{d}">' for i, n, t, d in _FORMAT
        ]
        lines.append(
            f'##GATKCommandLine=<ID={caller},CommandLine="gatk {caller} (synthetic)",'
            'Version="4.2.6.1">'
        )
        lines += [f'##INFO=<ID={i},Number={n},Type={t},Description="{d}">' for i, n, t, d in _INFO]
    lines += [f"##contig=<ID={c},length={n},assembly=GRCh38>" for c, n in contigs.items()]
    lines += [f"##source={caller}", "##reference=TEST_LOCUS_GRCh38_not_real_genome.fa.gz"]
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    return "\n".join(lines) + "\n" + "\t".join(columns) + "\n"


def genotype_field(ref_n: int, alt_n: int, called: int, extra_dp: int = 0) -> tuple[str, int]:
    """GT:AD:DP:GQ:PL for the called genotype (0=0/0, 1=0/1, 2=1/1) with PLs from the read
    counts (1% error), shifted so the called genotype has PL 0; GQ = second PL, cap 99.
    Returns the field and PL[0] (which a variant's QUAL is built from)."""
    raw = (
        -10 * (ref_n * _LOG_OK + alt_n * _LOG_ERR),
        -10 * (ref_n + alt_n) * _LOG_HALF,
        -10 * (ref_n * _LOG_ERR + alt_n * _LOG_OK),
    )
    base = raw[called]
    pl = [0 if i == called else max(1, round(r - base)) for i, r in enumerate(raw)]
    gq = min(99, sorted(pl)[1])
    gt = ("0/0", "0/1", "1/1")[called]
    return f"{gt}:{ref_n},{alt_n}:{ref_n + alt_n + extra_dp}:{gq}:{pl[0]},{pl[1]},{pl[2]}", pl[0]


def _site_stats(rng: random.Random, het: bool) -> tuple[tuple[str, str, str], str, str, str]:
    """(rank sums, FS, MQ, SOR) as GATK prints them; rank sums only exist with REF reads."""
    ranks = ("", "", "")
    if het:
        ranks = (
            f"BaseQRankSum={rng.gauss(0, 1):.3f};",
            f"MQRankSum={rng.gauss(0, 0.5):.3f};",
            f"ReadPosRankSum={rng.gauss(0, 1):.3f};",
        )
    fs = f"{rng.expovariate(0.4):.3f}" if rng.random() < 0.6 else "0.000"
    return ranks, fs, f"{60 - rng.expovariate(2):.2f}", f"{rng.uniform(0.3, 1.6):.3f}"


def single_sample_line(rng: random.Random, chrom: str, pos: int, ref: str, alt: str, vid: str):
    """One HaplotypeCaller record of one sample: 0/1 (60%) or 1/1, AD/DP/GQ/PL consistent."""
    depth = max(6, int(rng.gauss(34, 10)))
    if rng.random() < 0.6:
        alt_n = min(depth - 2, max(2, round(rng.gauss(depth / 2, math.sqrt(depth) / 2))))
        called, ac, af = 1, 1, "0.500"
    else:
        alt_n, called, ac, af = depth - (rng.random() < 0.08), 2, 2, "1.00"
    fmt, pl0 = genotype_field(depth - alt_n, alt_n, called, extra_dp=rng.random() < 0.2)
    qual = pl0 + rng.random() * 5 + 0.01
    ranks, fs, mq, sor = _site_stats(rng, called == 1)
    b, m, r = ranks
    info = (
        f"AC={ac};AF={af};AN=2;{b}DP={depth};ExcessHet=3.0103;FS={fs};MLEAC={ac};"
        f"MLEAF={af};MQ={mq};{m}QD={qual / depth:.2f};{r}SOR={sor}"
    )
    flt = "PASS" if qual >= 30 else "LowQual"
    return (
        f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t{qual:.2f}\t{flt}\t{info}\tGT:AD:DP:GQ:PL\t{fmt}\n"
    )


def random_alleles(rng: random.Random, ref_base: str) -> tuple[str, str]:
    """Off-locus alleles: any REF (bcftools drops these before csq; the FASTA is chr1 only)."""
    roll = rng.random()
    if roll < 0.88:
        return ref_base, rng.choice([b for b in "ACGT" if b != ref_base])
    extra = "".join(rng.choices("ACGT", k=rng.randint(1, 3)))
    return (ref_base + extra, ref_base) if roll < 0.94 else (ref_base, ref_base + extra)


def random_indel(rng: random.Random, seq: str, start: int, lo: int, pos: int):
    """A 1-3 bp deletion or insertion after ``pos``, left-aligned as GATK writes it
    (not below ``lo``); ``seq`` holds the genome from ``start``."""
    i, size = pos - start, rng.randint(1, 3)
    if rng.random() < 0.5:  # delete seq[i+1 .. i+size]
        while i + start > lo and seq[i] == seq[i + size]:
            i -= 1
        return i + start, seq[i : i + size + 1], seq[i]
    inserted = "".join(rng.choices("ACGT", k=size))
    while i + start > lo and seq[i] == inserted[-1]:
        inserted, i = seq[i] + inserted[:-1], i - 1
    return i + start, seq[i], seq[i] + inserted


def locus_alleles(
    rng: random.Random,
    model: Model,
    n: int,
    indels: float = 0.12,
    spacing: int = 6,
    avoid: Iterable[int] = (),
) -> list[tuple[int, str, str]]:
    """``n`` sorted (pos, REF, ALT) in the window, REF from the FASTA, >= ``spacing`` apart
    (a real single-sample call set rarely has overlapping records)."""
    start, seq = locus_sequence(model)
    lo, hi = model.inner
    taken, out = set(avoid), []
    while len(out) < n:
        pos = rng.randint(lo, hi - 4)
        if any(abs(pos - t) < spacing for t in taken):
            continue
        base = seq[pos - start]
        if rng.random() >= indels:
            ref, alt = base, rng.choice([b for b in "ACGT" if b != base])
        else:
            pos, ref, alt = random_indel(rng, seq, start, lo, pos)
            if any(abs(pos - t) < spacing for t in taken):
                continue
        taken.add(pos)
        out.append((pos, ref, alt))
    return sorted(out)


def known_caps(model: Model) -> list[tuple[str, int, str, str]]:
    """(name, pos, REF, ALT) of KNOWN_CAPS on the model; fails loudly if a REF disagrees."""
    start, seq = locus_sequence(model)
    out = []
    for name, c, ref, alt in KNOWN_CAPS:
        pos = model.c_to_genomic(c)
        if seq[pos - start] != ref:
            raise ValueError(f"{name}: c.{c} is {seq[pos - start]} at {pos}, expected {ref}")
        out.append((name, pos, ref, alt))
    return out


# --- compression ---------------------------------------------------------------------------
def write_bgzip(path: Path, chunks: Iterable[str], index: bool = False) -> None:
    """Stream text into ``bgzip -@2`` (pysam's single-threaded compressor as a fallback);
    optionally tabix-index the result."""
    if shutil.which("bgzip"):
        with path.open("wb") as out:
            proc = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
            assert proc.stdin is not None
            for chunk in chunks:
                proc.stdin.write(chunk.encode())
            proc.stdin.close()
            if proc.wait() != 0:
                raise RuntimeError(f"bgzip failed writing {path}")
    else:
        plain = path.with_suffix("")
        with plain.open("w") as out:
            out.writelines(chunks)
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True)


# --- the workloads' inputs -----------------------------------------------------------------
def _rs(rng: random.Random) -> str:
    return f"rs{rng.randint(10_000, 2_000_000_000)}" if rng.random() < 0.4 else "."


def _off_locus(rng: random.Random, model: Model, n: int) -> list[tuple[str, int, str, str]]:
    """``n`` records spread over chr1..chrX by length, none within 10 kb of the window."""
    lo, hi = model.window
    total = sum(GRCH38_LENGTHS.values())
    names = list(GRCH38_LENGTHS)
    counts = [int(n * GRCH38_LENGTHS[c] / total) for c in names]
    counts[0] += n - sum(counts)
    out = []
    for chrom, k in zip(names, counts, strict=True):
        positions: set[int] = set()
        while len(positions) < k:
            for pos in rng.sample(
                range(10_000, GRCH38_LENGTHS[chrom] - 10_000), k - len(positions)
            ):
                if chrom != model.chrom or not lo - 10_000 <= pos <= hi + 10_000:
                    positions.add(pos)
        for pos in sorted(positions):
            out.append((chrom, pos, *random_alleles(rng, rng.choice("ACGT"))))
    return out


def _single_sample_records(rng: random.Random, model: Model, n_off: int, n_locus: int):
    """Sorted (chrom, pos, ref, alt): off-locus records plus ``n_locus`` in the window."""
    records = _off_locus(rng, model, n_off)
    records += [(model.chrom, p, r, a) for p, r, a in locus_alleles(rng, model, n_locus)]
    order = {c: i for i, c in enumerate(GRCH38_LENGTHS)}
    return sorted(records, key=lambda r: (order[r[0]], r[1]))


def write_w1(path: Path, model: Model, n_records: int, n_locus: int, seed: int) -> None:
    """One sample, ``n_records`` across chr1..chrX, bgzip without an index."""
    rng = random.Random(seed)
    records = _single_sample_records(rng, model, n_records - n_locus, n_locus)

    def chunks():
        yield vcf_header(["SAMPLE01"], GRCH38_LENGTHS)
        for i in range(0, len(records), 20_000):
            yield "".join(
                single_sample_line(rng, c, p, r, a, _rs(rng))
                for c, p, r, a in records[i : i + 20_000]
            )

    write_bgzip(path, chunks())


def write_w3(
    folder: Path,
    model: Model,
    n_files: int,
    n_locus: int,
    seed: int,
    pool: int = 600,
    locus_only: bool = False,
) -> Path:
    """``n_files`` single-sample bgzip+tabix VCFs and the list naming them; returns the list.

    Each file's locus records are drawn from one cohort-wide set of ``pool`` alleles, as in
    a lab's batch where patients share the common NLRP3 variants (the issue's W3: 40,000
    locus records, 600 distinct alleles). ``locus_only`` leaves out the 200-400 records
    elsewhere on the panel: a lab's per-patient calls after `bcftools view -R` (issue 28)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cohort = locus_alleles(rng, model, pool, spacing=1)
    order = {c: i for i, c in enumerate(GRCH38_LENGTHS)}
    names = []
    for i in range(1, n_files + 1):
        sample = f"P{i:05d}"
        mine = sorted(rng.sample(cohort, min(n_locus, len(cohort))))
        records = [] if locus_only else _off_locus(rng, model, rng.randint(200, 400))
        records += [(model.chrom, p, r, a) for p, r, a in mine]
        records.sort(key=lambda r: (order[r[0]], r[1]))
        plain = folder / f"{sample}.vcf"
        with plain.open("w") as out:
            out.write(vcf_header([sample], GRCH38_LENGTHS))
            out.writelines(single_sample_line(rng, *r, _rs(rng)) for r in records)
        pysam.tabix_index(str(plain), preset="vcf", force=True)  # -> .vcf.gz + .tbi
        names.append(f"{sample}.vcf.gz")
    listing = folder / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    return listing


def _genotype_pool(rng: random.Random) -> tuple[list[str], list[int], list[float]]:
    """0/0 genotypes with a realistic depth spread (a read or two of error sometimes)."""
    fields, depths, cum, total = [], [], [], 0.0
    for depth in range(8, 91):
        weight = math.exp(-(((depth - 34) / 11) ** 2) / 2)
        for alt_n, share in ((0, 0.96), (1, 0.04)):
            fields.append(genotype_field(depth - alt_n, alt_n, 0)[0])
            depths.append(depth)
            total += weight * share
            cum.append(total)
    return fields, depths, cum


def _joint_line(rng: random.Random, pool, chrom: str, site, n: int) -> str:
    """One GenotypeGVCFs-like record of ``n`` samples: mostly 0/0, carriers by frequency,
    ~0.5% ./., now and then a low-fraction (5-15%) 0/1 call."""
    fields, depths, cum = pool
    pos, ref, alt, name = site
    idx = rng.choices(range(len(fields)), cum_weights=cum, k=n)
    gts = [fields[i] for i in idx]
    dp = sum(depths[i] for i in idx)
    if name:  # a known CAPS variant: a handful of het carriers
        frac = 0.0005
    elif rng.random() < 0.7:
        frac = rng.uniform(0.0002, 0.005)
    else:
        frac = rng.uniform(0.03, 0.08)
    n_carriers = max(1, round(frac * n))
    n_low = rng.randint(1, 3) if rng.random() < 0.2 else 0
    n_missing = round(n * rng.uniform(0.003, 0.007))
    chosen = rng.sample(range(n), min(n, n_carriers + n_low + n_missing))
    ac = an_missing = het = 0
    qual = carrier_dp = 0.0
    p_hom = (frac / 2) / (2 - frac / 2)
    for j, i in enumerate(chosen):
        dp -= depths[idx[i]]
        if j >= n_carriers + n_low:
            gts[i], an_missing = "./.:0,0:0:.:0,0,0", an_missing + 2
            continue
        depth = max(8, int(rng.gauss(36, 10)))
        if j >= n_carriers:  # low-fraction ALT reads still called 0/1
            depth = rng.randint(40, 150)
            alt_n, called = max(2, round(depth * rng.uniform(0.05, 0.15))), 1
        elif rng.random() < p_hom:
            alt_n, called = depth - (rng.random() < 0.05), 2
        else:
            alt_n = min(depth - 2, max(2, round(rng.gauss(depth / 2, math.sqrt(depth) / 2))))
            called = 1
        gts[i], pl0 = genotype_field(depth - alt_n, alt_n, called)
        dp += depth
        carrier_dp += depth
        qual += pl0
        ac += called
        het += called == 1
    an = 2 * n - an_missing
    af = f"{ac / an:.3g}"
    qual = min(qual, 999_999.0) + rng.random()
    ranks, fs, mq, sor = _site_stats(rng, het > 0)
    b, m, r = ranks
    info = (
        f"AC={ac};AF={af};AN={an};{b}DP={dp};ExcessHet={rng.uniform(0, 3.5):.4f};FS={fs};"
        f"InbreedingCoeff={rng.gauss(-0.002, 0.01):.4f};MLEAC={ac};MLEAF={af};MQ={mq};{m}"
        f"QD={min(qual / max(carrier_dp, 1.0), 40.0):.2f};{r}SOR={sor}"
    )
    flt = "PASS" if qual >= 30 else "LowQual"
    rid = f"CAPS_{name}" if name else "."
    return (
        f"{chrom}\t{pos}\t{rid}\t{ref}\t{alt}\t{qual:.2f}\t{flt}\t{info}\tGT:AD:DP:GQ:PL\t"
        + "\t".join(gts)
        + "\n"
    )


def write_w4(path: Path, model: Model, n_samples: int, n_records: int, seed: int) -> None:
    """Joint call set of ``n_samples`` over ``n_records`` locus sites (the known CAPS
    variants among them), bgzip + tabix."""
    rng = random.Random(seed)
    caps = known_caps(model)
    sites = locus_alleles(
        rng, model, n_records - len(caps), spacing=3, avoid=[pos for _, pos, _, _ in caps]
    )
    sites = sorted(
        [(p, r, a, None) for p, r, a in sites] + [(p, r, a, name) for name, p, r, a in caps]
    )
    pool = _genotype_pool(rng)
    samples = [f"S{i:05d}" for i in range(1, n_samples + 1)]

    def chunks():
        yield vcf_header(samples, {model.chrom: GRCH38_LENGTHS[model.chrom]}, "GenotypeGVCFs")
        for site in sites:
            yield _joint_line(rng, pool, model.chrom, site, n_samples)

    write_bgzip(path, chunks(), index=True)


def w5_sites(model: Model, cds_bases: int, n_indels: int, seed: int):
    """Every SNV of the first ``cds_bases`` CDS bases and ``n_indels`` random 1-3 bp indels."""
    rng = random.Random(seed)
    start, seq = locus_sequence(model)
    sites = set()
    for pos in model.cds_positions()[:cds_bases]:
        base = seq[pos - start]
        sites.update((pos, base, alt) for alt in "ACGT" if alt != base)
    lo, hi = model.inner
    indels: set[tuple[int, str, str]] = set()
    while len(indels) < n_indels:
        indels.add(random_indel(rng, seq, start, lo, rng.randint(lo, hi - 4)))
    return sorted(sites | indels)


def w5_wide_sites(model: Model, bases: int, n_indels: int, seed: int):
    """Every SNV of ``bases`` consecutive bases from the first CDS base (exons and introns
    alike) and ``n_indels`` random 1-3 bp indels: W5's counts times ten, all distinct."""
    rng = random.Random(seed)
    start, seq = locus_sequence(model)
    first = model.cds_positions()[0]
    sites = {
        (pos, seq[pos - start], alt)
        for pos in range(first, first + bases)
        for alt in "ACGT"
        if alt != seq[pos - start]
    }
    lo, hi = model.inner
    assert first + bases <= hi, "the wide W5 runs past the locus"
    indels: set[tuple[int, str, str]] = set()
    while len(indels) < n_indels:
        indels.add(random_indel(rng, seq, start, lo, rng.randint(lo, hi - 4)))
    return sorted(sites | indels)


def write_sites(path: Path, sites, contig_length: int, shift: int = 0) -> None:
    """Sites-only VCF; ``shift`` moves positions onto a locus-only contig (for SnpEff)."""
    with path.open("w") as out:
        out.write(vcf_header([], {"chr1": contig_length}))
        out.writelines(f"chr1\t{p - shift}\t.\t{r}\t{a}\t.\t.\t.\n" for p, r, a in sites)


def write_one_record(path: Path, model: Model) -> None:
    """The start-up input: one sample, one R260W call."""
    _, pos, ref, alt = known_caps(model)[0]
    rng = random.Random(1)
    with path.open("w") as out:
        out.write(vcf_header(["SAMPLE01"], {"chr1": GRCH38_LENGTHS["chr1"]}))
        out.write(single_sample_line(rng, "chr1", pos, ref, alt, "rs121908150"))


def write_reads(folder: Path, model: Model, depth: int, flank: int, cram: bool, seed: int) -> Path:
    """Simulated single-end 150 bp reads (scripts/simulate_reads.py) at ``depth`` over the
    MANE coding targets, or, with ``flank`` > 0, over the whole locus and ``flank`` bases each
    side (a stand-in for a genome: the scan reads only the locus through the index), written
    in 200 kb pieces and merged; BAM or CRAM, indexed. Also ``targets.bed`` for the anchor."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from simulate_reads import simulate

    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.patients.coverage import coding_targets

    t = mane_transcript("GRCh38")
    targets = coding_targets(t.exons, t.cds_start, t.cds_end)
    with (folder / "targets.bed").open("w") as bed:
        for a, b in targets:
            bed.write(f"{model.chrom}\t{a - 1}\t{b}\n")
    if flank:
        lo = targets[0][0] - flank
        hi = min(targets[-1][1] + flank, GRCH38_LENGTHS["chr1"] - 1_000)  # (near chr1's end)
        step = 200_000
        regions = [(a, min(a + step - 1, hi)) for a in range(lo, hi + 1, step)]
    else:
        regions = [(a, b) for a, b in targets]
    pieces = []
    for k, region in enumerate(regions):
        piece = folder / f"piece{k}.bam"
        simulate(piece, [region], depth, seed=seed + k, sample="BENCH", fasta_path=FASTA,
                 read_length=150)  # fmt: skip
        pieces.append(str(piece))
    merged = folder / "reads.bam"
    if len(pieces) > 1:
        pysam.merge("-f", "-o", str(merged), *pieces)
    else:
        Path(pieces[0]).rename(merged)
    for piece in pieces:
        for leftover in (Path(piece), Path(piece + ".bai")):
            leftover.unlink(missing_ok=True)
    if not cram:
        pysam.index(str(merged))
        return merged
    out = folder / "reads.cram"
    pysam.view("-C", "-T", str(FASTA), "-o", str(out), str(merged), catch_stdout=False)
    pysam.index(str(out))
    merged.unlink()
    return out
