"""Real caller outputs (samtools, bcftools, GATK, FreeBayes, Strelka, VarScan2, 1000 Genomes,
the VCF specification's examples; sources in tests/data/wild/SOURCES.md), on both builds: each
is read (exit 0, its records outside NLRP3 counted) or refused in one line (exit 2), never a
traceback; a file whose ##contig lengths say GRCh37 is refused against a GRCh38 FASTA."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, TEST_FASTA

WILD = sorted(p for p in (DATA / "wild").iterdir() if p.name.endswith((".vcf", ".vcf.gz")))
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
    declared_37 = "length=249250621" in _header(path)
    if declared_37 and build == "GRCh38":
        assert proc.returncode == 2 and len(lines) == 1
        assert "is GRCh37" in lines[0]
        return
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.tsv").exists()
    assert f": {build}," in proc.stderr  # the per-file line names the build it used


def _header(path: Path) -> str:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as handle:
        return "".join(line for line in handle if line.startswith("##contig"))
