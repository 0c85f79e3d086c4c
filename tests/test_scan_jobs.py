"""``scan --jobs N`` and ``scan --scheduler``: each file's reads counted in its own worker
(forked processes, or the workers of a Dask cluster of separate ``dask scheduler`` and
``dask worker`` processes, as in test_cluster_processes), the calling joint. On a batch of
simulated BAMs with what is worked out per file (a mosaic, two libraries merged in one file
and split apart by read group, one file whose reads carry RX UMIs where the others' do not)
the VCFs, the TSV and what is said on stderr are byte for byte those of one process. A
damaged BAM, and a scheduler without workers, end the run in one line with exit 2.
Speed is not asserted here: scripts/benchmark_scan.py measures it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from conftest import TEST_FASTA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from simulate_reads import C907, EXON4, Allele, simulate  # noqa: E402
from test_scan_replicates import merge  # noqa: E402  (libraries merged in one BAM, an @RG each)

ROOT = Path(__file__).resolve().parents[1]
FASTA = TEST_FASTA["GRCh38"]
MOSAIC = "M10"  # 10% C907G>A at depth 400: called (as in test_scan, by the simulation)
PLAIN = [f"N{i}" for i in range(6)]


def with_rx(source: Path, path: Path) -> Path:
    """``source``'s reads, each with an RX tag (a UMI per read: every read its own family)."""
    with (
        pysam.AlignmentFile(str(source)) as src,
        pysam.AlignmentFile(str(path), "wb", template=src) as out,
    ):
        for n, read in enumerate(src):
            read.set_tag("RX", "".join("ACGT"[(n >> (2 * k)) & 3] for k in range(8)), "Z")
            out.write(read)
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """The batch under relative names (bams/, ref/ref.fa.gz, batch.txt) and a damaged copy
    of one BAM (bad.txt lists it among the others)."""
    here = tmp_path_factory.mktemp("client")
    bams, scratch = here / "bams", here / "scratch"
    bams.mkdir()
    scratch.mkdir()

    def sim(folder: Path, name: str, depth: int, *alleles: Allele, seed: int) -> Path:
        return simulate(folder / f"{name}.bam", [EXON4], depth, tuple(alleles), seed=seed,
                        sample=name, fasta_path=FASTA, read_length=150)  # fmt: skip

    names = [sim(bams, MOSAIC, 400, Allele(C907, "A", 0.10), seed=1).name]
    names += [sim(bams, name, 150, seed=10 + i).name for i, name in enumerate(PLAIN)]
    parts = {lb: sim(scratch, f"R_{lb}", 120, Allele(C907, "A", 0.5), seed=30 + i)
             for i, lb in enumerate(("L1", "L2"))}  # fmt: skip
    names.append(merge(bams / "R_merged.bam", "R", parts).name)
    names.append(with_rx(sim(scratch, "U", 150, seed=40), bams / "U.bam").name)
    shutil.rmtree(scratch)
    (here / "ref").mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(str(FASTA) + suffix, here / "ref" / ("ref.fa.gz" + suffix))
    (here / "batch.txt").write_text("".join(f"bams/{n}\n" for n in names))
    damaged = bams / "damaged.bam"  # N0's reads, with bytes in the middle overwritten
    data = bytearray((bams / f"{PLAIN[0]}.bam").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    damaged.write_bytes(bytes(data))
    shutil.copy(bams / f"{PLAIN[0]}.bam.bai", bams / "damaged.bam.bai")  # newer than it
    (here / "bad.txt").write_text("".join(f"bams/{n}\n" for n in names[:3]) + "bams/damaged.bam\n")
    return here


def scan(where: Path, out: str, *args: str, env=None) -> tuple[subprocess.CompletedProcess, dict]:
    """``nlrp3annot scan ... --fasta ref/ref.fa.gz -o OUT`` run in ``where``: the process
    and the outputs by name."""
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "scan", *args, "--fasta", "ref/ref.fa.gz",
         "-o", out],
        cwd=where, env=env or _env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    folder = where / out
    outputs = {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}
    return proc, outputs


def _env() -> dict[str, str]:
    import os

    extra = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [extra])])}


def said(proc: subprocess.CompletedProcess, out: str) -> str:
    """stderr with the output folder's name taken out (the runs write to different ones)."""
    return proc.stderr.replace(out, "OUT")


@pytest.fixture(scope="module")
def one_process(client_dir: Path):
    proc, outputs = scan(client_dir, "jobs1", "--list", "batch.txt", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    return proc, outputs


def test_the_batch_is_scanned_with_what_each_file_holds(one_process):
    """A guard on the comparison: the batch's per-file features show in the outputs."""
    proc, outputs = one_process
    assert len([n for n in outputs if n.endswith(".scan.vcf.gz")]) == 9
    rows = outputs["scan.tsv"].decode().splitlines()
    header = rows[0].split("\t")
    called = {
        (r["sample"], int(r["pos"]), r["alt"])
        for r in (dict(zip(header, row.split("\t"), strict=True)) for row in rows[1:])
        if r["verdict"] == "called"
    }
    assert (MOSAIC, C907, "A") in called and ("R", C907, "A") in called
    assert "bams/U.bam: reads carry RX UMIs" in proc.stderr  # the only file with RX
    assert b"L1" in _gunzip(outputs["R.scan.vcf.gz"])  # split into its libraries


def _gunzip(data: bytes) -> bytes:
    import gzip

    return gzip.decompress(data)


def test_two_jobs_give_the_bytes_of_one(client_dir: Path, one_process):
    """Also the joint calling's and the writing's: the batch's 9 samples (the two-library
    one among them) are enough to be judged, and their VCFs written, in forked processes."""
    from nlrp3annot.reads.scan import PARALLEL_CALLING_MIN
    from nlrp3annot.reads.scan_output import PARALLEL_WRITING_MIN

    assert PARALLEL_CALLING_MIN <= 9 and PARALLEL_WRITING_MIN <= 9
    proc, outputs = scan(client_dir, "jobs2", "--list", "batch.txt", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert outputs == one_process[1]
    assert said(proc, "jobs2") == said(one_process[0], "jobs1")


def test_a_damaged_bam_with_two_jobs_is_one_line_naming_it(client_dir: Path):
    one, _ = scan(client_dir, "bad1", "--list", "bad.txt", "--jobs", "1")
    two, outputs = scan(client_dir, "bad2", "--list", "bad.txt", "--jobs", "2")
    assert two.returncode == one.returncode == 2
    lines = two.stderr.splitlines()
    assert len(lines) == 1, two.stderr
    assert "bams/damaged.bam:" in lines[0] and "bams/N0" not in lines[0]
    assert two.stderr == one.stderr
    assert not any(n.endswith(".vcf.gz") for n in outputs)


# --- on a Dask cluster of separate processes (test_cluster_processes' machinery) ---

distributed = pytest.importorskip("distributed")
import test_cluster_processes as clusters  # noqa: E402

Processes = clusters.Processes
cluster = clusters.cluster  # the fixture: a scheduler and two workers in their own folders


def test_a_dask_cluster_gives_the_bytes_of_one_process(cluster, client_dir: Path, one_process):
    proc, outputs = scan(client_dir, "dask", "--list", "batch.txt", "--scheduler",
                         cluster.address)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert outputs == one_process[1]
    assert said(proc, "dask") == said(one_process[0], "jobs1")
    ran = cluster.client.run(lambda dask_worker: len(dask_worker.data), nanny=False)
    assert len(ran) == 2  # both workers were there to take files


def test_a_damaged_bam_on_the_cluster_is_one_line_naming_it_as_given(cluster, client_dir: Path):
    one, _ = scan(client_dir, "bad-local", "--list", "bad.txt", "--jobs", "1")
    proc, outputs = scan(client_dir, "bad-dask", "--list", "bad.txt", "--scheduler",
                         cluster.address)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == one.stderr and len(proc.stderr.splitlines()) == 1
    assert not any(n.endswith(".vcf.gz") for n in outputs)


def test_a_scheduler_without_workers_is_one_line(tmp_path_factory, client_dir: Path):
    lonely = Processes(tmp_path_factory.mktemp("lonely"))
    try:
        lonely.start_scheduler()
        env = {**_env(), "NLRP3ANNOT_NO_WORKERS_SECONDS": "2"}
        proc, outputs = scan(client_dir, "dask-none", "--list", "batch.txt", "--scheduler",
                             lonely.address, env=env)  # fmt: skip
    finally:
        lonely.close()
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no Dask worker left for 2 s" in lines[0] and "bams/" in lines[0]
    assert outputs == {}
