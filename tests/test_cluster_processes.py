"""A Dask cluster of separate processes, as on a real cluster: a ``dask scheduler`` and
``dask worker`` processes started from the command line, each worker in a working folder of
its own, and ``nlrp3annot annotate --scheduler`` run from a third folder with relative
paths. Against it:

- a batch of VCFs (relative ``--list`` entries, ``--fasta`` and ``--gff``) gives the bytes
  of the same run without ``--scheduler``;
- a joint VCF large enough to be cut into sample shards is spread over both workers and
  gives the local run's bytes;
- a worker killed (SIGKILL) while it runs a shard, whether its nanny restarts it or the
  whole ``dask worker`` is gone and a new one is started, changes nothing: the shard is run
  again elsewhere;
- a file the workers cannot see, a cluster whose last worker is killed, a scheduler with no
  workers at all and a scheduler that goes away each end the run in one line on stderr with
  exit 2 (the no-worker wait shortened through NLRP3ANNOT_NO_WORKERS_SECONDS).

Every process is started in a process group of its own and killed with it, whatever the
test's outcome (and, should the test itself be killed, the scheduler leaves after 5 idle
minutes and the workers a minute after it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
from conftest import TEST_FASTA
from joint_vcf import bgzip_indexed, write_joint_vcf

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]  # the tree under test: every process imports it
FASTA = TEST_FASTA["GRCh38"]
DEMO_VCF = ROOT / "nlrp3annot" / "demo" / "vcf"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
}
JOINT_SAMPLES = 10_001  # three sample shards of a cluster's 5,000 at most


class Processes:
    """A scheduler and workers, each a ``python -m dask`` command in a process group of its
    own, with its log in the folder it runs in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.groups: dict[str, subprocess.Popen] = {}
        self.scheduler_file = root / "scheduler.json"
        self.address = ""
        self.client = None  # the test's own client, watching the cluster

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        cwd = self.root / name
        cwd.mkdir()
        with (cwd / "log.txt").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                cwd=cwd,
                env=ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.groups[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.root / name / "log.txt").read_text(errors="replace")[-3000:]

    def start_scheduler(self) -> str:
        proc = self._start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(self.scheduler_file),
            "--idle-timeout",
            "300",  # gone on its own should the test itself be killed
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, self.log("scheduler")
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                return self.address
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise AssertionError("the scheduler did not start:\n" + self.log("scheduler"))

    def start_worker(self, name: str) -> Path:
        """A ``dask worker`` (a nanny and its one worker process) in the folder ``name``."""
        self._start(
            name,
            "worker",
            "--scheduler-file",
            str(self.scheduler_file),
            "--host",
            "127.0.0.1",
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--memory-limit",
            "0",
            "--name",
            name,
            "--local-directory",
            str(self.root / name / "space"),
            "--death-timeout",
            "60",  # gone on its own a minute after its scheduler
        )
        return self.root / name

    def kill(self, name: str) -> None:
        proc = self.groups.pop(name)
        with contextlib.suppress(ProcessLookupError):  # the nanny and the worker it started
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        for name in list(self.groups):
            self.kill(name)


def wait_for(condition, what: str, seconds: float = 60, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"gave up waiting for {what}")


def workers_by_name(client) -> dict[str, dict]:
    """The scheduler's workers by the name each was started with ('w1', ...)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return {str(w["name"]): {**w, "address": address} for address, w in workers.items()}


def wait_for_workers(client, names: set[str], cluster: Processes) -> dict[str, dict]:
    def ready():
        for name in names:
            proc = cluster.groups[name]
            assert proc.poll() is None, f"worker {name} ended:\n{cluster.log(name)}"
        found = workers_by_name(client)
        return found if set(found) == names else None

    return wait_for(ready, f"workers {sorted(names)}", seconds=90, step=0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, 'w1' and 'w2', each in its own working folder, and a
    client of the test's own to watch them."""
    processes = Processes(tmp_path_factory.mktemp("cluster"))
    try:
        processes.start_scheduler()
        processes.start_worker("w1")
        processes.start_worker("w2")
        with distributed.Client(processes.address, timeout="30s", set_as_default=False) as c:
            wait_for_workers(c, {"w1", "w2"}, processes)
            processes.client = c
            yield processes
    finally:
        processes.close()


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """The submitting side's working folder: the inputs under relative names, the
    workers' folders elsewhere. Holds the demo's single-sample VCFs, two small joint VCFs,
    one joint VCF of 10,001 samples and the FASTA, and list files naming them relatively."""
    here = tmp_path_factory.mktemp("client")
    (here / "vcf").mkdir()
    (here / "ref").mkdir()
    for path in sorted(DEMO_VCF.glob("*.vcf.gz*")):
        shutil.copy(path, here / "vcf" / path.name)
    for i, samples in enumerate((3, 40)):
        write_joint_vcf(here / "vcf" / f"joint{i}.vcf", samples, 30, seed=200 + i)
    # a file rewritten after indexing: its warning names it too (large enough, > 256 KiB,
    # to be read through an index, so that the index is checked at all)
    scratch = tmp_path_factory.mktemp("scratch")
    stale = bgzip_indexed(write_joint_vcf(scratch / "stale.vcf", 2, 5, seed=1))
    shutil.copy(stale.with_name(stale.name + ".tbi"), here / "vcf" / "stale.vcf.gz.tbi")
    later = write_joint_vcf(scratch / "later.vcf", 2, 30, seed=2, off_locus=120_000)
    pysam.tabix_compress(str(later), str(here / "vcf" / "stale.vcf.gz"))
    assert (here / "vcf" / "stale.vcf.gz").stat().st_size > 256 * 1024
    bgzip_indexed(write_joint_vcf(here / "vcf" / "big.vcf", JOINT_SAMPLES, 12, seed=5, off_locus=2))
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(str(FASTA) + suffix, here / "ref" / ("ref.fa.gz" + suffix))
    names = sorted(p.name for p in (here / "vcf").iterdir())
    batch = [n for n in names if n.endswith((".vcf", ".vcf.gz")) and not n.startswith("big.")]
    (here / "batch.txt").write_text("".join(f"vcf/{name}\n" for name in batch))
    assert len(batch) > 15
    return here


def annotate(where: Path, out: str, *args: str, calls: str = "calls.tsv", env: dict | None = None):
    """``nlrp3annot annotate ... -o OUT/calls.tsv --patients OUT/patients.tsv`` run in
    ``where`` (with ``env``, else the workers' environment); (process, its outputs by name)."""
    (where / out).mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", *args, "--fasta", "ref/ref.fa.gz",
         "-o", f"{out}/{calls}", "--patients", f"{out}/patients.tsv"],
        cwd=where, env=env or ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    outputs = {p.name: p.read_bytes() for p in sorted((where / out).iterdir())}
    return proc, outputs


def start_annotate(where: Path, out: str, *args: str) -> subprocess.Popen:
    (where / out).mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "nlrp3annot", "annotate", *args, "--fasta", "ref/ref.fa.gz",
         "-o", f"{out}/calls.tsv", "--patients", f"{out}/patients.tsv"],
        cwd=where, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"the run did not end within {timeout} s") from None
    return proc.returncode, err


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def local_joint(client_dir: Path) -> dict[str, bytes]:
    proc, outputs = annotate(client_dir, "local-joint", "vcf/big.vcf.gz", "-q")
    assert proc.returncode == 0, proc.stderr
    assert outputs["patients.tsv"].count(b"\n") == JOINT_SAMPLES + 1
    return outputs


def running_task(client) -> tuple[str, str]:
    """(worker address, key) of a run_task the scheduler has given a worker, once one has."""

    def first():
        for worker, keys in client.processing().items():
            for key in keys:
                if str(key).startswith("run_task"):
                    return worker, str(key)
        return None

    return wait_for(first, "a task to start", seconds=120, step=0.02)


def test_batch_with_relative_paths_gives_the_local_bytes(cluster, client_dir: Path):
    """Relative --list entries and --fasta, from a folder that is neither worker's: the
    workers read the files by absolute path and the outputs name them as given."""
    assert {cluster.root / "w1", cluster.root / "w2"}.isdisjoint({client_dir})
    local, local_out = annotate(client_dir, "local-batch", "--list", "batch.txt")
    assert local.returncode == 0, local.stderr
    remote, remote_out = annotate(
        client_dir, "dask-batch", "--list", "batch.txt", "--scheduler", cluster.address
    )
    assert remote.returncode == 0, remote.stderr
    assert remote_out == local_out
    # the per-file report too: skipped alleles and warnings name each file as given
    assert remote.stderr.replace("dask-batch/", "local-batch/") == local.stderr
    assert "vcf/stale.vcf.gz: index stale.vcf.gz.tbi does not match" in local.stderr
    assert "skipped" in local.stderr and str(client_dir) not in local.stderr
    assert set(local_out) == {"calls.tsv", "calls.skipped.tsv", "patients.tsv"}
    assert b"\nvcf/P01-blood.vcf.gz\t" in local_out["patients.tsv"]  # named as given
    assert local_out["patients.tsv"].count(b"\n") > 60


def test_relative_gff_and_the_json_summary(cluster, client_dir: Path):
    """A relative --gff reaches the workers (sent as an absolute path, like --fasta), and
    the JSON output, whose summary names the FASTA and each file's warnings, is the local
    run's."""
    from test_transcript_choice import write_refseq_gff3

    write_refseq_gff3(client_dir / "ref" / "refseq.gff3")
    args = ("vcf/joint1.vcf", "vcf/P02-blood.vcf.gz", "vcf/stale.vcf.gz", "--gff",
            "ref/refseq.gff3", "-q")  # fmt: skip
    local, local_out = annotate(client_dir, "local-gff", *args, calls="calls.json")
    assert local.returncode == 0, local.stderr
    remote, remote_out = annotate(
        client_dir, "dask-gff", *args, "--scheduler", cluster.address, calls="calls.json"
    )
    assert remote.returncode == 0, remote.stderr
    assert remote_out == local_out
    summary = json.loads(local_out["calls.json"])["summary"]["per_file"]
    assert [f["sequence"] for f in summary] == ["ref/ref.fa.gz"] * 3
    assert summary[2]["warnings"][0].startswith("vcf/stale.vcf.gz: index")
    assert b"NM_004895.4" in local_out["calls.json"]


C907 = 247424356  # GRCh38 position of c.907 on the test locus


def own_clinvar_table(path: Path) -> Path:
    """A one-row ClinVar table in the bundled table's format, naming c.907G>A's canonical
    SPDI (NC_000001.11:247424355:G:A) as VariationID 999999, which no real table holds."""
    from nlrp3annot.knowledge.clinvar import COLUMNS

    row = ["999999", "c.907G>A", "", "247424355", "G", "A", "", "", "Uncertain significance",
           "no assertion criteria provided", "TEST", "", ""]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# built: 2099-01-01\n" + "\t".join(COLUMNS) + "\n" + "\t".join(row) + "\n")
    return path


def test_workers_with_another_clinvar_table_end_the_run_in_one_line(cluster, client_dir: Path):
    """Every row of a run comes from one ClinVar table. A `knowledge update` in the client's
    cache that the workers (another cache) do not have: the local run names c.907G>A as
    the update's record; on the cluster the run stops in one line saying whose table is
    which, with no output, instead of rows from the workers' table (ClinVar 4377)."""
    from vcf_writer import write

    (client_dir / "own").mkdir()
    write(client_dir / "own" / "sites.vcf", [], [{"pos": C907, "ref": "G", "alts": ("A",)}])
    cache = client_dir / "own" / "cache"
    update = own_clinvar_table(cache / "knowledge" / "clinvar_NLRP3_2099-01-01.tsv")
    env = {**ENV, "NLRP3ANNOT_CACHE": str(cache)}
    assert ENV.get("NLRP3ANNOT_CACHE") != str(cache)  # (the workers' environment)
    local, local_out = annotate(client_dir, "own-local", "own/sites.vcf", "-q", env=env)
    assert local.returncode == 0, local.stderr
    assert b"\t999999\t" in local_out["calls.tsv"]
    remote, remote_out = annotate(
        client_dir, "own-dask", "own/sites.vcf", "-q", "--scheduler", cluster.address, env=env
    )
    assert remote.returncode == 2, remote.stderr
    lines = remote.stderr.splitlines()
    assert len(lines) == 1, remote.stderr
    assert "a Dask worker's ClinVar table" in lines[0] and f"not this run's ({update}" in lines[0]
    assert remote_out == {}


def test_a_library_run_on_the_cluster_refuses_tables_the_workers_lack(cluster, tmp_path: Path):
    """annotate_files(knowledge=..., scheduler=...): the workers cannot use the caller's own
    tables, so the run says so instead of reading theirs."""
    from vcf_writer import write

    from nlrp3annot.errors import Nlrp3AnnotError
    from nlrp3annot.knowledge.clinvar import load_clinvar, load_phenotypes
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.runner.batch import annotate_files

    own = Knowledge(load_clinvar(own_clinvar_table(tmp_path / "own.tsv")), load_phenotypes(), "own")
    vcf = write(tmp_path / "sites.vcf", [], [{"pos": C907, "ref": "G", "alts": ("A",)}])
    with pytest.raises(Nlrp3AnnotError, match=r"is not this run's \(own\)"):
        annotate_files([vcf], FASTA, knowledge=own, scheduler=cluster.address)
    same = Knowledge.load()  # the table the workers load too: the run goes ahead
    given = annotate_files([vcf], FASTA, knowledge=same, scheduler=cluster.address)
    assert {r["clinvar_id"] for r in given.table} == {"4377"}  # c.907G>A, p.Asp303Asn


def test_joint_vcf_shards_run_on_both_workers(cluster, client_dir: Path, local_joint):
    """10,001 samples: three sample shards; both workers run some, and the merged outputs
    are the local run's bytes."""
    with distributed.get_task_stream(client=cluster.client) as stream:
        remote, remote_out = annotate(
            client_dir, "dask-joint", "vcf/big.vcf.gz", "-q", "--scheduler", cluster.address
        )
    assert remote.returncode == 0, remote.stderr
    assert remote_out == local_joint
    ran = [t for t in stream.data if str(t["key"]).startswith("run_task")]
    assert len(ran) == 3
    assert len({t["worker"] for t in ran}) == 2


def test_worker_process_killed_mid_shard_is_restarted_and_the_shard_rerun(
    cluster, client_dir: Path, local_joint
):
    """SIGKILL of the worker process running a shard (what the kernel's OOM killer does):
    its nanny starts a new one, the shard runs again, the outputs do not change."""
    watch = cluster.client
    with distributed.get_task_stream(client=watch) as stream:
        run = start_annotate(
            client_dir, "dask-killed", "vcf/big.vcf.gz", "-q", "--scheduler", cluster.address
        )
        try:
            worker, key = running_task(watch)
            victim = watch.run(os.getpid, workers=[worker])[worker]
            os.kill(victim, signal.SIGKILL)
        finally:
            code, err = finish(run)
    assert code == 0, err
    assert outputs_of(client_dir / "dask-killed") == local_joint
    rerun = [t for t in stream.data if str(t["key"]) == key]
    assert rerun and all(t["worker"] != worker for t in rerun)  # finished elsewhere
    restarted = wait_for_workers(watch, {"w1", "w2"}, cluster)
    assert worker not in {w["address"] for w in restarted.values()}  # a new process
    assert victim not in watch.run(os.getpid).values()


def test_worker_gone_mid_shard_and_a_new_one_started(cluster, client_dir: Path, local_joint):
    """The whole ``dask worker`` (nanny and all) killed while it runs a shard, and a new
    worker started in yet another folder during the run: the run ends with the local
    run's bytes."""
    watch = cluster.client
    with distributed.get_task_stream(client=watch) as stream:
        run = start_annotate(
            client_dir, "dask-replaced", "vcf/big.vcf.gz", "-q", "--scheduler", cluster.address
        )
        try:
            worker, key = running_task(watch)
            name = str(watch.scheduler_info(n_workers=-1)["workers"][worker]["name"])
            cluster.kill(name)
            cluster.start_worker(f"{name}-new")
        finally:
            code, err = finish(run)
    assert code == 0, err
    assert outputs_of(client_dir / "dask-replaced") == local_joint
    rerun = [t for t in stream.data if str(t["key"]) == key]
    assert rerun and all(t["worker"] != worker for t in rerun)
    survivor = ({"w1", "w2"} - {name}).pop()
    wait_for_workers(watch, {survivor, f"{name}-new"}, cluster)


def test_a_file_the_workers_cannot_see_is_one_line(cluster, client_dir: Path):
    """/proc/self/cwd/... is the client's folder to the client and each worker's own folder
    to that worker: the file exists for the client (which plans the run) but not where the
    worker looks."""
    path = "/proc/self/cwd/vcf/P03-blood.vcf.gz"
    local, local_out = annotate(client_dir, "local-proc", path, "-q")
    assert local.returncode == 0, local.stderr  # the client's /proc/self/cwd has it
    assert b"P03-blood" in local_out["patients.tsv"]
    remote, _ = annotate(client_dir, "dask-proc", path, "--scheduler", cluster.address)
    assert remote.returncode == 2
    lines = remote.stderr.splitlines()
    assert len(lines) == 1, remote.stderr
    assert "no such file" in lines[0] and "as a Dask worker sees it" in lines[0]
    assert "P03-blood.vcf.gz" in lines[0]


# --- a second scheduler, for runs that lose their workers or their scheduler ------------


@pytest.fixture(scope="module")
def lonely(tmp_path_factory):
    processes = Processes(tmp_path_factory.mktemp("lonely"))
    try:
        processes.start_scheduler()
        yield processes
    finally:
        processes.close()


def test_a_scheduler_without_workers_ends_in_one_line(lonely, client_dir: Path, monkeypatch):
    monkeypatch.setitem(ENV, "NLRP3ANNOT_NO_WORKERS_SECONDS", "2")
    start = time.monotonic()
    proc, outputs = annotate(
        client_dir, "dask-none", "--list", "batch.txt", "--scheduler", lonely.address
    )
    assert time.monotonic() - start < 45
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no Dask worker left for 2 s" in lines[0]
    assert outputs == {}


def test_the_last_worker_killed_mid_run_ends_in_one_line(lonely, client_dir: Path, monkeypatch):
    monkeypatch.setitem(ENV, "NLRP3ANNOT_NO_WORKERS_SECONDS", "2")
    lonely.start_worker("only")
    with distributed.Client(lonely.address, timeout="30s", set_as_default=False) as watch:
        wait_for_workers(watch, {"only"}, lonely)
        start = time.monotonic()
        run = start_annotate(
            client_dir, "dask-orphan", "vcf/big.vcf.gz", "--scheduler", lonely.address
        )
        try:
            running_task(watch)
            lonely.kill("only")
        finally:
            code, err = finish(run)
    assert time.monotonic() - start < 60
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "no Dask worker left for 2 s" in lines[0] and "big.vcf.gz" in lines[0]
    assert outputs_of(client_dir / "dask-orphan") == {}


def test_the_scheduler_killed_mid_run_ends_in_one_line(lonely, client_dir: Path):
    """The scheduler goes away while the run waits on it (for workers that never come)."""
    run = start_annotate(client_dir, "dask-lost", "--list", "batch.txt", "--scheduler",
                         lonely.address)  # fmt: skip
    try:
        with distributed.Client(lonely.address, timeout="30s", set_as_default=False) as watch:
            wait_for(
                lambda: any(str(k).startswith("run_task") for k in watch.who_has()),
                "the run's tasks to reach the scheduler",
                step=0.2,
            )
        lonely.kill("scheduler")
    finally:
        code, err = finish(run, timeout=90)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "lost the Dask scheduler" in lines[0]


def test_a_bad_no_worker_wait_is_one_line(monkeypatch, capsys):
    from nlrp3annot.cli import main

    monkeypatch.setenv("NLRP3ANNOT_NO_WORKERS_SECONDS", "soon")
    vcf = str(DEMO_VCF / "P01-blood.vcf.gz")
    code = main(["annotate", vcf, "--fasta", str(FASTA), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1
    assert "NLRP3ANNOT_NO_WORKERS_SECONDS=soon: give a number of seconds" in err[0]
