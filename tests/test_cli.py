"""The command line as a user runs it: outputs, the skipped list, and one-line errors with
exit code 2 for every user mistake."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from conftest import TEST_FASTA, write_vcf

import nlrp3annot

FASTA38 = str(TEST_FASTA["GRCh38"])
OFFSET37 = 163_302


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, env=env
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def tsv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


MIXED = [
    ("chr1", 247424227, "C", "T"),  # c.778C>T
    ("chr1", 247424492, "C", "T,A"),  # multi-allelic: split per ALT
    ("chr1", 247424356, "G", "A,<NON_REF>"),  # gVCF block allele: skipped, listed
    ("chr1", 247424765, "C", "<DEL>"),  # symbolic: skipped, listed
    ("chr1", 100_000, "A", "G"),  # outside the locus: counted
    ("chr2", 247424227, "C", "T"),  # other chromosome: counted
]


ALT_HEADER = (
    '##ALT=<ID=NON_REF,Description="Any possible alternative allele at this location">\n'
    '##ALT=<ID=DEL,Description="Deletion">'
)


def test_annotate_tsv_with_skipped_list(tmp_path: Path):
    vcf = write_vcf(tmp_path / "mixed.vcf", MIXED, extra_header=ALT_HEADER)
    out = tmp_path / "out.tsv"
    proc = run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = tsv(out)
    assert [(r["pos"], r["alt"]) for r in rows] == [
        ("247424227", "T"),
        ("247424492", "T"),
        ("247424492", "A"),
        ("247424356", "A"),
    ] or sorted((r["pos"], r["alt"]) for r in rows) == sorted(
        [("247424227", "T"), ("247424492", "T"), ("247424492", "A"), ("247424356", "A")]
    )
    skipped = tsv(tmp_path / "out.skipped.tsv")
    assert sorted(s["alt"] for s in skipped) == ["<DEL>", "<NON_REF>"]
    assert all(s["reason"] for s in skipped)
    assert "2 skipped" in proc.stderr and "outside the NLRP3 locus: 2" in proc.stderr


def test_stdout_json_and_vcf_outputs(tmp_path: Path):
    vcf = write_vcf(tmp_path / "mixed.vcf", MIXED, extra_header=ALT_HEADER)
    proc = run("annotate", str(vcf), "--fasta", FASTA38, "-q")
    assert proc.returncode == 0 and proc.stderr == ""
    header = proc.stdout.splitlines()[0].split("\t")
    for column in (
        "chrom",
        "pos",
        "ref",
        "alt",
        "transcript",
        "hgvs_c",
        "hgvs_p",
        "consequence",
        "impact",
        "exon",
        "intron",
        "protein_position",
        "domain",
        "ref_mismatch",
    ):
        assert column in header

    out_json = tmp_path / "out.json"
    assert run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(out_json)).returncode == 0
    doc = json.loads(out_json.read_text())
    assert len(doc["annotations"]) == 4 and len(doc["skipped"]) == 2
    assert doc["summary"]["per_file"][0]["build"] == "GRCh38"

    out_vcf = tmp_path / "out.vcf.gz"
    assert run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(out_vcf)).returncode == 0
    with pysam.VariantFile(str(out_vcf)) as annotated:
        description = annotated.header.info["CSQ"].description
        assert (
            "Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|EXON|INTRON|HGVSc|HGVSp|"
            "Protein_position|Amino_acids|Codons|DOMAINS|" in description
        )
        records = list(annotated)
    # every input record is kept (MIXED's 6); those without a nameable allele carry no CSQ
    assert len(records) == len(MIXED)
    csq = {rec.pos: rec.info["CSQ"] for rec in records if "CSQ" in rec.info}
    assert sorted(csq) == [247424227, 247424356, 247424492]
    assert len(csq[247424492]) == 2  # one CSQ entry per ALT
    assert "NM_001243133.2:c.778C>T" in csq[247424227][0]


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_bcftools_split_vep_reads_our_csq(tmp_path: Path):
    vcf = write_vcf(tmp_path / "mixed.vcf", MIXED, extra_header=ALT_HEADER)
    out_vcf = tmp_path / "out.vcf"
    assert run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(out_vcf)).returncode == 0
    proc = subprocess.run(
        [
            "bcftools",
            "+split-vep",
            "-d",
            "-f",
            "%POS\t%HGVSc\t%HGVSp\t%Consequence\t%EXON\n",
            str(out_vcf),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    lines = sorted(proc.stdout.splitlines())
    assert (
        "247424227\tNM_001243133.2:c.778C>T\tNP_001230062.1:p.Arg260Ter\tstop_gained\t4/10" in lines
    )
    assert len(lines) == 4


def test_library_api_returns_dataframe(tmp_path: Path):
    vcf = write_vcf(tmp_path / "mixed.vcf", MIXED, extra_header=ALT_HEADER)
    table = nlrp3annot.annotate_vcf(vcf, fasta=FASTA38)
    assert len(table) == 4
    assert set(table["hgvs_p"]) >= {"NP_001230062.1:p.Thr348Met", "NP_001230062.1:p.Thr348Lys"}
    assert len(table.attrs["skipped"]) == 2
    one = nlrp3annot.annotate_variant("chr1", 247424356, "G", "A", fasta=FASTA38)
    assert one.loc[0, "hgvs_p"] == "NP_001230062.1:p.Asp303Asn"


def test_bgzip_indexed_and_bcf_inputs_give_the_same_rows(tmp_path: Path):
    vcf = write_vcf(tmp_path / "mixed.vcf", MIXED, extra_header=ALT_HEADER)
    gz = tmp_path / "mixed.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz))
    pysam.tabix_index(str(gz), preset="vcf")
    others = [gz]
    if shutil.which("bcftools"):
        bcf = tmp_path / "mixed.bcf"
        subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
        others.append(bcf)
    plain = nlrp3annot.annotate_vcf(vcf, fasta=FASTA38)
    for other in others:
        table = nlrp3annot.annotate_vcf(other, fasta=FASTA38)
        assert (
            table[["pos", "alt", "hgvs_c"]].values.tolist()
            == plain[["pos", "alt", "hgvs_c"]].values.tolist()
        )


def test_build_auto_grch37_with_1_naming(tmp_path: Path):
    records = [("1", 247424227 + OFFSET37, "C", "T")]
    vcf = write_vcf(tmp_path / "b37.vcf", records, build=None, chrom_name="1")
    out = tmp_path / "out.tsv"
    assert (
        run("annotate", str(vcf), "--fasta", str(TEST_FASTA["GRCh37"]), "-o", str(out)).returncode
        == 0
    )
    (row,) = tsv(out)
    assert row["build"] == "GRCh37" and row["hgvs_c"].endswith("c.778C>T")
    assert row["hgvs_g"] == "NC_000001.10:g.247587529C>T"


def test_ref_mismatch_is_reported_per_row_and_the_run_continues(tmp_path: Path):
    records = [("chr1", 247424227, "G", "T"), ("chr1", 247424356, "G", "A")]
    vcf = write_vcf(tmp_path / "mm.vcf", records)
    out = tmp_path / "out.tsv"
    proc = run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(out))
    assert proc.returncode == 0
    rows = {r["pos"]: r for r in tsv(out)}
    assert rows["247424227"]["ref_mismatch"] == "True"
    assert "differs from the reference C" in rows["247424227"]["note"]
    assert rows["247424356"]["ref_mismatch"] == "False"
    assert "1 rows have a REF that differs" in proc.stderr


# ---- user mistakes: one line, naming the file, exit code 2 ---------------------------------


def test_missing_file(tmp_path: Path):
    assert_one_line_error(
        run("annotate", str(tmp_path / "nope.vcf"), "--fasta", FASTA38), "nope.vcf", "no such file"
    )


def test_not_a_vcf(tmp_path: Path):
    bad = tmp_path / "notes.vcf"
    bad.write_text("patient list\nP1\n")
    assert_one_line_error(run("annotate", str(bad), "--fasta", FASTA38), "notes.vcf", "not a VCF")


def test_truncated_bgzip(tmp_path: Path):
    vcf = write_vcf(
        tmp_path / "big.vcf", [("chr1", 247_420_000 + i, "A", "G") for i in range(3000)]
    )
    gz = tmp_path / "big.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz))
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    assert_one_line_error(run("annotate", str(cut), "--fasta", FASTA38), "cut.vcf.gz", "truncated")


def test_malformed_record_is_named(tmp_path: Path):
    vcf = write_vcf(tmp_path / "bad.vcf", [("chr1", 247424227, "C", "T")])
    with vcf.open("a") as handle:
        handle.write("chr1\tabc\t.\tC\tT\t.\tPASS\t.\n")
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38), "bad.vcf", "record #2", "abc"
    )


def test_fasta_of_the_wrong_build(tmp_path: Path):
    # a GRCh37 VCF (contig length says so) with the GRCh38 FASTA
    vcf = write_vcf(
        tmp_path / "b37.vcf", [("chr1", 247424227 + OFFSET37, "C", "T")], build="GRCh37"
    )
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38), "GRCh37", "GRCh38", "--fasta"
    )
    # the same without a ##contig length: told apart by where the records fall
    vcf = write_vcf(
        tmp_path / "b37_nolen.vcf", [("chr1", 247424227 + OFFSET37, "C", "T")], build=None
    )
    assert_one_line_error(run("annotate", str(vcf), "--fasta", FASTA38), "GRCh37", "GRCh38")
    # --build contradicting the FASTA
    vcf = write_vcf(tmp_path / "b38.vcf", [("chr1", 247424227, "C", "T")])
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38, "--build", "GRCh37"), "GRCh38", "GRCh37"
    )


def test_fasta_without_nlrp3(tmp_path: Path):
    fasta = tmp_path / "other.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 1000 + "\n")
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424227, "C", "T")])
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", str(fasta)), "other.fa", "NLRP3 reference"
    )


def test_fasta_missing_index_for_bgzip(tmp_path: Path):
    fasta = tmp_path / "genome.fa.gz"
    shutil.copy(TEST_FASTA["GRCh38"], fasta)  # no .fai/.gzi beside it, folder read-only-ish
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424227, "C", "T")])
    proc = run("annotate", str(vcf), "--fasta", str(fasta))
    # pysam builds the index when the folder is writable; either way no traceback
    assert "Traceback" not in proc.stderr


def test_no_sequence_at_all(tmp_path: Path):
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424227, "C", "T")])
    env = {**__import__("os").environ, "NLRP3ANNOT_CACHE": str(tmp_path / "empty-cache")}
    assert_one_line_error(
        run("annotate", str(vcf), env=env), "--fasta", "nlrp3annot reference fetch"
    )


def test_plain_gzip_vcf_is_streamed(tmp_path: Path):
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 247424227, "C", "T")])
    gz = tmp_path / "v.vcf.gz"
    gz.write_bytes(gzip.compress(vcf.read_bytes()))  # gzip, not bgzip: no index possible
    table = nlrp3annot.annotate_vcf(gz, fasta=FASTA38)
    assert table.loc[0, "hgvs_c"] == "NM_001243133.2:c.778C>T"


def test_output_that_would_replace_an_input_is_refused(tmp_path: Path):
    """-o naming the input VCF (or a folder) stops before any work: the input is intact."""
    vcf = write_vcf(
        tmp_path / "in.vcf", [("chr1", 247424227, "C", "T"), ("chr1", 247424356, "G", "A")]
    )
    before = vcf.read_bytes()
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(vcf)), "in.vcf", "input"
    )
    assert vcf.read_bytes() == before
    folder = tmp_path / "results"
    folder.mkdir()
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(folder)), "results", "folder"
    )
    assert_one_line_error(
        run("annotate", str(vcf), "--fasta", FASTA38, "-o", "x.tsv", "--patients", FASTA38),
        "input",
    )


def test_outputs_follow_the_umask(tmp_path: Path):
    vcf = write_vcf(tmp_path / "in.vcf", [("chr1", 247424227, "C", "T")])
    out = tmp_path / "out.tsv"
    proc = subprocess.run(
        [
            "sh",
            "-c",
            f"umask 022 && {sys.executable} -m nlrp3annot annotate {vcf} "
            f"--fasta {FASTA38} -o {out} -q",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o644


def test_output_under_a_file_is_one_line(tmp_path: Path):
    """-o inside a path whose parent is a file: one line naming it, exit 2, nothing left."""
    vcf = write_vcf(tmp_path / "in.vcf", [("chr1", 247424227, "C", "T")])
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder\n")
    proc = run("annotate", str(vcf), "--fasta", FASTA38, "-o", str(blocker / "out.tsv"))
    assert_one_line_error(proc, "notes.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf", "notes.txt"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--min-depth", "-5"), ("--mosaic-alpha", "5"), ("--max-mosaic-vaf", "nan")],
)
def test_out_of_range_options_are_refused(tmp_path: Path, option: str, value: str):
    """A usage error: the command's one-line usage, then one error line (tests/test_help.py
    checks every numeric option's range)."""
    vcf = write_vcf(tmp_path / "in.vcf", [("chr1", 247424227, "C", "T")])
    proc = run(
        "annotate", str(vcf), "--fasta", FASTA38, "-o", str(tmp_path / "o.tsv"), option, value
    )
    assert proc.returncode == 2, proc.stderr
    usage, error = proc.stderr.strip().splitlines()
    assert usage.startswith("usage: nlrp3annot annotate ")
    assert error.startswith("nlrp3annot annotate: error: ") and option in error, error
    assert not (tmp_path / "o.tsv").exists()


def test_plain_gzip_input_with_parallel_jobs(tmp_path: Path):
    """A plain-gzip VCF (gzip, not bgzip) on its own with --jobs 2: htslib cannot open it to
    plan sample shards; the file is still annotated (it was a traceback)."""
    vcf = write_vcf(
        tmp_path / "in.vcf", [("chr1", 247424227, "C", "T"), ("chr1", 247424356, "G", "A")]
    )
    plain_gz = tmp_path / "in.vcf.gz"
    plain_gz.write_bytes(gzip.compress(vcf.read_bytes()))
    out = tmp_path / "out.tsv"
    proc = run("annotate", str(plain_gz), "--fasta", FASTA38, "-o", str(out), "-q", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().count("\n") == 3  # header + 2 alleles


def test_tsv_lines_read_back_through_csv_module_unchanged(tmp_path: Path) -> None:
    """The TSV writer joins values itself; Python's csv reader (the reference) must read
    every awkward value back as written: tabs, quotes, newlines, empty strings and None."""
    import io

    from nlrp3annot.io.writers import _tsv

    awkward = ["plain", "", None, "tab\there", 'quote"d', "new\nline", "cr\rx", 7, 0.5, True]
    rows = [{"a": v, "b": w, "c": "x"} for v in awkward for w in awkward]
    buffer = io.StringIO()
    _tsv(rows, ["a", "b", "c"], buffer)
    read = list(csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter="\t"))
    assert read[0] == ["a", "b", "c"]
    expected = [["" if v is None else str(v) for v in (r["a"], r["b"], r["c"])] for r in rows]
    assert read[1:] == expected


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
@pytest.mark.parametrize("awkward", ["unsorted", "plain_gzip", "malformed_elsewhere", "latin1"])
def test_vcf_gz_output_from_awkward_inputs(tmp_path: Path, awkward: str):
    """VCF.gz output used to re-read the whole input through htslib: unsorted input, plain
    gzip, a broken line outside the locus or non-UTF-8 INFO gave tracebacks. bcftools reads
    what we write, through its index, with every locus record annotated and its bytes kept."""
    vcf = write_vcf(tmp_path / "in.vcf", MIXED[:2], extra_header=ALT_HEADER)
    lines = vcf.read_bytes().splitlines(keepends=True)
    header = [line for line in lines if line.startswith(b"#")]
    records = [line for line in lines if not line.startswith(b"#")]
    if awkward == "unsorted":
        data = b"".join(header + records[::-1])
    elif awkward == "malformed_elsewhere":
        data = b"".join(header + [b"chr2\tnot_a_number\t.\tA\n"] + records)
    elif awkward == "latin1":
        records[0] = records[0].replace(b"\tPASS\t.", b"\tPASS\tNOTE=caf\xe9")
        data = b"".join(header + records)
    else:
        data = b"".join(header + records)
    source = tmp_path / ("in.vcf.gz" if awkward == "plain_gzip" else "in2.vcf")
    source.write_bytes(gzip.compress(data) if awkward == "plain_gzip" else data)
    out = tmp_path / "out.vcf.gz"
    (tmp_path / "out.vcf.gz.tbi").write_bytes(b"an index of an older output")
    # a malformed line is passed through as it is, so only --locus-only's output, which
    # leaves it out, can be indexed (the default's is checked below)
    locus_only = ["--locus-only"] if awkward == "malformed_elsewhere" else []
    proc = run("annotate", str(source), "--fasta", FASTA38, "-o", str(out), "-q", *locus_only)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    if awkward == "malformed_elsewhere":
        kept = tmp_path / "kept.vcf.gz"
        proc = run("annotate", str(source), "--fasta", FASTA38, "-o", str(kept), "-q")
        assert proc.returncode == 0, proc.stderr
        assert "kept.vcf.gz: not indexed" in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert not (tmp_path / "kept.vcf.gz.tbi").exists()
        body = [x for x in gzip.decompress(kept.read_bytes()).splitlines() if x[:1] != b"#"]
        assert body[0] == b"chr2\tnot_a_number\t.\tA" and len(body) == 3
    region = subprocess.run(
        ["bcftools", "query", "-r", "chr1:247424000-247425000", "-f", "%POS\t%INFO/CSQ\n", out],
        capture_output=True,
        check=True,
    ).stdout.decode("latin-1")
    positions = [int(line.split("\t")[0]) for line in region.splitlines()]
    assert positions == [247424227, 247424492]  # sorted, both records, through the new index
    assert "NM_001243133.2:c.778C>T" in region
    if awkward == "latin1":
        assert b"NOTE=caf\xe9;CSQ=" in gzip.decompress(out.read_bytes())


@pytest.mark.parametrize("suffix", ["tsv", "vcf.gz", "json"])
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tmp_path: Path, suffix: str):
    """Writing stops part-way (the file size limit turns writes into EFBIG, as a full disk
    turns them into ENOSPC): exit 2, one line naming the output, no file or temp left."""
    import resource

    rows = [("chr1", 247424227 + 3 * i, "C", "T") for i in range(200)]
    vcf = write_vcf(tmp_path / "many.vcf", rows)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / f"calls.{suffix}"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(vcf), "--fasta", FASTA38]
        + ["-o", str(out), "-q"],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=600,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0], proc.stderr
    assert list(folder.iterdir()) == []


def test_vcf_output_is_written_from_the_lines_the_scan_read(tmp_path: Path):
    """One pass with --locus-only: the VCF output comes from the lines read while annotating,
    so it is the same when the input is gone by the time it is written. (Without it every
    record of the input is copied, which reads the input again.)"""
    from nlrp3annot.io.vcf_writer import write_vcf as write_vcf_output
    from nlrp3annot.runner.batch import annotate_files

    vcf = write_vcf_file(tmp_path)
    result = annotate_files([vcf], FASTA38, keep_lines=True)
    assert result.source is not None
    before = tmp_path / "before.vcf"
    write_vcf_output(result, vcf, before, locus_only=True)
    vcf.unlink()
    after = tmp_path / "after.vcf"
    write_vcf_output(result, vcf, after, locus_only=True)
    assert after.read_bytes() == before.read_bytes()
    assert b"CSQ=" in after.read_bytes()


def write_vcf_file(folder: Path) -> Path:
    return write_vcf(folder / "in.vcf", MIXED, extra_header=ALT_HEADER)


def test_a_run_killed_between_its_outputs_never_leaves_a_new_file_beside_an_old_one(
    tmp_path: Path, monkeypatch
):
    """-o calls.tsv and --patients patients.tsv are one set: a second run that dies after
    writing calls.tsv (the crash injected where the patients file would be written) leaves
    the new calls and no patients file, not the previous run's patients beside new calls."""
    from nlrp3annot import cli

    first = write_vcf(tmp_path / "a.vcf", [("chr1", 247_424_356, "G", "A")])  # c.907G>A
    second = write_vcf(tmp_path / "b.vcf", [("chr1", 247_424_765, "C", "T")])  # c.1316C>T
    calls, patients = tmp_path / "calls.tsv", tmp_path / "patients.tsv"
    args = ["annotate", "--fasta", str(TEST_FASTA["GRCh38"]), "-o", str(calls),
            "--patients", str(patients), "-q"]  # fmt: skip
    assert cli.main([*args, str(first)]) == 0
    assert "c.907G>A" in calls.read_text() and patients.exists()

    def crash(*_):
        raise OSError(28, "No space left on device")

    import nlrp3annot.io.writers as writers

    monkeypatch.setattr(writers, "write_patients", crash)
    assert cli.main([*args, str(second)]) == 2
    assert "c.1316C>T" in calls.read_text()  # the new run's calls ...
    assert not patients.exists()  # ... and no old patient summary beside them
