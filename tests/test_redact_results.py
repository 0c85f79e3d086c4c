"""``run --redact``: no file of the results folder, and no file name in it, holds an original
patient ID, sample ID or the name of an input file (labs name files and folders after their
patients). The cohort is the demo's, rewritten in tmp_path with IDs that cannot turn up by
chance (HOSP-MRN-77101, LABSMP-66001-blood) in every input: the VCF headers, a BAM and a
CRAM's read groups (scanned by run), the samples sheet, the clinical workbook and every
file and folder name. The IDs searched for are read back from those inputs (pysam,
openpyxl, csv), never from our outputs; expected pseudonyms and hashes are computed here
with hmac and hashlib."""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import io
import json
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import openpyxl
import pysam
import pytest

DEMO = Path(str(resources.files("nlrp3annot") / "demo"))
FASTA_NAME = "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
TAG = "5521"  # in every file and folder name of the cohort


def _pseudonym(salt: bytes, identifier: str) -> str:
    return "anon-" + hmac.new(salt, identifier.encode(), hashlib.sha256).hexdigest()[:12]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _new_ids(demo_sheet: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Demo patient and sample IDs -> long ones (HOSP-MRN-771NN, LABSMP-660NN-tissue)."""
    with demo_sheet.open() as handle:
        rows = list(csv.DictReader(handle))
    patients = {r["patient_id"]: f"HOSP-MRN-771{r['patient_id'][1:]}" for r in rows}
    samples = {
        r["sample_id"]: f"LABSMP-660{r['patient_id'][1:]}-{r['sample_id'].split('-', 1)[1]}"
        for r in rows
    }
    return patients, samples


def _rewrite_vcf(source: Path, target: Path, samples: dict[str, str]) -> None:
    """The VCF with its sample columns renamed, bgzipped and indexed by htslib."""
    with gzip.open(source, "rt") as handle:
        lines = handle.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#CHROM"):
            cells = line.split("\t")
            lines[i] = "\t".join(cells[:9] + [samples[c] for c in cells[9:]])
    plain = target.with_suffix("")  # x.vcf.gz -> x.vcf
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)


def _rewrite_reads(source: Path, target: Path, sample: str, fasta: Path) -> None:
    """The reads with a read group of the new sample (and no @PG lines naming the old
    files), written as BAM or CRAM by the target's suffix and indexed."""
    with pysam.AlignmentFile(str(source), "rc", reference_filename=str(fasta)) as reads:
        header = reads.header.to_dict()
        header["RG"] = [{**rg, "SM": sample} for rg in header["RG"]]
        header["SQ"] = [{k: v for k, v in sq.items() if k != "UR"} for sq in header["SQ"]]
        header.pop("PG", None)
        mode = "wc" if target.suffix == ".cram" else "wb"
        with pysam.AlignmentFile(
            str(target), mode, header=header, reference_filename=str(fasta)
        ) as out:
            for read in reads:
                out.write(read)
    pysam.index(str(target))


def _rewrite_workbook(source: Path, target: Path, patients: dict[str, str]) -> None:
    workbook = openpyxl.load_workbook(source)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in patients:
                    cell.value = patients[cell.value]
    workbook.save(target)


def _rewrite_sheet(source: Path, target: Path, patients, samples) -> None:
    with source.open() as handle:
        rows = list(csv.DictReader(handle))
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "patient_id": patients[row["patient_id"]],
                 "sample_id": samples[row["sample_id"]]}
            )  # fmt: skip


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> dict:
    """The demo cohort under new IDs and names; one sample read from a BAM, one from a
    CRAM, both scanned by run."""
    root = tmp_path_factory.mktemp("redact_results")
    folder = root / f"HOSP-COHORT-{TAG}"
    (folder / "vcf").mkdir(parents=True)
    (folder / "reads").mkdir()
    fasta = folder / f"HOSP-GENOME-{TAG}.fa.gz"
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(DEMO / (FASTA_NAME + suffix), Path(str(fasta) + suffix))
    patients, samples = _new_ids(DEMO / "samples.csv")
    vcfs = []
    for source in sorted((DEMO / "vcf").glob("*.vcf.gz")):
        sample = source.name.removesuffix(".vcf.gz")
        target = folder / "vcf" / f"{samples[sample]}.vcf.gz"
        _rewrite_vcf(source, target, samples)
        vcfs.append(target)
    reads = []
    for source, suffix in zip(
        sorted((DEMO / "reads").glob("*.cram")), (".bam", ".cram"), strict=True
    ):
        sample = source.name.removesuffix(".cram")
        target = folder / "reads" / f"{samples[sample]}{suffix}"
        _rewrite_reads(source, target, samples[sample], fasta)
        reads.append(target)
    assert [p.suffix for p in reads] == [".bam", ".cram"]
    clinical = folder / f"HOSP-CLINICAL-{TAG}.xlsx"
    _rewrite_workbook(DEMO / "response.xlsx", clinical, patients)
    sheet = folder / f"HOSP-SHEET-{TAG}.csv"
    _rewrite_sheet(DEMO / "samples.csv", sheet, patients, samples)
    salt = root / f"HOSP-SALT-{TAG}.txt"
    results = root / f"HOSP-RESULTS-{TAG}"
    command = [sys.executable, "-m", "nlrp3annot", "run", *map(str, vcfs + reads),
               "--fasta", str(fasta), "--clinical", str(clinical), "--samples", str(sheet),
               "--min-depth", "20", "-o", str(results), "--redact", str(salt), "-q"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "folder": folder, "vcfs": vcfs, "reads": reads, "fasta": fasta, "clinical": clinical,
        "sheet": sheet, "salt": salt, "results": results,
    }  # fmt: skip


def _forbidden(cohort: dict) -> set[str]:
    """Every patient ID, sample ID and input file stem, as the inputs themselves give them."""
    ids: set[str] = set()
    with cohort["sheet"].open() as handle:
        for row in csv.DictReader(handle):
            ids |= {row["patient_id"], row["sample_id"]}
    workbook = openpyxl.load_workbook(cohort["clinical"], read_only=True)
    for row in workbook.worksheets[0].iter_rows(min_row=2, max_col=1, values_only=True):
        if row[0]:
            ids.add(str(row[0]))
    for vcf in cohort["vcfs"]:
        with pysam.VariantFile(str(vcf)) as handle:
            ids |= set(handle.header.samples)
    for path in cohort["reads"]:
        with pysam.AlignmentFile(str(path), reference_filename=str(cohort["fasta"])) as handle:
            ids |= {rg["SM"] for rg in handle.header.to_dict()["RG"]}
    inputs = [*cohort["vcfs"], *cohort["reads"], cohort["fasta"], cohort["clinical"],
              cohort["sheet"], cohort["salt"]]  # fmt: skip
    stems = {p.name.split(".")[0] for p in inputs}
    folders = {cohort["folder"].name, cohort["results"].name}
    return ids | stems | folders


def _texts(path: Path) -> list[str]:
    """A file's text as a reader would see it: gzip'd files (bgzip VCFs, their indexes)
    decompressed, zip files (xlsx) member by member; bytes read as latin-1, lowercased."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [archive.read(name).decode("latin-1").lower() for name in archive.namelist()]
    return [data.decode("latin-1").lower()]


def _leaks(folder: Path, forbidden: set[str], only=lambda path: True) -> list[tuple[str, str]]:
    """(file, what) for every forbidden string in a file name or in a file of ``folder``."""
    words = sorted(w.lower() for w in forbidden)
    found = []
    for path in sorted(folder.rglob("*")):
        if not only(path):
            continue
        relative = path.relative_to(folder).as_posix().lower()
        found += [(relative, f"name: {w}") for w in words if w in relative]
        if path.is_file():
            for text in _texts(path):
                found += [(relative, w) for w in words if w in text]
    return found


def _delivery(path: Path) -> bool:
    return path.parts[-2] in ("patients", "phenopackets")


def test_the_search_finds_the_ids_in_the_inputs(cohort) -> None:
    # the walk reads gzip'd VCFs, xlsx and CSV: it finds every kind of ID where it is
    forbidden = _forbidden(cohort)
    assert len(forbidden) > 40
    leaks = _leaks(cohort["folder"], forbidden)
    kinds = {Path(f).suffix for f, _ in leaks}
    assert {".gz", ".xlsx", ".csv"} <= kinds
    assert any(w.startswith("hosp-mrn-") for _, w in leaks)
    assert any(w.startswith("labsmp-") for _, w in leaks)


def test_no_results_file_or_name_holds_an_id_or_input_name(cohort) -> None:
    results = cohort["results"]
    files = [p for p in results.rglob("*") if p.is_file()]
    assert {"summary.json", "run.json", "report.html"} <= {p.name for p in files}
    assert any(p.name.endswith(".scan.vcf.gz") for p in files)
    leaks = _leaks(results, _forbidden(cohort), only=lambda p: not _delivery(p))
    assert not leaks, leaks[:20]


def test_patient_pages_and_phenopackets_hold_no_id(cohort) -> None:
    results = cohort["results"]
    pages = list((results / "patients").glob("*.html"))
    packets = list((results / "phenopackets").glob("*.json"))
    assert pages and packets
    leaks = _leaks(results, _forbidden(cohort), only=_delivery)
    assert not leaks, leaks[:20]


def test_names_are_the_salted_pseudonyms(cohort) -> None:
    salt = cohort["salt"].read_bytes().strip()
    results = cohort["results"]
    with cohort["sheet"].open() as handle:
        rows = list(csv.DictReader(handle))
    # pages and packets of every patient, named from the pseudonym
    for patient in {r["patient_id"] for r in rows}:
        name = _pseudonym(salt, patient)
        assert (results / "patients" / f"{name}.html").is_file()
        assert (results / "phenopackets" / f"{name}.phenopacket.json").is_file()
    # the scan VCF of each BAM/CRAM: named, and its column named, from the sample's pseudonym
    for path in cohort["reads"]:
        with pysam.AlignmentFile(str(path), reference_filename=str(cohort["fasta"])) as handle:
            sample = handle.header.to_dict()["RG"][0]["SM"]
        scan = results / "annotation" / "scan" / f"{_pseudonym(salt, sample)}.scan.vcf.gz"
        with pysam.VariantFile(str(scan)) as handle:
            assert list(handle.header.samples) == [_pseudonym(salt, sample)]


def test_inputs_are_recorded_by_pseudonym_and_hash(cohort) -> None:
    salt = cohort["salt"].read_bytes().strip()
    results = cohort["results"]
    summary = json.loads((results / "summary.json").read_text())
    hashes = summary["provenance"]["inputs_sha256"]
    for vcf in cohort["vcfs"]:
        assert hashes[f"vcf {_pseudonym(salt, vcf.name)}.vcf.gz"] == _sha256(vcf)
    assert hashes["clinical"] == _sha256(cohort["clinical"])
    assert hashes["samples"] == _sha256(cohort["sheet"])
    assert summary["inputs"]["clinical"] == _pseudonym(salt, cohort["clinical"].name) + ".xlsx"
    assert summary["inputs"]["samples"] == _pseudonym(salt, cohort["sheet"].name) + ".csv"
    # the command line: every path by its pseudonym, the other values as given
    expected = ["nlrp3annot", "run"]
    expected += [_pseudonym(salt, p.name) + "".join(p.suffixes) for p in cohort["vcfs"]]
    expected += [_pseudonym(salt, p.name) + p.suffix for p in cohort["reads"]]
    expected += ["--fasta", _pseudonym(salt, cohort["fasta"].name) + ".fa.gz"]
    expected += ["--clinical", _pseudonym(salt, cohort["clinical"].name) + ".xlsx"]
    expected += ["--samples", _pseudonym(salt, cohort["sheet"].name) + ".csv"]
    expected += ["--min-depth", "20", "-o", _pseudonym(salt, cohort["results"].name)]
    expected += ["--redact", _pseudonym(salt, cohort["salt"].name) + ".txt", "-q"]
    assert summary["provenance"]["command"] == expected
    assert json.loads((results / "run.json").read_text())["command"] == expected


def test_compare_redacts_genotypes_annotated_without_it(cohort, tmp_path: Path) -> None:
    # a patient summary of a plain annotate names every sample and VCF; compare --redact
    # must not carry them (nor the summary's own path) into its results
    genotypes = cohort["folder"].parent / f"HOSP-GENOTYPES-{TAG}.tsv"
    nlrp3annot = [sys.executable, "-m", "nlrp3annot"]
    annotate = [*nlrp3annot, "annotate", *map(str, cohort["vcfs"]), "--fasta",
                str(cohort["fasta"]), "--patients", str(genotypes), "-o",
                str(tmp_path / "calls.tsv"), "-q"]  # fmt: skip
    done = subprocess.run(annotate, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "labsmp-" in genotypes.read_text().lower()  # the input does name them
    results = tmp_path / f"HOSP-COMPARED-{TAG}"
    compare = [*nlrp3annot, "compare", "--genotypes", str(genotypes), "--clinical",
               str(cohort["clinical"]), "--samples", str(cohort["sheet"]), "-o", str(results),
               "--redact", str(cohort["salt"]), "-q"]  # fmt: skip
    done = subprocess.run(compare, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    forbidden = _forbidden(cohort) | {genotypes.name.split(".")[0], results.name}
    leaks = _leaks(results, forbidden)
    assert not leaks, leaks[:20]


def test_a_recorded_command_line_keeps_what_is_not_a_path(tmp_path: Path) -> None:
    from nlrp3annot.cli.parser import literal_options
    from nlrp3annot.io.redact import Redactor

    salt = b"0123456789abcdef0123456789abcdef"
    redactor = Redactor(salt)
    words = ["nlrp3annot", "annotate", "/lab/HOSP-MRN-77101/HOSP-MRN-77101-blood.vcf.gz",
             "--build", "GRCh38", "--min-depth", "-5", "--coverage", "LABSMP-1=/x/c.bed",
             "--fasta=/ref/genome.fa.gz", "--transcripts", "mane", "-o", "out.vcf", "-q",
             "annotation/scan/anon-0123456789ab.scan.vcf.gz"]  # fmt: skip
    assert redactor.command(words, literal_options()) == [
        "nlrp3annot", "annotate", _pseudonym(salt, "HOSP-MRN-77101-blood.vcf.gz") + ".vcf.gz",
        "--build", "GRCh38", "--min-depth", "-5", "--coverage",
        f"{_pseudonym(salt, 'LABSMP-1')}={_pseudonym(salt, 'c.bed')}.bed",
        f"--fasta={_pseudonym(salt, 'genome.fa.gz')}.fa.gz", "--transcripts", "mane",
        "-o", _pseudonym(salt, "out.vcf") + ".vcf", "-q", "anon-0123456789ab.scan.vcf.gz",
    ]  # fmt: skip
    # a name that only starts like a pseudonym is not one: it is hashed
    assert redactor.path("anon-0123456789ab-HOSP-MRN-77101.vcf.gz") == (
        _pseudonym(salt, "anon-0123456789ab-HOSP-MRN-77101.vcf.gz") + ".vcf.gz"
    )
    assert redactor.source("HOSP-CLINICAL.xlsx:row 12") == (
        _pseudonym(salt, "HOSP-CLINICAL.xlsx") + ".xlsx:row 12"
    )
