#!/usr/bin/env python3
"""Benchmark `nlrp3annot annotate` beside `bcftools csq` on the same input.

    python scripts/benchmark.py [--sizes 1000,10000,30000] [--repeats 5]

Both tools get the same sites-only VCF of random SNVs and 1-2 bp indels across the NLRP3
locus of the TEST genome (tests/data), the same MANE transcript (as GFF3 for csq) and the
same FASTA. Each run is timed whole (process start to exit, as a lab's shell loop sees it);
the machine is shared and noisy, so the figures are medians over repeats and the ratio of
medians. A "per-file" row times the small example VCF, where start-up dominates.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pysam

from nlrp3annot.reference import mane_transcript

HERE = Path(__file__).resolve().parent.parent
FASTA = HERE / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
EXAMPLE = HERE / "tests" / "data" / "example_patient_GRCh38.vcf"


def write_gff3(path: Path) -> None:
    t = mane_transcript("GRCh38")
    gid, tid = f"gene:{t.gene_id.split('.')[0]}", f"transcript:{t.accession}"
    rows = [
        (t.tx_start, t.tx_end, "gene", f"ID={gid};Name={t.gene};biotype=protein_coding", "."),
        (
            t.tx_start,
            t.tx_end,
            "mRNA",
            f"ID={tid};Parent={gid};Name={t.accession};biotype=protein_coding",
            ".",
        ),
    ]
    cds_done = 0
    for s, e in t.exons:
        rows.append((s, e, "exon", f"Parent={tid}", "."))
        if s < t.cds_start:
            rows.append((s, min(e, t.cds_start - 1), "five_prime_UTR", f"Parent={tid}", "."))
        lo, hi = max(s, t.cds_start), min(e, t.cds_end)
        if lo <= hi:
            phase = (3 - cds_done % 3) % 3
            rows.append((lo, hi, "CDS", f"ID=CDS:{t.protein_id};Parent={tid}", str(phase)))
            cds_done += hi - lo + 1
        if e > t.cds_end:
            rows.append((max(s, t.cds_end + 1), e, "three_prime_UTR", f"Parent={tid}", "."))
    with path.open("w") as out:
        out.write("##gff-version 3\n")
        for s, e, kind, attrs, phase in rows:
            out.write(f"chr1\tbench\t{kind}\t{s}\t{e}\t.\t+\t{phase}\t{attrs}\n")


def write_vcf(path: Path, n: int, seed: int) -> None:
    t = mane_transcript("GRCh38")
    lo, hi = t.locus
    with pysam.FastaFile(str(FASTA)) as fasta:
        seq = fasta.fetch("chr1", lo - 1, hi + 5).upper()
    rng = random.Random(seed)
    if n > (hi - lo) * 0.8:
        sys.exit(f"{n} records do not fit the {hi - lo} bp locus at one record a position")
    records = {}
    while len(records) < n:
        pos = rng.randint(lo + 1, hi - 2)
        base = seq[pos - lo]
        kind = rng.random()
        if kind < 0.8:
            records[pos] = (base, rng.choice([b for b in "ACGT" if b != base]))
        elif kind < 0.9:
            records[pos] = (seq[pos - lo : pos - lo + 2], base)
        else:
            records[pos] = (base, base + rng.choice("ACGT"))
    with path.open("w") as out:
        out.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n")
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for pos in sorted(records):
            ref, alt = records[pos]
            out.write(f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\n")


def timed(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,30000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("bcftools") is None:
        sys.exit("bcftools is not installed (apt-get install bcftools)")
    nlrp3annot = [sys.executable, "-m", "nlrp3annot"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        gff = tmp / "mane.gff3"
        write_gff3(gff)
        cases = [("per-file (example, 8 records)", EXAMPLE)]
        for n in (int(x) for x in args.sizes.split(",")):
            vcf = tmp / f"random_{n}.vcf"
            write_vcf(vcf, n, seed=n)
            cases.append((f"{n} random records", vcf))
        print(
            f"{'input':32} {'nlrp3annot s':>13} {'bcftools csq s':>15} {'ratio':>7}  "
            f"(medians of {args.repeats})"
        )
        for label, vcf in cases:
            ours = timed(
                [
                    *nlrp3annot,
                    "annotate",
                    str(vcf),
                    "--fasta",
                    str(FASTA),
                    "-q",
                    "-o",
                    str(tmp / "out.tsv"),
                ],
                args.repeats,
            )
            csq = timed(
                [
                    "bcftools",
                    "csq",
                    "-f",
                    str(FASTA),
                    "-g",
                    str(gff),
                    "--local-csq",
                    "-Ov",
                    "-o",
                    str(tmp / "out.csq.vcf"),
                    str(vcf),
                ],
                args.repeats,
            )
            print(f"{label:32} {ours:13.3f} {csq:15.3f} {ours / csq:7.1f}x")


if __name__ == "__main__":
    main()
