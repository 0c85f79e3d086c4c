"""The scan's outputs: one gVCF-like VCF.gz (+ .tbi) per sample, read by ``annotate`` and
``run`` like any VCF, and one TSV of every candidate allele and every known pathogenic
allele with its counts, test and verdict.

The TSV's names (HGVS c./p., legacy) are each allele's own, on the reference: p.Arg260Ter
for c.778C>T alone. The patient summary, from ``annotate`` of the VCF, reads the sample's own
haplotype (with c.780G in cis: p.Arg260Trp), as for any VCF.

The VCF holds the called alleles (GT 0/1 with AD, DP, AF, the strand counts SB and the
orientation counts OB; counts are fragments) and reference blocks over the targets
(``<NON_REF>`` with END and MIN_DP, split where the depth crosses the minimum), so that
``annotate`` sees both the calls and the evidence of coverage; a ``##NLRP3_SCAN`` header
line carries the sample's limits of detection (:class:`nlrp3annot.values.ScanLimits`),
which the patient status uses. A ``##NLRP3_SCAN_ASSAY`` line says the assay as the
fragments show it (:mod:`nlrp3annot.reads.assay`), and each call's ``SCAN_EVIDENCE`` (the
TSV's ``evidence`` in words) what it rests on (:mod:`nlrp3annot.reads.evidence`).

With ``--primers``, ``scan_amplicons.tsv`` and the VCF's ``##NLRP3_SCAN_AMPLICON`` lines
give the limits per amplicon (:mod:`nlrp3annot.reads.amplicons`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from nlrp3annot.genome.reference import CONTIG_LENGTHS
from nlrp3annot.reads.alignments import output_stem
from nlrp3annot.reads.calling import Candidate
from nlrp3annot.reads.evidence import evidence_codes, evidence_parts, evidence_text
from nlrp3annot.reads.scan import SampleScan, ScanResult

TSV_COLUMNS = [
    "sample", "file", "chrom", "pos", "ref", "alt", "hgvs_c", "hgvs_p", "legacy_protein",
    "known_pathogenic", "depth", "alt_reads", "vaf", "vaf_ci_lower", "vaf_ci_upper",
    "alt_forward", "alt_reverse", "other_forward", "other_reverse", "alt_f1r2", "alt_f2r1",
    "depth_f1r2", "depth_f2r1", "untrusted_orientation", "background", "rho", "p",
    "threshold", "verdict", "limit_of_detection", "called_in_libraries", "evidence",
]  # fmt: skip
AMPLICON_COLUMNS = [
    "sample", "amplicon", "pool", "start", "end", "coding_positions", "median_fragments",
    "positions_below_depth", "known_snvs", "known_snv_limit", "known_indels",
    "known_indel_limit", "known_below_depth", "other_snv_limit_95", "other_snv_limit_worst",
    "limit_of_detection",
]  # fmt: skip


# A batch with at least this many samples has its VCFs written by ``jobs`` forked processes
# (~5 ms each to write, compress and index; a fork, a few ms to a few tens)
PARALLEL_WRITING_MIN = 8


def write_scan(result: ScanResult, folder: Path, jobs: int = 1) -> tuple[list[Path], Path]:
    """Every sample's VCF.gz and the TSV; returns (VCF paths, TSV path). With ``jobs`` > 1
    the VCFs of a large batch are shared out to forked processes (the same files)."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = list(result.samples)

    def write(sample: SampleScan) -> Path:
        return _write_vcf(result, sample, folder)

    if jobs < 2 or len(samples) < PARALLEL_WRITING_MIN:
        vcfs = [write(sample) for sample in samples]
    else:
        from nlrp3annot.runner.forked import in_shares

        vcfs = in_shares(samples, jobs, write)
    tsv = folder / "scan.tsv"
    with tsv.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_COLUMNS)
        for sample in result.samples:
            for c in sorted(sample.candidates, key=lambda c: (c.pos, c.alt)):
                writer.writerow(tsv_row(result, sample, c))
    if any(sample.amplicons is not None for sample in result.samples):
        write_amplicons(result, folder / "scan_amplicons.tsv")
    return vcfs, tsv


def _write_vcf(result: ScanResult, sample: SampleScan, folder: Path) -> Path:
    """One sample's VCF.gz and its .tbi."""
    import pysam

    plain = folder / f"{output_stem(sample.sample)}.scan.vcf"
    plain.write_text(_vcf_text(result, sample))
    return Path(pysam.tabix_index(str(plain), preset="vcf", force=True))


def write_amplicons(result: ScanResult, path: Path) -> Path:
    """Every sample's limits per amplicon (``--primers``), one row an amplicon."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(AMPLICON_COLUMNS)
        for sample in result.samples:
            for a in sample.amplicons or []:
                writer.writerow([
                    sample.sample, a.amplicon.name, a.amplicon.pool, str(a.amplicon.start),
                    str(a.amplicon.end), str(a.coding_positions), _fmt(a.median_fragments),
                    str(a.below_depth), str(a.known_snvs), _fmt(a.known_snv),
                    str(a.known_indels), _fmt(a.known_indel), str(a.known_below_depth),
                    _fmt(a.other_snvs), _fmt(a.other_snvs_worst), _fmt(a.lod),
                ])  # fmt: skip
    return path


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}"


def tsv_row(result: ScanResult, sample: SampleScan, c: Candidate) -> list[str]:
    low, high = c.vaf_ci
    return [
        sample.sample, sample.path, result.contig, str(c.pos), c.ref, c.alt, *c.names,
        str(c.known), str(c.depth), str(c.alt_reads), _fmt(c.vaf), _fmt(low), _fmt(high),
        *(str(v) for v in c.strand()), *(str(v) for v in c.orientation()), c.untrusted,
        _fmt(c.background), _fmt(c.rho), _fmt(c.p), _fmt(c.threshold), c.verdict,
        _fmt(c.lod), ",".join(c.called_in), evidence_text(_evidence(result, sample, c)),
    ]  # fmt: skip


def _evidence(result: ScanResult, sample: SampleScan, c: Candidate):
    read_by = sample.read_by.get((c.pos, c.ref, c.alt)) if sample.pools else None
    return evidence_parts(c, sample.assay, result.settings, sample.libraries, read_by)


def _vcf_text(result: ScanResult, sample: SampleScan) -> str:
    length = CONTIG_LENGTHS[result.build]["1"]
    header = [
        "##fileformat=VCFv4.2",
        "##source=nlrp3annot scan (reads of "
        + ", ".join(Path(p).name for p in sample.path.split(","))
        + ")",
        f"##contig=<ID={result.contig},length={length}>",
        '##ALT=<ID=NON_REF,Description="Any allele other than the reference (block)">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End of the reference block">',
        '##INFO=<ID=SCAN_P,Number=A,Type=Float,Description="Beta-binomial P against the '
        'background">',
        '##INFO=<ID=SCAN_BG,Number=A,Type=Float,Description="Background error rate">',
        '##INFO=<ID=SCAN_EVIDENCE,Number=.,Type=String,Description="What the call rests on '
        "(scan.tsv's evidence column says it in words): fragments ALT/all and their "
        "orientations, the significance test, the strand and orientation bias tests "
        "(passed, or not_applicable where every fragment lies in one half), the read-end "
        'test, UMI molecules, primers clipped, libraries that called it of all">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Fragments per allele">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Fragments counted">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="ALT allele fraction">',
        '##FORMAT=<ID=SB,Number=4,Type=Integer,Description="ALT fwd, ALT rev, other fwd, '
        'other rev fragments">',
        '##FORMAT=<ID=OB,Number=4,Type=Integer,Description="ALT F1R2, ALT F2R1, F1R2, F2R1 '
        'fragments (read orientation)">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Lowest depth in the block">',
        *_library_header(sample),
        *([sample.assay.header(sample.sample)] if sample.assay else []),
        sample.limits.header(sample.sample),
        *_amplicon_header(sample),
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                   sample.sample]),
    ]  # fmt: skip
    records = _blocks(result, sample) + [_call(result, c, sample) for c in sample.calls]
    records.sort(key=lambda r: (r[0], r[1]))
    return "\n".join(header + [line for _, _, line in records]) + "\n"


HOM_ALT_VAF = 0.85  # a call at or above this allele fraction is written 1/1


def _library_header(sample: SampleScan) -> list[str]:
    """Replicate libraries: which were scanned, and the INFO field naming those that called."""
    if not sample.libraries:
        return []
    if sample.pools:  # amplicon pools (reads.pools): each with a say where it reads
        return [
            '##INFO=<ID=SCAN_LIBS,Number=.,Type=String,Description="Amplicon pools (and '
            "replicate libraries) that called the allele: a call needs every one that reads "
            'its position; AD, DP and AF are pooled over them">',
            f"##NLRP3_SCAN_LIBRARIES=<ID={sample.sample},LIBRARIES={'|'.join(sample.libraries)},"
            f'Description="Amplicon pools scanned; the limits of detection are for the pools '
            f'reading each position (each must find the allele)">',
        ]
    return [
        '##INFO=<ID=SCAN_LIBS,Number=.,Type=String,Description="Replicate libraries (LB) '
        "that called the allele: a call needs every library of the sample; AD, DP and AF "
        'are pooled over them">',
        f"##NLRP3_SCAN_LIBRARIES=<ID={sample.sample},LIBRARIES={'|'.join(sample.libraries)},"
        f'Description="Replicate libraries scanned; the limits of detection are for the '
        f'set (every library must find the allele)">',
    ]


def _amplicon_header(sample: SampleScan) -> list[str]:
    """One ``##NLRP3_SCAN_AMPLICON`` line an amplicon (``--primers``)."""
    out = []
    for a in sample.amplicons or []:
        out.append(
            f"##NLRP3_SCAN_AMPLICON=<ID={_plain(a.amplicon.name)},SAMPLE={sample.sample},"
            f"POOL={_plain(a.amplicon.pool) or '.'},START={a.amplicon.start},END={a.amplicon.end},"
            f"CODING_POSITIONS={a.coding_positions},MEDIAN_DP={a.median_fragments:.6g},"
            f"LOD={_fmt(a.lod) or '.'},LOD_KNOWN_SNV={_fmt(a.known_snv) or '.'},"
            f"LOD_KNOWN_INDEL={_fmt(a.known_indel) or '.'},"
            f"LOD_OTHER_SNVS={_fmt(a.other_snvs) or '.'},"
            f"LOD_OTHER_SNVS_MAX={_fmt(a.other_snvs_worst) or '.'},"
            f"KNOWN_BELOW_DEPTH={a.known_below_depth},POSITIONS_BELOW_DEPTH={a.below_depth},"
            'Description="Limits of detection (95% power) in the insert of the amplicon: LOD, '
            "the highest over its known pathogenic alleles and the hardest SNV of each of its "
            'coding positions">'
        )
    return out


def _plain(text: str) -> str:
    """A header value from the user's BED: no ',;=<>" ' in it."""
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text)


def _call(result: ScanResult, c: Candidate, sample: SampleScan) -> tuple[int, int, str]:
    other = c.depth - c.alt_reads
    genotype = "1/1" if c.vaf >= HOM_ALT_VAF else "0/1"
    sb = ",".join(str(v) for v in c.strand())
    ob = ",".join(str(v) for v in c.orientation())
    fields = [
        result.contig, str(c.pos), ".", c.ref, c.alt, ".", "PASS",
        f"SCAN_P={c.p:.3g};SCAN_BG={c.background:.3g}"
        f";SCAN_EVIDENCE={evidence_codes(_evidence(result, sample, c))}"
        + (f";SCAN_LIBS={','.join(c.called_in)}" if sample.libraries else ""),
        "GT:AD:DP:AF:SB:OB",
        f"{genotype}:{other},{c.alt_reads}:{c.depth}:{c.vaf:.4f}:{sb}:{ob}",
    ]  # fmt: skip
    return c.pos, 1, "\t".join(fields)


def _blocks(result: ScanResult, sample: SampleScan) -> list[tuple[int, int, str]]:
    """Reference blocks over the targets, a new one wherever the depth crosses the
    minimum (so the block's MIN_DP says whether all of it was covered)."""
    depth = sample.counts.depth.tolist()
    positions = sample.counts.positions.tolist()
    minimum = result.settings.min_depth
    out = []
    start = 0
    for i in range(1, len(positions) + 1):
        boundary = (
            i == len(positions)
            or positions[i] != positions[i - 1] + 1
            or (depth[i] >= minimum) != (depth[start] >= minimum)
        )
        if not boundary:
            continue
        low = min(depth[start:i])
        first, last = positions[start], positions[i - 1]
        ref = result.reference[start]
        fields = [
            result.contig, str(first), ".", ref, "<NON_REF>", ".", ".", f"END={last}",
            "GT:DP:MIN_DP", f"0/0:{low}:{low}",
        ]  # fmt: skip
        out.append((first, 0, "\t".join(fields)))
        start = i
    return out
