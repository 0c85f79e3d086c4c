"""Negative only with evidence: a sample is ``negative`` where the file genotyped it in the
NLRP3 locus, else ``not_assessable`` ("no calls in the NLRP3 locus"); gVCF blocks give the
share of coding bases covered. Every reader (text, text with numpy, htslib, BCF arrays)
gives the same answer. Expected coverage from the MANE exon table in the shared reference
sources (copied into tests/data), not from the package's own model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from conftest import DATA, TEST_FASTA
from vcf_writer import write

from nlrp3annot.io.read import scan_vcf
from nlrp3annot.runner.pipeline import annotate_file

# a copy of shared/reference-sources' MANE model table (Ensembl/NCBI; see its PROVENANCE.md)
MANE_TABLE = DATA / "NLRP3_MANE_ENST00000336119_model_GRCh38_GRCh37_DERIVED.tsv"
WINDOW_38 = (247_411_000, 247_460_000)  # spans the gene and its 5 kb flanks


def mane_targets() -> list[tuple[int, int]]:
    """Coding bases of NM_001243133.2 on GRCh38 plus 2 intronic bases at each splice site,
    from the per-exon CDS columns of the MANE model table in the shared reference sources."""
    lines = [line.split("\t") for line in MANE_TABLE.read_text().splitlines()]
    header, rows = lines[0], [r for r in lines[1:] if len(r) == len(lines[0])]
    col = {name: i for i, name in enumerate(header)}
    exons = [r for r in rows if r[col["transcript"]].startswith("ENST00000336119")]
    targets = []
    for number, r in enumerate(exons, start=1):
        if not r[col["cds_start_GRCh38"]]:
            continue
        lo, hi = int(r[col["cds_start_GRCh38"]]), int(r[col["cds_end_GRCh38"]])
        if lo == int(r[col["GRCh38_start"]]) and number > 1:
            lo -= 2
        if hi == int(r[col["GRCh38_end"]]) and number < len(exons):
            hi += 2
        targets.append((lo, hi))
    return targets


def test_the_targets_are_the_3105_coding_bases_and_18_splice_bases():
    targets = mane_targets()
    assert len(targets) == 9  # exon 1 is untranslated
    assert sum(b - a + 1 for a, b in targets) == 3105 + 2 * 2 * 8


def base(pos: int, build: str = "GRCh38") -> str:
    with pysam.FastaFile(str(TEST_FASTA[build])) as fasta:
        return fasta.fetch("chr1", pos - 1, pos).upper()


def statuses(path: Path) -> dict[str, dict]:
    result = annotate_file(path, fasta=TEST_FASTA["GRCh38"])
    return {row["sample"]: row for row in result.patients}


def test_a_vcf_of_another_chromosome_makes_no_sample_negative(tmp_path: Path):
    records = [
        {"pos": 1_000 + 10 * i, "ref": "A", "alts": ("G",),
         "calls": {"S1": {"GT": (0, 1), "DP": 40}, "S2": {"GT": (0, 0), "DP": 50}}}
        for i in range(3)
    ]  # fmt: skip
    path = write(tmp_path / "chrX.vcf", ["S1", "S2"], records, chrom="chrX")
    for row in statuses(path).values():
        assert row["status"] == "not_assessable"
        assert row["note"] == "no calls in the NLRP3 locus"
        assert row["coding_bases_covered"] == "unknown"


def test_real_chrM_mutect2_and_chrX_only_files_give_not_assessable():
    for name in ("mutect2_mito.vcf", "1kg_nygc_chrM_spanning_deletions.vcf.gz"):
        path = DATA / "wild" / "callers" / name
        out = statuses(path)
        assert out and {row["status"] for row in out.values()} == {"not_assessable"}, name


def joint(tmp_path: Path, depth_of: dict[str, int | None], gt_of=None) -> Path:
    """Five records in the locus where every sample is 0/0 (or ``gt_of``) with its depth."""
    records = []
    for pos in (247_420_000, 247_424_000, 247_430_000, 247_440_000, 247_445_000):
        ref = base(pos)
        alt = "A" if ref != "A" else "C"
        calls = {}
        for sample, depth in depth_of.items():
            call = {"GT": (gt_of or {}).get(sample, (0, 0))}
            if depth is not None:
                call |= {"DP": depth, "AD": (depth, 0)}
            calls[sample] = call
        records.append({"pos": pos, "ref": ref, "alts": (alt,), "calls": calls})
    return write(tmp_path / "joint.vcf", list(depth_of), records)


def test_reference_calls_with_depth_stay_negative_and_without_it_are_not_assessable(
    tmp_path: Path,
):
    path = joint(
        tmp_path,
        {"deep": 35, "shallow": 6, "missing": 30},
        gt_of={"missing": (None, None)},
    )
    out = statuses(path)
    assert out["deep"]["status"] == "negative"
    assert out["deep"]["coding_bases_covered"] == "unknown"  # a variants VCF lists no blocks
    assert out["shallow"]["status"] == "not_assessable"  # 0/0 on 6 reads proves nothing
    assert out["missing"]["status"] == "not_assessable"
    assert out["missing"]["note"] == "no calls in the NLRP3 locus"


def gvcf(tmp_path: Path, blocks: list[tuple[int, int, int]], name: str = "s.g.vcf") -> Path:
    """A one-sample gVCF of reference blocks (start, end, MIN_DP) over the locus."""
    records = [
        {"pos": start, "ref": base(start), "alts": ("<NON_REF>",), "stop": end,
         "calls": {"S": {"GT": (0, 0), "DP": min_dp + 3, "MIN_DP": min_dp}}}
        for start, end, min_dp in blocks
    ]  # fmt: skip
    return write(tmp_path / name, ["S"], records)


def test_gvcf_blocks_over_the_coding_exons_make_a_covered_negative(tmp_path: Path):
    lo, hi = WINDOW_38
    path = gvcf(tmp_path, [(lo, 247_430_000, 40), (247_430_001, hi, 25)])
    row = statuses(path)["S"]
    assert row["status"] == "negative"
    assert row["coding_bases_covered"] == 1.0
    assert row["lowest_depth_at_pathogenic_positions"] in (25, 28, 40, 43)


def test_a_shallow_block_over_part_of_the_coding_bases_is_counted_out(tmp_path: Path):
    targets = mane_targets()
    lo, hi = WINDOW_38
    gap = (247_425_000, 247_426_000)  # inside the large NACHT exon
    path = gvcf(
        tmp_path,
        [(lo, gap[0] - 1, 40), (gap[0], gap[1], 8), (gap[1] + 1, hi, 40)],
    )
    total = sum(b - a + 1 for a, b in targets)
    missing = sum(max(0, min(b, gap[1]) - max(a, gap[0]) + 1) for a, b in targets)
    assert missing > 0
    row = statuses(path)["S"]
    assert row["coding_bases_covered"] == pytest.approx(round(1 - missing / total, 4))


@pytest.mark.parametrize("samples", [3, 70])  # 70: the numpy path of the text reader
def test_every_reader_sees_the_same_evidence(tmp_path: Path, samples: int):
    depth_of = {f"S{i}": [35, 6, None, 22][i % 4] for i in range(samples)}
    gt_of = {f"S{i}": (None, None) for i in range(samples) if i % 7 == 3}
    text = joint(tmp_path, depth_of, gt_of)
    bcf = tmp_path / "joint.bcf"
    pysam_bcf(text, bcf)
    seen = set()
    for path, kwargs in [
        (text, {"arrays": False}),
        (text, {"arrays": True}),
        (text, {"reader": "htslib"}),
        (bcf, {"arrays": False}),
        (bcf, {"arrays": True}),
    ]:
        scan = scan_vcf(path, min_depth=20, **kwargs)
        seen.add(frozenset(scan.evidence.genotyped["GRCh38"]))
    assert len(seen) == 1
    expected = {s for s, d in depth_of.items() if d is not None and d >= 20 and s not in gt_of}
    assert seen.pop() == expected


def pysam_bcf(text: Path, bcf: Path) -> None:
    with (
        pysam.VariantFile(str(text)) as source,
        pysam.VariantFile(str(bcf), "wb", header=source.header) as out,
    ):
        for rec in source:
            out.write(rec)


def test_the_command_line_shows_the_evidence_columns(tmp_path: Path):
    path = joint(tmp_path, {"deep": 35, "shallow": 6})
    patients = tmp_path / "patients.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(path), "--fasta",
         str(TEST_FASTA["GRCh38"]), "-o", str(tmp_path / "out.tsv"), "--patients", str(patients)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in patients.read_text().splitlines()]
    rows = {r[lines[0].index("sample")]: dict(zip(lines[0], r, strict=True)) for r in lines[1:]}
    assert rows["deep"]["status"] == "negative"
    assert rows["deep"]["coding_bases_covered"] == "unknown"
    assert rows["deep"]["lowest_depth_at_pathogenic_positions"] in ("unknown", "35")
    assert rows["shallow"]["status"] == "not_assessable"
    assert rows["shallow"]["note"] == "no calls in the NLRP3 locus"


def bed(path: Path, rows: list[tuple], gz: bool = False) -> Path:
    text = "".join("\t".join(str(x) for x in row) + "\n" for row in rows)
    if gz:
        import gzip

        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def patients_with_coverage(tmp_path: Path, vcf: Path, *coverage: str) -> dict[str, dict]:
    out = tmp_path / "patients.tsv"
    args = [
        sys.executable,
        "-m",
        "nlrp3annot",
        "annotate",
        str(vcf),
        "--fasta",
        str(TEST_FASTA["GRCh38"]),
        "-o",
        str(tmp_path / "calls.tsv"),
        "--patients",
        str(out),
    ]
    for value in coverage:
        args += ["--coverage", value]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    return {r[lines[0].index("sample")]: dict(zip(lines[0], r, strict=True)) for r in lines[1:]}


def test_a_mosdepth_bed_gives_the_covered_share_of_a_variants_only_vcf(tmp_path: Path):
    """mosdepth per-base rows (0-based, half-open): depth 30 everywhere but 12 over a gap
    in exon 4; only "deep" gets the file."""
    targets = mane_targets()
    lo, hi = WINDOW_38
    gap = (247_424_500, 247_424_900)  # 1-based inclusive
    rows = [("chr1", lo - 1, gap[0] - 1, 30), ("chr1", gap[0] - 1, gap[1], 12),
            ("chr1", gap[1], hi, 30), ("chr2", 0, 1000, 99)]  # fmt: skip
    coverage = bed(tmp_path / "deep.per-base.bed.gz", rows, gz=True)
    vcf = joint(tmp_path, {"deep": 35, "other": 35})
    out = patients_with_coverage(tmp_path, vcf, f"deep={coverage}")
    total = sum(b - a + 1 for a, b in targets)
    missing = sum(max(0, min(b, gap[1]) - max(a, gap[0]) + 1) for a, b in targets)
    assert float(out["deep"]["coding_bases_covered"]) == pytest.approx(
        round(1 - missing / total, 4)
    )
    assert out["deep"]["status"] == "negative"
    assert out["other"]["coding_bases_covered"] == "0.0"  # coverage given, none for it


def test_a_callable_loci_bed_counts_only_callable_rows(tmp_path: Path):
    lo, hi = WINDOW_38
    rows = [("chr1", lo - 1, 247_420_000, "CALLABLE"),
            ("chr1", 247_420_000, 247_449_000, "LOW_COVERAGE"),
            ("chr1", 247_449_000, hi, "CALLABLE")]  # fmt: skip
    coverage = bed(tmp_path / "callable.bed", rows)
    vcf = joint(tmp_path, {"deep": 35})
    out = patients_with_coverage(tmp_path, vcf, str(coverage))
    targets = mane_targets()
    total = sum(b - a + 1 for a, b in targets)
    inside = sum(max(0, min(b, 247_420_000) - max(a, lo) + 1) for a, b in targets)
    inside += sum(max(0, min(b, hi) - max(a, 247_449_001) + 1) for a, b in targets)
    assert float(out["deep"]["coding_bases_covered"]) == pytest.approx(round(inside / total, 4))


def test_a_missing_coverage_file_is_one_line(tmp_path: Path):
    vcf = joint(tmp_path, {"deep": 35})
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(vcf), "--fasta",
         str(TEST_FASTA["GRCh38"]), "--coverage", str(tmp_path / "nope.bed")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "nope.bed" in proc.stderr
