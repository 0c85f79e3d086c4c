"""--redact: no output holds a raw patient or sample ID (nor a VCF path named after one), the
pseudonyms are HMAC-SHA256(salt, ID) as computed here with the standard library, stable for
one salt file, and the comparison's results do not change."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
import stat
from pathlib import Path

import pysam
import pytest
from conftest import TEST_FASTA

from nlrp3annot.cli import main


def _expected(salt: bytes, identifier: str) -> str:
    return "anon-" + hmac.new(salt, identifier.encode(), hashlib.sha256).hexdigest()[:12]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("redact")
    salt = root / "salt.txt"
    out = {}
    for name, extra in (("plain", []), ("redacted", ["--redact", str(salt)])):
        folder = root / name
        assert main(["demo", "-o", str(folder), "-q", *extra]) == 0
        out[name] = folder
    again = root / "again"
    assert main(["demo", "-o", str(again), "-q", "--redact", str(salt)]) == 0
    out["again"], out["salt"] = again, salt
    return out


def _ids(folder: Path) -> set[str]:
    with (folder / "inputs" / "samples.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return {r["patient_id"] for r in rows} | {r["sample_id"] for r in rows}


def test_no_output_names_a_raw_id(runs) -> None:
    folder = runs["redacted"]
    ids = _ids(folder)
    assert len(ids) > 30
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, ids)) + r")(?![A-Za-z0-9_])"
    )
    outputs = [p for p in folder.rglob("*") if p.is_file() and "inputs" not in p.parts]
    assert len(outputs) > 10
    for path in outputs:
        found = pattern.findall(path.read_text(errors="replace"))
        assert not found, (path.name, found[:5])
    # and the same files without --redact do name them (the search can find them)
    plain = runs["plain"] / "annotation" / "patients.tsv"
    assert pattern.search(plain.read_text())


def test_pseudonyms_are_the_salted_hash_and_stable(runs) -> None:
    salt_file = runs["salt"]
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    salt = salt_file.read_bytes().strip()
    with (runs["plain"] / "annotation" / "patients.tsv").open() as handle:
        plain = list(csv.DictReader(handle, delimiter="\t"))
    with (runs["redacted"] / "annotation" / "patients.tsv").open() as handle:
        redacted = list(csv.DictReader(handle, delimiter="\t"))
    assert [_expected(salt, r["sample"]) for r in plain] == [r["sample"] for r in redacted]
    assert [r["status"] for r in plain] == [r["status"] for r in redacted]
    again = (runs["again"] / "annotation" / "patients.tsv").read_text()
    assert again == (runs["redacted"] / "annotation" / "patients.tsv").read_text()


def test_results_are_unchanged_by_redaction(runs) -> None:
    plain = json.loads((runs["plain"] / "summary.json").read_text())
    redacted = json.loads((runs["redacted"] / "summary.json").read_text())
    assert plain["groups"] == redacted["groups"]
    assert plain["comparison"]["between"] == redacted["comparison"]["between"]
    assert plain["comparison"]["within"] == redacted["comparison"]["within"]


def test_vcf_output_header_names_pseudonyms(tmp_path: Path, runs) -> None:
    vcf = next((runs["plain"] / "inputs" / "vcf").glob("*.vcf.gz"))
    out = tmp_path / "out.vcf.gz"
    salt = runs["salt"]
    code = main(
        ["annotate", str(vcf), "--fasta", str(TEST_FASTA["GRCh38"]), "-o", str(out)]
        + ["--redact", str(salt), "-q"]
    )
    assert code == 0
    with pysam.VariantFile(str(vcf)) as source, pysam.VariantFile(str(out)) as written:
        expected = [_expected(salt.read_bytes().strip(), s) for s in source.header.samples]
        assert list(written.header.samples) == expected
