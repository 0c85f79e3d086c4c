"""A batch of small files in one process: what is kept from file to file (parsed sample
columns, the rows' shared parts, their texts) is keyed by what decides it, and the TSV the
worker processes send as text is the TSV written from the rows.

Expected values come from the files themselves (each row carries its own file's FILTER, ID
and name) and from the VCF rule that a genotype may only name alleles the record has."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

from conftest import TEST_FASTA
from vcf_writer import write

from nlrp3annot.io.writers import write_tsv
from nlrp3annot.runner.batch import annotate_files

FASTA = TEST_FASTA["GRCh38"]
C907, C1043 = 247424356, 247424492  # GRCh38 coding positions (c.907, c.1043)


def _het(ref_reads: int, alt_reads: int) -> dict:
    return {"GT": (0, 1), "AD": (ref_reads, alt_reads), "DP": ref_reads + alt_reads}


def test_each_file_keeps_its_own_filter_id_and_name(tmp_path: Path):
    """The same allele with the same call in two files of one run: the site part shared by
    the files of a batch must not carry one file's FILTER or name into the other's rows."""
    call = {"P": _het(20, 22)}
    first = write(tmp_path / "first.vcf", ["P"], [
        {"pos": C907, "ref": "G", "alts": ("A",), "calls": call},
    ])  # fmt: skip
    second = write(tmp_path / "second.vcf", ["P"], [
        {"pos": C907, "ref": "G", "alts": ("A",), "filter": "LowQual", "calls": call},
    ])  # fmt: skip
    result = annotate_files([first, first, second, first], FASTA)
    assert [(r["file"], r["filter"]) for r in result.table] == [
        (str(first), "PASS"),
        (str(first), "PASS"),
        (str(second), "LowQual"),
        (str(first), "PASS"),
    ]
    assert [p["file"] for p in result.patients] == [str(first)] * 2 + [str(second), str(first)]
    # the same call, the same reading: the same values, in every file
    assert len({(r["hgvs_c_sample"], r["vaf"], r["zygosity"]) for r in result.table}) == 1


def _text_vcf(path: Path, body: list[str]) -> Path:
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=248956422>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP",
    ]
    path.write_text("\n".join(header + body) + "\n")
    return path


def test_a_genotype_naming_an_allele_the_record_lacks_is_refused_after_any_file(
    tmp_path: Path,
):
    """'0/2' is a call at a record with two ALTs, and an error at a record with one (the
    VCF's GT names alleles of its own record): sample columns parsed once per process
    must not carry the first reading into the second, in another file or in the same one."""
    two_alts = f"chr1\t{C1043}\t.\tC\tT,A\t.\tPASS\t.\tGT\t0/2"
    one_alt = f"chr1\t{C907}\t.\tG\tA\t.\tPASS\t.\tGT\t0/2"
    fine = _text_vcf(tmp_path / "fine.vcf", [two_alts])
    bad = _text_vcf(tmp_path / "bad.vcf", [one_alt])
    both = _text_vcf(tmp_path / "both.vcf", [two_alts, one_alt])
    result = annotate_files([fine, bad, both], FASTA)
    assert [f for f, _ in result.failures] == [str(bad), str(both)]
    assert all("names allele 2" in error for _, error in result.failures)
    assert [r["alt"] for r in result.table] == ["A"]  # fine.vcf's 0/2 carries the 2nd ALT


def test_the_tsv_sent_as_text_is_the_tsv_of_the_rows(tmp_path: Path):
    """annotate --list --jobs 2 -o X.tsv (the workers send their rows as TSV lines) writes
    the bytes that the rows themselves give (annotate_files, then write_tsv): files with
    shared and different sites, a missing genotype, a sites-only file among them."""
    paths = []
    for i in range(6):
        calls = {f"S{i}": _het(30 - i, 10 + i)}
        records = [{"pos": C907, "ref": "G", "alts": ("A",), "calls": calls}]
        if i % 2:
            missing = {f"S{i}": {"GT": (None, None)}}
            records.append({"pos": C1043, "ref": "C", "alts": ("T",), "calls": missing})
        paths.append(write(tmp_path / f"s{i}.vcf", [f"S{i}"], records))
    sites_only = tmp_path / "sites.vcf.gz"
    with gzip.open(sites_only, "wt") as out:
        out.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n")
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        out.write(f"chr1\t{C1043}\trs1\tC\tT\t.\tPASS\t.\n")
    paths.insert(3, sites_only)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))
    sent = tmp_path / "sent.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", "--list", str(listing), "--fasta",
         str(FASTA), "-o", str(sent), "-q", "--jobs", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from_rows = tmp_path / "rows.tsv"
    write_tsv(annotate_files(paths, FASTA), from_rows)
    assert sent.read_bytes() == from_rows.read_bytes()
    lines = sent.read_text().splitlines()
    assert len(lines) == 1 + 6 + 3 + 1  # header, six carriers, three missing, one site
    assert sum(line.startswith(f"{sites_only}\t") for line in lines) == 1


def test_a_sample_row_reads_its_file_before_the_known_variant_columns(tmp_path: Path):
    """The file's name is a part of its own in a sample row; read as a dict (to_frame, the
    API's DataFrame) it stands where a site row has it: before the known-variant columns,
    after the sample's own reading."""
    path = write(tmp_path / "one.vcf", ["P"], [
        {"pos": C907, "ref": "G", "alts": ("A",), "calls": {"P": _het(20, 22)}},
    ])  # fmt: skip
    row = annotate_files([path], FASTA).table[0]
    keys = list(row)
    assert len(keys) == len(set(keys)) == len(row)
    assert keys.index("legacy_protein_sample") + 1 == keys.index("file")
    assert keys.index("file") + 1 == keys.index("clinvar_id")
    assert dict(row)["file"] == row["file"] == row.get("file") == str(path)
    assert "file" in row


def test_a_joint_vcf_among_small_files_gives_the_tsv_of_the_rows(tmp_path: Path):
    """A joint VCF of more rows than a worker sends as TSV lines (its rows come back as rows,
    whose shared parts hold less memory than their text) in one --list with small files
    (sent as lines): the TSV and the patients table are the rows' own, in the list's order."""
    from joint_vcf import write_joint_vcf

    from nlrp3annot.io.writers import write_patients
    from nlrp3annot.runner.parallel import TSV_LINES_MAX_ROWS

    joint = write_joint_vcf(tmp_path / "joint.vcf", 300, 60, seed=5)
    small = [
        write(tmp_path / f"s{i}.vcf", [f"P{i}"],
              [{"pos": C907, "ref": "G", "alts": ("A",), "calls": {f"P{i}": _het(20, 5 + i)}}])
        for i in range(3)
    ]  # fmt: skip
    paths = [small[0], joint, *small[1:]]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))
    sent, patients = tmp_path / "sent.tsv", tmp_path / "patients.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", "--list", str(listing), "--fasta",
         str(FASTA), "-o", str(sent), "--patients", str(patients), "-q", "--jobs", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = annotate_files(paths, FASTA)
    from_rows, rows_patients = tmp_path / "rows.tsv", tmp_path / "rows.patients.tsv"
    write_tsv(result, from_rows)
    write_patients(result, rows_patients)
    assert sent.read_bytes() == from_rows.read_bytes()
    assert patients.read_bytes() == rows_patients.read_bytes()
    from_joint = sum(line.startswith(f"{joint}\t") for line in sent.read_text().splitlines())
    assert from_joint > TSV_LINES_MAX_ROWS  # (else this would test lines only)


def test_the_run_looks_alleles_up_in_the_knowledge_it_is_given(tmp_path: Path):
    """annotate_files(knowledge=...): the run's rows come from the tables given (a one-row
    ClinVar table of our own naming c.907G>A's canonical SPDI, NC_000001.11:247424355:G:A),
    not from tables the run loads itself; the VCF output's findings then look up in the same
    tables the rows were made from."""
    from nlrp3annot.knowledge.clinvar import COLUMNS, load_clinvar, load_phenotypes
    from nlrp3annot.knowledge.columns import Knowledge

    table = tmp_path / "clinvar_own.tsv"
    row = ["999999", "c.907G>A", "", "247424355", "G", "A", "", "", "Uncertain significance",
           "no assertion criteria provided", "TEST", "", ""]  # fmt: skip
    table.write_text("# built: 2025-01-01\n" + "\t".join(COLUMNS) + "\n" + "\t".join(row) + "\n")
    own = Knowledge(load_clinvar(table), load_phenotypes(), "own")
    vcf = write(tmp_path / "sites.vcf", [], [{"pos": C907, "ref": "G", "alts": ("A",)}])
    given = annotate_files([vcf], FASTA, knowledge=own)
    assert {r["clinvar_id"] for r in given.table} == {"999999"}
    assert {r["clinvar_significance"] for r in given.table} == {"Uncertain significance"}
    loaded = annotate_files([vcf], FASTA)  # the bundled table's record, not ours
    assert "999999" not in {r["clinvar_id"] for r in loaded.table}
