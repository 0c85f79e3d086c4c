"""The fast paths give the same answers as the plain ones.

- genotypes read as arrays (cyvcf2) == one pysam object per sample, on every genotype shape;
- the byte-level locus filter of unindexed files == a region fetch through an index, and its
  counts of records read and outside the locus == an independent count of the lines;
- a stale index, or one whose contig naming differs from the header, is not trusted;
- serial == ``--jobs 2`` (files in a pool, or sample shards of one joint VCF) == a Dask
  LocalCluster on 127.0.0.1, byte for byte.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_FASTA
from joint_vcf import bgzip_indexed, write_joint_vcf

from nlrp3annot.runner.pipeline import Session, Settings, annotate_scan, load_sequence

FASTA = TEST_FASTA["GRCh38"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, timeout=600
    )


def annotated(path: Path, arrays: bool | None = None, samples=None, reader: str = "auto"):
    session = Session(Settings(str(FASTA)))
    from nlrp3annot.io.read import scan_vcf

    scan = scan_vcf(path, session.watch, arrays=arrays, samples=samples, reader=reader)
    seq = load_sequence(scan, str(FASTA), "auto")
    return scan, annotate_scan(scan, seq, session=session)


def _without(summary: dict, keys: set[str]) -> dict:
    return {k: v for k, v in summary.items() if k not in keys}


@pytest.fixture(scope="module")
def joint(tmp_path_factory) -> Path:
    return write_joint_vcf(tmp_path_factory.mktemp("joint") / "joint.vcf", 80, 120)


@pytest.mark.parametrize("form", ["text", "bgzip_indexed", "bcf"])
def test_arrays_and_per_sample_reader_agree(joint: Path, form: str) -> None:
    """The text reader (with and without the numpy pre-screen) and cyvcf2 arrays (BCF) give
    what pysam gives sample by sample."""
    path = joint
    if form == "bgzip_indexed":
        path = bgzip_indexed(joint)
    elif form == "bcf":
        path = joint.with_suffix(".bcf")
        subprocess.run(["bcftools", "view", "-Ob", "-o", str(path), str(joint)], check=True)
        subprocess.run(["bcftools", "index", "-f", str(path)], check=True)
    scan_p, by_pysam = annotated(path, arrays=False, reader="htslib")
    for arrays in (True, False):
        scan_a, by_arrays = annotated(path, arrays=arrays)
        assert by_arrays.table == by_pysam.table
        assert by_arrays.patients == by_pysam.patients
        assert scan_a.lowest_depth == scan_p.lowest_depth
        # a small indexed file is read whole, so its records outside the locus are counted
        counts = {"records_read", "records_outside_locus"} if form == "bgzip_indexed" else set()
        assert _without(by_arrays.summary, counts) == _without(by_pysam.summary, counts)
    assert len(by_arrays.table) > 200  # the file exercises the sample paths
    statuses = {p["status"] for p in by_arrays.patients}
    assert {"positive_germline", "not_assessable"} <= statuses


def test_sample_names_read_as_htslib_reads_them(tmp_path: Path, joint: Path) -> None:
    import pysam

    from nlrp3annot.io.vcf import sample_names

    bcf = tmp_path / "joint.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(joint)], check=True)
    with pysam.VariantFile(str(joint)) as vf:
        expected = list(vf.header.samples)
    assert len(expected) == 80
    for path in (joint, bgzip_indexed(joint), bcf):
        assert sample_names(path) == expected
    plain_gzip = tmp_path / "joint.vcf.gz"
    plain_gzip.write_bytes(gzip.compress(joint.read_bytes()))
    assert sample_names(plain_gzip) == expected
    assert sample_names(tmp_path / "missing.vcf") == []
    many = [f"S{i:05d}" for i in range(30_000)]  # a #CHROM line of 200 kB
    header = "##fileformat=VCFv4.2\n#" + "\t".join(
        ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *many]
    )
    wide = tmp_path / "wide.vcf"
    wide.write_text(header + "\n")
    assert sample_names(wide) == many
    wide.write_text(header)  # cut inside the #CHROM line
    assert sample_names(wide) == []


def test_sample_shards_equal_the_whole(joint: Path) -> None:
    _, whole = annotated(joint)
    names = [f"S{i:04d}" for i in range(80)]
    parts = [annotated(joint, samples=names[i : i + 30])[1] for i in range(0, 80, 30)]
    from nlrp3annot.runner.parallel import merge_shards

    merged = merge_shards(parts)
    assert merged.table == whole.table
    assert merged.patients == whole.patients
    assert merged.summary == whole.summary


def _count_lines(path: Path) -> tuple[int, int]:
    """(data lines, data lines on chr1 overlapping either build's window), counted plainly."""
    from nlrp3annot.genome.reference import locus_window

    windows = [locus_window("GRCh38"), locus_window("GRCh37")]
    opener = gzip.open if path.suffix == ".gz" else open
    data = inside = 0
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            data += 1
            chrom, pos, _, ref = line.split("\t")[:4]
            end = int(pos) + len(ref) - 1
            if chrom in ("chr1", "1") and any(int(pos) <= hi and end >= lo for lo, hi in windows):
                inside += 1
    return data, inside


@pytest.mark.parametrize("compress", ["plain", "gzip", "bgzip"])
def test_byte_filter_finds_what_an_index_finds(tmp_path: Path, joint: Path, compress: str):
    indexed = bgzip_indexed(joint)
    _, reference = annotated(indexed)
    if compress == "plain":
        unindexed = joint
    elif compress == "gzip":
        unindexed = tmp_path / "joint.vcf.gz"
        unindexed.write_bytes(gzip.compress(joint.read_bytes()))
    else:
        unindexed = tmp_path / "joint.bgz.vcf.gz"
        unindexed.write_bytes(indexed.read_bytes())  # same bgzip bytes, no index beside it
    scan, result = annotated(unindexed)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file"} for r in rows]  # noqa: E731
    assert strip(result.table) == strip(reference.table)
    assert strip(result.patients) == strip(reference.patients)
    data, inside = _count_lines(joint)
    assert scan.records_read == data
    assert result.summary["records_outside_locus"] == data - inside


@pytest.fixture(params=["text", "htslib"])
def index_always(request, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both readers, with the index used for any size of file (by default a small file is
    read whole, which would not exercise the index)."""
    import nlrp3annot.io.read as read

    monkeypatch.setattr(read, "INDEX_MIN_BYTES", 0)
    return "auto" if request.param == "text" else "htslib"


def test_stale_index_is_not_trusted(tmp_path: Path, index_always: str) -> None:
    """A file rewritten after indexing: the old index would find nothing; it is not used."""
    first = write_joint_vcf(tmp_path / "a.vcf", 3, 5, seed=1)
    gz = bgzip_indexed(first)
    index = gz.with_name(gz.name + ".tbi")
    later = write_joint_vcf(tmp_path / "b.vcf", 3, 40, seed=2)
    import pysam

    pysam.tabix_compress(str(later), str(gz), force=True)  # new content, old index
    old = time.time() - 3600
    os.utime(index, (old, old))
    scan, result = annotated(gz, reader=index_always)
    _, fresh = annotated(later)
    assert any("does not match the file" in w for w in scan.warnings)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file"} for r in rows]  # noqa: E731
    assert strip(result.table) == strip(fresh.table)


def test_a_copy_whose_index_is_older_but_matches_is_read_through_it(
    tmp_path: Path, index_always: str
) -> None:
    """cp without -p, a workflow's staging, an object store: the index's mtime is older than
    the file's, but it is the file's index, so it is used (no silent whole-file read)."""
    gz = bgzip_indexed(write_joint_vcf(tmp_path / "a.vcf", 3, 30, seed=4))
    index = gz.with_name(gz.name + ".tbi")
    old = time.time() - 3600
    os.utime(index, (old, old))
    scan, result = annotated(gz, reader=index_always)
    assert not [w for w in scan.warnings if "index" in w]
    assert scan.outside == -1  # read through the index
    _, plain = annotated(tmp_path / "a.vcf")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file"} for r in rows]  # noqa: E731
    assert strip(result.table) == strip(plain.table)


def test_an_index_of_another_file_is_refused_whatever_its_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index of another VCF put beside this one, newer than the file: refused where it
    would be used (a file large enough to read through its index); a small file is read
    whole and its index not even checked (the check would cost as much as the read)."""
    import nlrp3annot.io.read as read
    from nlrp3annot.io.index_check import mismatch

    ours = bgzip_indexed(write_joint_vcf(tmp_path / "a.vcf", 3, 40, seed=5))
    other = bgzip_indexed(write_joint_vcf(tmp_path / "b.vcf", 2, 8, seed=6, chrom="1"))
    index = ours.with_name(ours.name + ".tbi")
    index.write_bytes(other.with_name(other.name + ".tbi").read_bytes())
    assert mismatch(ours, index) is not None
    whole, _ = annotated(ours)
    assert not whole.warnings
    monkeypatch.setattr(read, "INDEX_MIN_BYTES", 0)
    scan, _ = annotated(ours)
    assert any("does not match the file" in w for w in scan.warnings)
    assert len(scan.records["GRCh38"]) == len(whole.records["GRCh38"]) > 0
    assert mismatch(other, other.with_name(other.name + ".tbi")) is None


def test_csi_indexes_are_checked_too(tmp_path: Path) -> None:
    """bcftools index (CSI) of a VCF.gz and of a BCF: each matches its own file."""
    import shutil
    import subprocess

    from nlrp3annot.io.index_check import mismatch

    if shutil.which("bcftools") is None:
        pytest.skip("needs bcftools")
    gz = bgzip_indexed(write_joint_vcf(tmp_path / "a.vcf", 3, 30, seed=7))
    subprocess.run(["bcftools", "index", "-c", "-f", str(gz)], check=True)
    assert mismatch(gz, gz.with_name(gz.name + ".csi")) is None
    bcf = tmp_path / "a.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(gz)], check=True)
    subprocess.run(["bcftools", "index", "-f", str(bcf)], check=True)
    assert mismatch(bcf, bcf.with_name(bcf.name + ".csi")) is None
    truncated = tmp_path / "cut.bcf"
    truncated.write_bytes(bcf.read_bytes()[: bcf.stat().st_size // 3])
    assert mismatch(truncated, bcf.with_name(bcf.name + ".csi")) is not None


def test_index_contig_naming_wins_over_the_header(tmp_path: Path, index_always: str) -> None:
    """##contig says chr1 but the records say 1: the index (built from the records) is used
    with the records' name."""
    text = write_joint_vcf(tmp_path / "a.vcf", 4, 30, seed=3).read_text()
    body = "\n".join(
        ("1" + line[4:]) if line.startswith("chr1\t") else line for line in text.splitlines()
    )
    renamed = tmp_path / "renamed.vcf"
    renamed.write_text(body + "\n")
    gz = bgzip_indexed(renamed)
    scan, result = annotated(gz, reader=index_always)
    _, plain = annotated(renamed)
    assert scan.outside == -1  # read through the index
    assert len(result.table) > 10
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file"} for r in rows]  # noqa: E731
    assert strip(result.table) == strip(plain.table)


@pytest.fixture(scope="module")
def twenty(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("twenty")
    paths = []
    for i in range(20):
        plain = write_joint_vcf(folder / f"p{i:02d}.vcf", 1 + i % 3, 25, seed=100 + i)
        paths.append(bgzip_indexed(plain) if i % 2 else plain)
    return paths


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _annotate_into(folder: Path, paths: list[Path], *extra: str) -> dict[str, bytes]:
    folder.mkdir()
    proc = run_cli(
        "annotate",
        *map(str, paths),
        "--fasta",
        str(FASTA),
        "-q",
        "-o",
        str(folder / "calls.tsv"),
        "--patients",
        str(folder / "patients.tsv"),
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    return _outputs(folder)


def test_serial_pool_and_dask_give_identical_outputs(tmp_path: Path, twenty: list[Path]):
    distributed = pytest.importorskip("distributed")
    serial = _annotate_into(tmp_path / "serial", twenty, "--jobs", "1")
    pooled = _annotate_into(tmp_path / "pool", twenty, "--jobs", "2")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        on_cluster = _annotate_into(
            tmp_path / "dask", twenty, "--scheduler", cluster.scheduler_address
        )
    assert serial.keys() == {"calls.tsv", "calls.skipped.tsv", "patients.tsv"}
    assert pooled == serial
    assert on_cluster == serial
    assert serial["calls.tsv"].count(b"\n") > 100


def test_joint_vcf_shards_over_jobs_identical(tmp_path: Path) -> None:
    """1,000 samples: --jobs 2 splits the samples into two shards; the result is the same."""
    plain = write_joint_vcf(tmp_path / "big.vcf", 1000, 12, seed=5, off_locus=2)
    gz = bgzip_indexed(plain)
    serial = _annotate_into(tmp_path / "serial", [gz], "--jobs", "1")
    sharded = _annotate_into(tmp_path / "sharded", [gz], "--jobs", "2")
    assert sharded == serial


def test_unreachable_scheduler_is_one_line(tmp_path: Path, twenty: list[Path]) -> None:
    pytest.importorskip("distributed")
    proc = run_cli(
        "annotate",
        str(twenty[0]),
        "--fasta",
        str(FASTA),
        "-o",
        str(tmp_path / "x.tsv"),
        "--scheduler",
        "tcp://127.0.0.1:9",
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Dask scheduler" in proc.stderr


def test_screen_with_fields_left_out(tmp_path: Path) -> None:
    """FORMAT says GT:AD but the samples give only GT (trailing fields may be dropped):
    the numpy screen has no AD to read and must still find the one carrier, as htslib does,
    in the whole file and in a shard."""
    names = [f"S{i}" for i in range(40)]
    head = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n"
    )
    calls = ["0/0"] * 39 + ["0/1"]
    vcf = tmp_path / "gt_only.vcf"
    vcf.write_text(head + "chr1\t247424356\t.\tG\tA\t.\tPASS\t.\tGT:AD\t" + "\t".join(calls) + "\n")
    _, reference = annotated(vcf, arrays=False, reader="htslib")
    for samples in (None, names[20:]):
        _, result = annotated(vcf, arrays=True, samples=samples)
        assert [r["sample"] for r in result.table] == ["S39"]
        assert result.table == reference.table


@pytest.mark.parametrize("form", ["vcf", "bcf"])
@pytest.mark.parametrize("samples", [2, 40])
def test_genotype_naming_a_missing_allele_is_an_error(
    tmp_path: Path, samples: int, form: str
) -> None:
    """0/3 on a record with one ALT: one line naming the file, record and sample, exit 2
    (it used to disappear as 'another ALT'). Every sample path: text (plain and numpy
    screen) and BCF (htslib, which reads 3 as missing, and cyvcf2 arrays)."""
    names = [f"S{i}" for i in range(samples)]
    calls = ["0/0"] * (samples - 1) + ["0/3"]
    vcf = tmp_path / "gt3.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n"
        "chr1\t247424356\t.\tG\tA\t.\tPASS\t.\tGT\t" + "\t".join(calls) + "\n"
    )
    if form == "bcf":
        bcf = tmp_path / "gt3.bcf"
        subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
        vcf = bcf
    proc = run_cli("annotate", str(vcf), "--fasta", str(FASTA), "-o", str(tmp_path / "o.tsv"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"gt3.{form}: record #1" in proc.stderr and f"S{samples - 1}" in proc.stderr
    assert "0/3" in proc.stderr


def test_large_sites_file_named_in_parallel_equals_serial(tmp_path: Path) -> None:
    """Every SNV of 800 coding bases (2,400 distinct alleles, named together in the main
    process), and a one-base deletion and two insertions at each of them (2,400 for the
    general path, past the 2,000 at which those are named by several processes while the
    main process names the SNVs): --jobs 2 gives --jobs 1's output."""
    import pysam

    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.runner.forked import PARALLEL_NAMING_MIN

    t = mane_transcript("GRCh38")
    cds = [p for s, e in t.exons for p in range(max(s, t.cds_start), min(e, t.cds_end) + 1)]
    with pysam.FastaFile(str(FASTA)) as fasta:
        bases = {p: fasta.fetch("chr1", p - 1, p + 1).upper() for p in cds[:800]}
    lines = []
    for p, b in sorted(bases.items()):
        lines += [f"chr1\t{p}\t.\t{b[0]}\t{alt}\t.\tPASS\t." for alt in "ACGT" if alt != b[0]]
        lines.append(f"chr1\t{p}\t.\t{b}\t{b[0]}\t.\tPASS\t.")  # deletes the next base
        lines.append(f"chr1\t{p}\t.\t{b[0]}\t{b[0]}TA\t.\tPASS\t.")
        lines.append(f"chr1\t{p}\t.\t{b[0]}\t{b[0]}G\t.\tPASS\t.")
    assert len(lines) - 2_400 >= PARALLEL_NAMING_MIN
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(lines) + "\n"
    )
    serial = _annotate_into(tmp_path / "serial", [vcf], "--jobs", "1")
    parallel = _annotate_into(tmp_path / "parallel", [vcf], "--jobs", "2")
    assert parallel == serial
    assert serial["calls.tsv"].count(b"\n") == 4801


def _fail(item: int) -> int:
    if item == 2:
        raise ValueError(f"item {item} is bad")
    return item * 10


def _die(item: int) -> int:
    os._exit(3)  # a worker killed (out of memory, say) before it sends anything


def test_forked_workers_return_in_order_and_raise_their_errors() -> None:
    from nlrp3annot.errors import Nlrp3AnnotError
    from nlrp3annot.runner.forked import here_and_forked

    assert here_and_forked([1, 3, 4], _fail, _fail) == [10, 30, 40]
    with pytest.raises(ValueError, match="item 2 is bad"):
        here_and_forked([1, 2, 3], _fail, _fail)
    with pytest.raises(Nlrp3AnnotError, match="ended without a result"):
        here_and_forked([1, 2], _fail, _die)


def test_dask_workers_get_absolute_paths_and_a_cluster_without_workers_ends(
    tmp_path: Path, twenty: list[Path], monkeypatch, capsys
) -> None:
    """Workers started elsewhere (here: before the run moves to another working folder)
    read relative --list/--fasta paths as absolute ones, and the outputs still name each file
    as it was given; with no worker at all the run ends in one line, not a hang."""
    distributed = pytest.importorskip("distributed")
    import shutil

    from nlrp3annot import cli
    from nlrp3annot.runner import parallel

    work = tmp_path / "work"
    (work / "vcf").mkdir(parents=True)
    for path in twenty[:4]:
        shutil.copy(path, work / "vcf" / path.name)
    shutil.copy(FASTA, work / "ref.fa.gz")
    for suffix in (".fai", ".gzi"):
        if Path(str(FASTA) + suffix).exists():
            shutil.copy(str(FASTA) + suffix, work / ("ref.fa.gz" + suffix))
    (work / "list.txt").write_text("".join(f"vcf/{p.name}\n" for p in twenty[:4]))
    args = ["annotate", "--list", "list.txt", "--fasta", "ref.fa.gz", "-o", "calls.tsv", "-q"]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        monkeypatch.chdir(work)  # the worker's working folder stays where it started
        assert cli.main([*args, "--scheduler", cluster.scheduler_address]) == 0
    on_cluster = (work / "calls.tsv").read_text()
    assert cli.main([*args, "-o", "local.tsv"]) == 0
    assert on_cluster == (work / "local.tsv").read_text()
    assert "\tvcf/" in on_cluster or "\nvcf/" in on_cluster  # named as given, relative

    monkeypatch.setattr(parallel, "NO_WORKERS_SECONDS", 2)
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as empty:  # fmt: skip
        capsys.readouterr()
        code = cli.main([*args, "-o", "none.tsv", "--scheduler", empty.scheduler_address])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no Dask worker left" in err[0]
