"""The bad-input corpus kept in tests/data/bad/ (made by scripts/make_bad_corpus.py, each
case's outcome written down from the VCF/CSV rules in EXPECTED.tsv): every file is either
read (exit 0) or refused with exit 2 and one line holding the expected phrase, never a
traceback; a VCF that is read still finds R260W unless the damage was to that record."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, TEST_FASTA

BAD = DATA / "bad"
with (BAD / "EXPECTED.tsv").open(newline="") as _handle:
    CASES = list(csv.DictReader(_handle, delimiter="\t"))
GENOTYPES = "file\tsample\tstatus\nx.vcf\tS1\tpositive_germline\nx.vcf\tS2\tnegative\n"
CLINICAL = "patient_id,visit,day,measure,value,unit\nP1,baseline,0,CRP,5,mg/L\n"
SAMPLES = "patient_id,sample_id\nP1,S1\nP2,S2\n"


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 120


def _command(case: dict, tmp: Path) -> list[str]:
    path = str(BAD / case["file"])
    fasta = str(TEST_FASTA["GRCh38"])
    if case["given_as"] == "vcf":
        return ["annotate", path, "--fasta", fasta, "-o", str(tmp / "out.tsv")]
    if case["given_as"] == "fasta":
        vcf = tmp / "one.vcf"
        vcf.write_text(
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            "chr1\t247424227\t.\tC\tT\t.\t.\t.\n"
        )
        copy = tmp / case["file"]  # (htslib writes its .fai beside the FASTA)
        copy.write_bytes((BAD / case["file"]).read_bytes())
        return ["annotate", str(vcf), "--fasta", str(copy), "-o", str(tmp / "out.tsv")]
    tables = {"genotypes": GENOTYPES, "clinical": CLINICAL, "samples": SAMPLES}
    paths = {}
    for role, text in tables.items():
        paths[role] = tmp / f"{role}.{'tsv' if role == 'genotypes' else 'csv'}"
        paths[role].write_text(text)
    paths[case["given_as"]] = BAD / case["file"]
    return (
        ["compare"]
        + [
            arg
            for role in ("genotypes", "clinical", "samples")
            for arg in (f"--{role}", str(paths[role]))
        ]
        + ["-o", str(tmp / "results")]
    )


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_a_bad_input_is_read_or_refused_in_one_line(tmp_path: Path, case: dict) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *_command(case, tmp_path), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == int(case["exit"]), (case, proc.stderr)
    if proc.returncode == 2:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert case["phrase"] in lines[0], (case["phrase"], lines[0])
