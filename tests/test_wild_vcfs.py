"""Real caller outputs (samtools, bcftools, GATK, FreeBayes, Strelka, VarScan2, 1000 Genomes,
the VCF specification's examples; Mutect2, MuTect1, DeepVariant, GLnexus, HaplotypeCaller gVCF,
Strelka2, spanning deletions and haploid calls in callers/; sources in
tests/data/wild/SOURCES.md), on both builds: each
is read (exit 0, its records outside NLRP3 counted) or refused in one line (exit 2), never a
traceback; a file whose ##contig lengths say GRCh37 is refused against a GRCh38 FASTA."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, TEST_FASTA

WILD = sorted(p for p in (DATA / "wild").rglob("*") if p.name.endswith((".vcf", ".vcf.gz")))
# The callers/ files (Mutect2, DeepVariant, GLnexus, HaplotypeCaller gVCF, Strelka2, `*`
# alleles, haploid calls): the build each header names, by its ##reference or assembly name
# (Homo_sapiens_assembly38, human_g1k_v37, hg19) as listed in SOURCES.md; None where it
# names none (chrM-only, test-genome slices, non-human).
DECLARED = {
    "mutect2_chr22.vcf.gz": "GRCh38",
    "strelka2_somatic_indels_chr22.vcf.gz": "GRCh38",
    "deepvariant_antku_small.vcf.gz": "GRCh38",
    "1kg_nygc_chr22_spanning_deletions.vcf.gz": "GRCh38",
    "1kg_nygc_chrM_spanning_deletions.vcf.gz": "GRCh38",
    "banded_gvcf.vcf": "GRCh37",
    "mutect1_haploid_normal.vcf": "GRCh37",
    "mutect2_mito.vcf": None,
    "glnexus_deepvariant_annotated_ranked.vcf.gz": None,
    "haplotypecaller_gvcf_sample.g.vcf.gz": None,
    "haplotypecaller_no_records.vcf.gz": None,
    "gatk36_haploid_FT.vcf": None,
}
# vcfpy's files: GRCh37 where ##contig chr1 says 249250621, and this one by its chrX length
OTHERS_GRCH37 = {"example-4.1-ploidy.vcf"}  # X length 155270560 (GRCh37's), though tagged B36
# the spec examples and two others use spaces where a VCF has tabs (bcftools refuses them too)
SPACES = {"example-4.2.vcf", "issue_49.vcf", "metadata-whitespace.vcf"}


def _run(path: Path, build: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(path)]
        + ["--fasta", str(TEST_FASTA[build]), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_there_are_real_caller_files() -> None:
    assert len(WILD) >= 30
    callers = {p.name for p in WILD if p.parent.name == "callers"}
    assert callers == set(DECLARED)


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
@pytest.mark.parametrize("path", WILD, ids=[p.name for p in WILD])
def test_a_real_vcf_is_read_or_refused_in_one_line(tmp_path: Path, path: Path, build: str):
    proc = _run(path, build, tmp_path / "out.tsv")
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if path.name in SPACES:
        assert proc.returncode == 2 and len(lines) == 1
        assert "separated by spaces, not tabs" in lines[0]
        return
    grch37 = "length=249250621" in _header(path) or path.name in OTHERS_GRCH37
    declared = DECLARED.get(path.name, "GRCh37" if grch37 else None)
    if declared and declared != build:
        assert proc.returncode == 2 and len(lines) == 1
        assert f"is {declared}" in lines[0] and f"give a {declared} FASTA" in lines[0]
        return
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.tsv").exists()
    assert f": {build}," in proc.stderr  # the per-file line names the build it used
    if path.parent.name == "callers":  # none touches NLRP3: every record is counted outside
        assert f"records outside the NLRP3 locus: {_records(path)}" in proc.stderr


def _records(path: Path) -> int:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as handle:
        return sum(1 for line in handle if line.strip() and not line.startswith("#"))


def _header(path: Path) -> str:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as handle:
        return "".join(line for line in handle if line.startswith("##contig"))
