"""A corpus of tricky but valid VCFs, each written in every container a lab hands over.

Contents are the shapes real callers and hand-edited files produce (multi-allelic records,
symbolic and spanning-deletion alleles, gVCF blocks, breakends, lower-case bases, IUPAC
codes, records straddling the locus edge, duplicates, CRLF line ends, either chr1 naming,
GRCh37 coordinates, samples with haploid, phased and missing genotypes...). Containers: plain
text, bgzip with .tbi, bgzip with .csi, bgzip without an index, plain gzip, BCF with and
without an index. REF bases come from the TEST genome (not the real genome).
"""

from __future__ import annotations

import gzip
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysam
from conftest import CHR1_LENGTH, TEST_FASTA

from nlrp3annot.genome.reference import locus_window, mane_transcript

CONTAINERS = ["vcf", "bgzip_tbi", "bgzip_csi", "bgzip", "gzip", "bcf_csi", "bcf"]


@dataclass(frozen=True)
class Content:
    name: str
    build: str
    naming: str  # "chr1" or "1"
    records: tuple[str, ...]  # data lines with {chrom} for the chr1 name
    samples: tuple[str, ...] = ()
    crlf: bool = False
    contig_lines: bool = True
    unsorted: bool = False  # records kept in the given order (no index can be built)


@cache
def _genome(build: str) -> tuple[str, int]:
    with pysam.FastaFile(str(TEST_FASTA[build])) as fasta:
        name = fasta.references[0]
        lo, hi = locus_window(build)
        return fasta.fetch(name, lo - 1 - 2000, hi + 2000).upper(), lo - 2000


def base(build: str, pos: int, n: int = 1) -> str:
    bases, start = _genome(build)
    return bases[pos - start : pos - start + n]


def _other(b: str) -> str:
    return "A" if b != "A" else "C"


def rec(pos: int, ref: str, alt: str, filt: str = "PASS", info: str = ".", qual: str = "."):
    """One data line, with {chrom} for the chr1 name."""
    return f"{{chrom}}\t{pos}\t.\t{ref}\t{alt}\t{qual}\t{filt}\t{info}"


def contents() -> list[Content]:
    b38 = "GRCh38"
    t = mane_transcript(b38)
    cds = [p for s, e in t.exons for p in range(s, e + 1) if t.cds_start <= p <= t.cds_end]
    lo, hi = locus_window(b38)

    def g(pos: int, n: int = 1, build: str = b38) -> str:
        return base(build, pos, n)

    def snv(pos: int, build: str = b38, fmt: str = "") -> str:
        return rec(pos, g(pos, build=build), _other(g(pos, build=build)), qual="50") + fmt

    p = cds[777]  # c.778
    gt = "\tGT:AD:DP"
    donor = t.exons[3][1]
    out = [
        Content("snvs", b38, "chr1", tuple(snv(cds[i]) for i in (0, 5, 300, 777, 1500, 3104))),
        Content(
            "multiallelic",
            b38,
            "chr1",
            (
                rec(p, g(p), "T,A,G"),
                rec(
                    cds[10],
                    g(cds[10], 2),
                    f"{g(cds[10])},{g(cds[10], 2)}T,{_other(g(cds[10]))}{g(cds[11])}",
                ),
            ),
        ),
        Content(
            "symbolic_and_star",
            b38,
            "chr1",
            (
                rec(cds[20], g(cds[20]), "<DEL>", info=f"SVTYPE=DEL;END={cds[20] + 300}"),
                rec(cds[30], g(cds[30]), f"*,{_other(g(cds[30]))}"),
                rec(cds[40], g(cds[40]), f"{_other(g(cds[40]))},<*>"),
                rec(cds[50], g(cds[50]), f"{g(cds[50])}]chr2:1000]", info="SVTYPE=BND"),
            ),
        ),
        Content(
            "gvcf_blocks",
            b38,
            "chr1",
            (
                rec(cds[60], g(cds[60]), "<NON_REF>", ".", f"END={cds[60] + 99}")
                + "\tGT:DP:MIN_DP\t0/0:35:30",
                rec(cds[200], g(cds[200]), f"{_other(g(cds[200]))},<NON_REF>", ".", qual="80")
                + "\tGT:DP:MIN_DP\t0/1:40:.",
            ),
            samples=("G1",),
        ),
        Content(
            "no_alt_lowercase_iupac_n",
            b38,
            "chr1",
            (
                rec(cds[70], g(cds[70]), "."),
                rec(cds[80], g(cds[80]).lower(), _other(g(cds[80])).lower()),
                rec(cds[90], g(cds[90]), "R"),
                rec(cds[95], "N", "A"),
                rec(cds[99], g(cds[99]), g(cds[99])),
            ),
        ),
        Content(
            "indels_mnvs_complex",
            b38,
            "chr1",
            (
                rec(cds[100], g(cds[100], 4), g(cds[100])),
                rec(cds[110], g(cds[110]), g(cds[110]) + "GGC"),
                rec(cds[120], g(cds[120], 2), "TT"),
                rec(cds[130], g(cds[130], 3), "A"),
                rec(donor - 1, g(donor - 1, 6), g(donor - 1)),  # across the exon 4 donor
            ),
        ),
        Content(
            "edges_and_outside",
            b38,
            "chr1",
            (
                rec(lo - 500, g(lo - 500), _other(g(lo - 500))),
                rec(lo - 3, g(lo - 3, 10), g(lo - 3)),  # a deletion reaching into the window
                rec(lo, g(lo), _other(g(lo))),
                rec(hi, g(hi), _other(g(hi))),
                rec(hi + 1, g(hi + 1), _other(g(hi + 1))),
            ),
        ),
        Content("duplicates", b38, "chr1", (snv(p), snv(p), snv(cds[3]), snv(cds[3]))),
        Content(
            "ref_mismatch_and_filters",
            b38,
            "chr1",
            (
                rec(p, _other(g(p)), "T"),
                rec(cds[400], g(cds[400]), _other(g(cds[400])), "LowQual;q10", qual="3"),
                rec(cds[401], g(cds[401]), _other(g(cds[401])), "."),
            ),
        ),
        Content(
            "samples_ploidy_phase_missing",
            b38,
            "chr1",
            (
                snv(p, fmt=f"{gt}\t0/1:20,18:38\t1:0,30:30\t./.:.:.\t0|1:12,12:24"),
                snv(cds[500], fmt=f"{gt}\t0/0:40,0:40\t0:30,0:30\t.:.:.\t1|0:10,9:19"),
                rec(cds[600], g(cds[600]), "T,A")
                + f"{gt}\t1/2:0,10,10:20\t2:0,0,25:25\t0/0:30,0,0:30\t./.:.:.",
            ),
            samples=("S1", "S2", "S3", "S4"),
        ),
        Content("crlf_line_ends", b38, "chr1", (snv(cds[700]), snv(cds[710])), crlf=True),
        Content("no_contig_lines", b38, "chr1", (snv(cds[720]),), contig_lines=False),
        Content("naming_1", b38, "1", (snv(p), snv(cds[730]))),
        Content(
            "long_deletion_and_gatk_info",
            b38,
            "chr1",
            (
                rec(cds[800], g(cds[800], 61), g(cds[800]), qual="925.60"),
                rec(cds[900], g(cds[900]), _other(g(cds[900])), qual="31.5")[:-1]
                + "AC=1;AF=0.5;AN=2;BaseQRankSum=-0.268;DP=38;ExcessHet=3.01;FS=0.000;MQ=60.00",
            ),
        ),
        Content(
            "joint_40_samples",  # past the sample count at which the numpy screen is used
            b38,
            "chr1",
            (
                snv(p, fmt=f"{gt}\t" + "\t".join(["0/0:30,0:30"] * 38 + ["0/1:15,14:29"] * 2)),
                rec(cds[950], g(cds[950]), "T,A")
                + f"{gt}\t"
                + "\t".join(["0/0:30,0,0:30"] * 37 + ["./.:.:.", "0/2:10,0,9:19", "1/2:0,9,9:18"]),
            ),
            samples=tuple(f"J{i:02d}" for i in range(40)),
        ),
        Content("unsorted", b38, "chr1", (snv(cds[990]), snv(cds[20]), snv(p)), unsorted=True),
        Content(
            "other_contigs",  # the same coordinates on other chromosomes are not the locus
            b38,
            "chr1",
            (
                snv(p),
                snv(p).replace("{chrom}", "chr2"),
                snv(p).replace("{chrom}", "chrX"),
                rec(310, "C", "T").replace("{chrom}", "chrM"),
            ),
        ),
    ]
    b37 = "GRCh37"
    shift = locus_window(b37)[0] - lo
    out.append(Content("grch37_chr1", b37, "chr1", (snv(p + shift, b37), snv(cds[9] + shift, b37))))
    out.append(Content("grch37_naming_1", b37, "1", (snv(p + shift, b37),)))
    return out


def write(content: Content, container: str, folder: Path) -> Path | None:
    """The content in the container (None when bcftools cannot hold it, e.g. BCF of a file
    whose records bcftools refuses)."""
    folder.mkdir(parents=True, exist_ok=True)
    chrom = content.naming
    header = ["##fileformat=VCFv4.2"]
    if content.contig_lines:
        header.append(f"##contig=<ID={chrom},length={CHR1_LENGTH[content.build]}>")
        header.append("##contig=<ID=chr2,length=242193529>")
        header.append("##contig=<ID=chrX,length=156040895>")
        header.append("##contig=<ID=chrM,length=16569>")
    header += [
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
        '##INFO=<ID=BaseQRankSum,Number=1,Type=Float,Description="Base quality rank sum">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##INFO=<ID=ExcessHet,Number=1,Type=Float,Description="Excess heterozygosity">',
        '##INFO=<ID=FS,Number=1,Type=Float,Description="Fisher strand">',
        '##INFO=<ID=MQ,Number=1,Type=Float,Description="Mapping quality">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FILTER=<ID=q10,Description="Quality below 10">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=NON_REF,Description="Any other allele">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth">',
    ]
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if content.samples:
        columns += ["FORMAT", *content.samples]
    lines = [*header, "\t".join(columns)]
    records = content.records
    order = ["{chrom}", "chr2", "chrX", "chrM"]
    if not content.unsorted:  # as callers do: by contig (header order), then POS
        records = sorted(
            records, key=lambda r: (order.index(r.split("\t")[0]), int(r.split("\t")[1]))
        )
    lines += [r.replace("{chrom}", chrom) for r in records]
    end = "\r\n" if content.crlf else "\n"
    text = end.join(lines) + end
    plain = folder / f"{content.name}.vcf"
    plain.write_text(text, newline="")
    if container == "vcf":
        return plain
    if container == "gzip":
        path = folder / f"{content.name}.gzip.vcf.gz"
        path.write_bytes(gzip.compress(text.encode()))
        return path
    if content.crlf:
        return None  # htslib keeps the CR in the last column: not a container test
    if content.unsorted and container in ("bgzip_tbi", "bgzip_csi", "bcf_csi"):
        return None  # an index needs sorted records
    if container.startswith("bgzip"):
        path = folder / f"{content.name}.{container}.vcf.gz"
        pysam.tabix_compress(str(plain), str(path), force=True)
        if container != "bgzip":
            pysam.tabix_index(
                str(path),
                preset="vcf",
                force=True,
                csi=container == "bgzip_csi",
                keep_original=True,
            )
        return path
    path = folder / f"{content.name}.{container}.bcf"
    made = subprocess.run(
        ["bcftools", "view", "-Ob", "-o", str(path), str(plain)], capture_output=True
    )
    if made.returncode != 0:
        return None
    if container == "bcf_csi":
        subprocess.run(["bcftools", "index", "-f", str(path)], check=True, capture_output=True)
    return path


def plain_copy(content: Content, folder: Path) -> Path:
    """The plain-text file every container of ``content`` in ``folder`` was made from."""
    return folder / f"{content.name}.vcf"


def alleles_in_locus(path: Path, build: str) -> int:
    """What the locus holds, counted by htslib over the whole file: one per ALT allele of
    each record whose REF span overlaps the NLRP3 window (one for a record without ALT)."""
    lo, hi = locus_window(build)
    total = 0
    pysam.set_verbosity(0)
    with pysam.VariantFile(str(path)) as vcf:
        for rec in vcf:
            if rec.chrom not in ("chr1", "1"):
                continue
            end = rec.pos + max(len(rec.ref or ""), 1) - 1
            if rec.pos <= hi and end >= lo:
                total += max(len(rec.alts or ()), 1)
    return total
