#!/usr/bin/env python3
"""The scan of many BAMs on more cores and on a cluster (issue 28): 200 small BAMs
(scripts/simulate_reads.py, 150 bp reads over the NLRP3 coding exons of the TEST locus, a
few mosaics among them) scanned with ``--jobs 1``, ``--jobs 2`` and on a local Dask cluster
of a ``dask scheduler`` and two ``dask worker`` processes (one thread each), beside
``samtools mpileup`` of the same files over the same targets. Prints each run's seconds
and peak memory (the command's own, by /usr/bin/time; for the Dask run also each worker's
VmHWM), the ratios to ``--jobs 1`` and to samtools, and checks that every scan's outputs
are byte for byte those of ``--jobs 1``. ``scripts/benchmark.py --only R4`` times the same
three scans as rows of its table (medians over --repeats, ours and the anchor taking
turns; without the workers' own peaks).

    python scripts/benchmark_scan_jobs.py --workdir /tmp/scanjobs [--files 200] [--depth 200]

The BAMs are built once into --workdir and reused (about a minute for 200).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from simulate_reads import C907, Allele, simulate  # noqa: E402

FASTA = ROOT / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
_PATH = [str(ROOT), os.environ.get("PYTHONPATH")]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, _PATH))}


def targets() -> list[tuple[int, int]]:
    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.patients.coverage import coding_targets

    t = mane_transcript("GRCh38")
    return coding_targets(t.exons, t.cds_start, t.cds_end)


def build(workdir: Path, files: int, depth: int) -> Path:
    """``files`` BAMs under workdir/bams (every 25th a 10% mosaic), listed in list.txt."""
    bams = workdir / "bams"
    listing = workdir / f"list{files}x{depth}.txt"
    if listing.exists():
        return listing
    bams.mkdir(parents=True, exist_ok=True)
    regions = targets()
    names = []
    for i in range(files):
        path = bams / f"S{i:03d}_{depth}.bam"
        alleles = (Allele(C907, "A", 0.10),) if i % 25 == 0 else ()
        if not path.exists():
            simulate(path, regions, depth, alleles, seed=i + 1, sample=f"S{i:03d}",
                     fasta_path=FASTA, read_length=150)  # fmt: skip
        names.append(str(path))
    (workdir / "targets.bed").write_text(
        "".join(f"chr1\t{a - 1}\t{b}\n" for a, b in regions)
    )  # the scan's targets, for samtools
    listing.write_text("".join(f"{n}\n" for n in names))
    return listing


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """(seconds, peak resident KiB) of ``command``, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, env=ENV,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{proc.stderr[-2000:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1])


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class LocalCluster:
    """A ``dask scheduler`` and two ``dask worker`` processes (no nanny: the worker's own
    peak memory can be read) on 127.0.0.1, each in a process group of its own."""

    def __init__(self, root: Path) -> None:
        self.root, self.procs = root, []
        root.mkdir(parents=True, exist_ok=True)
        info = root / "scheduler.json"
        info.unlink(missing_ok=True)
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(info), "--idle-timeout", "600")  # fmt: skip
        while not info.exists() or not info.read_text().strip():
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for n in (1, 2):
            self._start("worker", "--scheduler-file", str(info), "--host", "127.0.0.1",
                        "--nthreads", "1", "--no-nanny", "--no-dashboard", "--memory-limit",
                        "0", "--name", f"w{n}", "--local-directory",
                        str(root / f"w{n}"), "--death-timeout", "60")  # fmt: skip
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)

    def _start(self, *args: str) -> None:
        log = (self.root / f"log{len(self.procs)}.txt").open("wb")
        self.procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], env=ENV,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))  # fmt: skip

    def worker_peaks(self) -> list[int]:
        """Each worker's peak resident KiB (VmHWM)."""
        peaks = []
        for proc in self.procs[1:]:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peaks += [int(line.split()[1]) for line in status.splitlines()
                      if line.startswith("VmHWM")]  # fmt: skip
        return peaks

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def scan_commands(work: Path, files: int, depth: int, ours: list[str]) -> dict[str, list[str]]:
    """The scans of the batch (``ours``: how nlrp3annot is started) with --jobs 1, --jobs 2
    and (given the scheduler's address later) on Dask, each into its own folder under
    ``work``, and samtools mpileup over the same BAMs and targets."""
    listing = build(work, files, depth)
    scan = [*ours, "scan", "--list", str(listing), "--fasta", str(FASTA), "-q"]
    bams = listing.read_text().split()
    return {
        "1": [*scan, "--jobs", "1", "-o", str(work / "out_1")],
        "2": [*scan, "--jobs", "2", "-o", str(work / "out_2")],
        "dask": [*scan, "-o", str(work / "out_dask"), "--scheduler"],  # + the address
        "samtools": ["samtools", "mpileup", "-f", str(FASTA), "-l", str(work / "targets.bed"),
                     "-o", str(work / "mpileup.txt"), *bams],
    }  # fmt: skip


def r4_workloads(work: Path, ours: list[str], quick: bool = False):
    """R4 for scripts/benchmark.py (--only R4): the same three scans of 200 BAMs at 200x
    (--quick: 10 at 50x) beside samtools and --jobs 1, timed and tabled as its other rows
    (medians, ours and anchor taking turns); the cluster runs while its row is measured,
    and every scan's outputs must be those of --jobs 1 (else the run fails)."""
    from benchmark_timing import CommandFailed, Workload

    missing = [] if shutil.which("samtools") else ["samtools"]
    try:
        import distributed  # noqa: F401  (the cluster row)
    except ImportError:
        missing.append("Dask distributed")
    if missing:
        print(f"  R4 skipped: needs {', '.join(missing)}", file=sys.stderr)
        return
    files, depth = (10, 50) if quick else (200, 200)
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    cmd = scan_commands(work, files, depth, ours)
    shape = f"R4 scan {files} BAMs ({depth}x, 150 bp)"
    yield Workload(f"{shape}, --jobs 1", cmd["1"], [("samtools mpileup", cmd["samtools"], [])])
    yield Workload(f"{shape}, --jobs 2", cmd["2"], [("scan --jobs 1", cmd["1"], [("ratio", 0.6)])])
    cluster = LocalCluster(work / "dask")
    try:
        yield Workload(
            f"{shape}, Dask: scheduler + 2 workers",
            [*cmd["dask"], cluster.address],
            [("scan --jobs 1", cmd["1"], [("ratio", 0.6)])],
        )
    finally:
        cluster.close()
    first = outputs(work / "out_1")
    for name in ("2", "dask"):
        if outputs(work / f"out_{name}") != first:
            raise CommandFailed(f"R4: the scan's outputs ({name}) differ from --jobs 1's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--depth", type=int, default=200)
    args = parser.parse_args()
    work = args.workdir.resolve()
    cmd = scan_commands(work, args.files, args.depth, [sys.executable, "-m", "nlrp3annot"])
    rows = []
    first: dict[str, bytes] = {}
    for name in ("1", "2"):
        shutil.rmtree(work / f"out_{name}", ignore_errors=True)
        seconds, peak = timed(cmd[name], work)
        rows.append((f"scan --jobs {name}", seconds, f"{peak / 1024:.0f} MiB"))
        first = first or outputs(work / f"out_{name}")
        assert outputs(work / f"out_{name}") == first, f"--jobs {name}: outputs differ"
    cluster = LocalCluster(work / "dask")
    try:
        shutil.rmtree(work / "out_dask", ignore_errors=True)
        seconds, peak = timed([*cmd["dask"], cluster.address], work)
        workers = ", ".join(f"{p / 1024:.0f}" for p in cluster.worker_peaks())
        rows.append(("scan Dask (2 workers)", seconds,
                     f"{peak / 1024:.0f} MiB client; workers {workers} MiB"))  # fmt: skip
        assert outputs(work / "out_dask") == first, "Dask: outputs differ from --jobs 1"
    finally:
        cluster.close()
    seconds, peak = timed(cmd["samtools"], work)
    rows.append(("samtools mpileup", seconds, f"{peak / 1024:.0f} MiB"))
    one, sam = rows[0][1], rows[-1][1]
    print(f"{args.files} BAMs, {args.depth}x 150 bp reads over the coding exons; "
          f"{os.cpu_count()} cores; outputs byte-identical to --jobs 1: yes")  # fmt: skip
    print(f"{'run':24} {'seconds':>8} {'/ jobs 1':>9} {'/ samtools':>11}  peak memory")
    for label, seconds, memory in rows:
        print(f"{label:24} {seconds:8.2f} {seconds / one:8.2f}x {seconds / sam:10.2f}x  {memory}")


if __name__ == "__main__":
    main()
