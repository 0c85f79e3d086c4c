#!/usr/bin/env python3
"""Benchmark `nlrp3annot annotate` against bcftools csq / SnpEff on the same inputs.

    python scripts/benchmark.py [--quick] [--repeats 5] [--only W1,W4] [--samples 1000,20000]
                                [--workdir DIR] [--markdown FILE] [--snpeff] [--anchors-only]
                                [--ours 'python -m nlrp3annot']

Workloads (inputs generated here, seeded, GATK-like; see scripts/benchmark_inputs.py):
  W1  one unindexed 1,000,000-record VCF.gz, ~300 records in the NLRP3 window
      vs `bcftools view -t WINDOW | bcftools csq`                          goal ratio <= 1.5
  W3  1,000 single-sample indexed VCF.gz (40 locus records each, 200-400 elsewhere on the
      panel) in one run vs a shell loop of `bcftools csq -r WINDOW`        goal ratio <= 0.5
  W3L as W3, the files holding only the 40 locus records (after `bcftools view -R`)
                                                                          goal ratio <= 0.5
  W4  one joint VCF.gz, N samples x 500 locus records
      vs `bcftools csq -p a | bcftools query -i 'GT="alt"'`   goal ratio <= 2 at 20,000, < 300 MB
  W5  sites-only: every SNV of every CDS base + 2,000 indels
      vs bcftools csq --local-csq and SnpEff 5.1d      goal ratio <= 5 of csq, <= 0.2 of SnpEff
      (W5 floor: the interpreter, pysam and the FASTA alone, beside csq on W5; and W5x10:
      10x the variants, all distinct, vs csq, then the cost of one variant on each side,
      (W5x10 - W5) / the variants added, start-up left out)
  S   start-up: annotate a 1-record VCF (vs csq), and `nlrp3annot --help`  goal < 0.3 s / 0.15 s
  R1  `nlrp3annot scan` of a 30x CRAM (reads over the locus and 2 Mb each side; only the
      locus is read, through the index) vs `bcftools mpileup -R targets -a AD,ADF,ADR`
                                                                goal < 10 s, < 300 MB
  R2  `nlrp3annot scan` of a 5,000x amplicon BAM of the coding exons, same anchor
                                                                goal < 60 s, < 300 MB
  R3  `nlrp3annot scan` of a batch of 20 ART samples (150 bp pairs, ~2,800x capture;
      scripts/scan_batches.py) vs `bcftools mpileup` of the same 20 BAMs
                                                                goal ratio <= 1.5, < 300 MB
      (sensitivity and false calls beside freebayes: scripts/benchmark_scan.py)
  R4  `nlrp3annot scan` of 200 small BAMs (200x, 150 bp) with --jobs 1 (vs samtools
      mpileup), --jobs 2 and on a local Dask cluster of 2 workers (vs --jobs 1), outputs
      byte-identical to --jobs 1's (scripts/benchmark_scan_jobs.py)   goal ratio <= 0.6

Each command is timed whole, process start to exit, as a lab's shell loop sees it. The
machine is shared and noisy, so every figure is a median over --repeats and each ours/anchor
pair runs in the same iteration (noise is shared); ratio = median ours / median anchor.
Spawning costs both sides the same few ms (here ~4 ms for Popen, ~4 ms more for GNU time),
which only matters next to the few-ms csq runs of S and the --quick sizes.
Peak memory is each command's maxrss as GNU time reports it (os.wait4 on our own child
overstates it, see run()); for a pipeline (run by `bash -o pipefail -c`) and for worker
processes it is the largest single process of the tree (Linux keeps the max over
waited-for children, not the sum). A failing command stops the run with a non-zero exit,
so the benchmark doubles as a smoke test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import benchmark_inputs as bi
import benchmark_timing as timing
from benchmark_timing import (
    Cmd,
    CommandFailed,
    Goal,
    Medians,
    Workload,
    gnu_time,
    measure,
    output,
    per_variant_rows,
    shell,
)

SNPEFF_GENOME = "nlrp3locus"  # the genome name tests/differential_tools builds
WORKLOADS = ("W1", "W3", "W3L", "W4", "W5", "S", "R1", "R2", "R3", "R4")


def interpreter_of(ours: Cmd) -> str:
    """The Python that runs our command: a console script's shebang, ``python`` of
    ``python -m nlrp3annot``, else this script's."""
    if len(ours) >= 3 and ours[1:3] == ["-m", "nlrp3annot"]:
        return ours[0]
    try:
        with open(ours[0], "rb") as script:
            first = script.readline().decode(errors="replace")
    except OSError:
        return sys.executable
    return (
        first[2:].strip().split()[0]
        if first.startswith("#!") and first[2:].strip()
        else sys.executable
    )


def ours_command() -> Cmd:
    """The console script pip installed for this Python (what a lab runs), else one on
    PATH, else ``python -m``. The interpreter's own scripts folder comes first because a
    version-manager shim on PATH (pyenv) adds ~50 ms of bash to every start."""
    own = Path(sysconfig.get_path("scripts")) / "nlrp3annot"
    if own.is_file() and os.access(own, os.X_OK):
        return [str(own)]
    found = shutil.which("nlrp3annot")
    return [found] if found else [sys.executable, "-m", "nlrp3annot"]


def snpeff_jar() -> str | None:
    """The Debian libsnpeff-java jar, if SnpEff and java are installed."""
    if shutil.which("java") is None or shutil.which("dpkg") is None:
        return None
    for line in output(["dpkg", "-L", "libsnpeff-java"]).splitlines():
        if line.endswith("/snpeff.jar") and Path(line).is_file():
            return line
    return None


def machine_line(ours: Cmd, jar: str | None) -> str:
    """CPU, cores, versions and date: a figure means nothing without them."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    bcftools = " ".join(output(["bcftools", "--version"]).splitlines()[:2]) or "bcftools n/a"
    snpeff = "SnpEff n/a"
    if jar:
        snpeff = " ".join(output(["java", "-jar", jar, "-version"]).split()[:2]) or snpeff
    ours_version = output([*ours, "--version"]) or "nlrp3annot ?"
    return (
        f"Machine: {cpu}, {cores} cores | Python {platform.python_version()} | {bcftools} | "
        f"{snpeff} | {ours_version} ({shlex.join(ours)}) | "
        f"{datetime.datetime.now().isoformat(timespec='minutes')}"
    )


class Inputs:
    """Generated inputs under ``root``, one folder per (workload, parameters); a folder is
    reused when its params.json matches, because the 1M-record and 20,000-sample files
    take a while to write."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.model = bi.load_model()
        folder = self.get("gff3", {}, lambda d: bi.write_gff3(self.model, d / "mane.gff3"))
        self.gff3 = folder / "mane.gff3"

    def get(self, name: str, params: dict, build: Callable[[Path], object]) -> Path:
        tag = "_".join(f"{k}{v}" for k, v in params.items())
        folder = self.root / (f"{name}_{tag}" if tag else name)
        stamp = folder / "params.json"
        want = json.dumps(
            {**params, "generator": bi.GENERATOR_VERSION, "model": self.model.exons},
            sort_keys=True,
        )
        if stamp.is_file() and stamp.read_text() == want:
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"  generating {folder.name} ...", file=sys.stderr, flush=True)
        build(folder)
        stamp.write_text(want)
        return folder


def workloads(args: argparse.Namespace, inp: Inputs, ours: Cmd, jar: str | None):
    """The workloads selected by --only, their inputs generated on first use."""
    m, q, split = inp.model, shlex.quote, shlex.split
    lo, hi = m.window
    region = f"{m.chrom}:{lo}-{hi}"
    out = inp.root / "out"
    out.mkdir(exist_ok=True)
    fasta, gff = q(str(bi.FASTA)), q(str(inp.gff3))
    csq = f"bcftools csq -f {fasta} -g {gff}"
    ann = f"{shlex.join(ours)} annotate"
    want = set(args.only.split(",")) if args.only else set(WORKLOADS)

    def o(name: str) -> str:
        return q(str(out / name))

    if "W1" in want:
        n = 20_000 if args.quick else 1_000_000
        w1 = inp.get(
            "w1", {"n": n, "seed": 1}, lambda d: bi.write_w1(d / "in.vcf.gz", m, n, 300, 1)
        )
        vcf = q(str(w1 / "in.vcf.gz"))
        anchor = f"bcftools view -t {region} {vcf} -Ou | {csq} -p a -Ov -o {o('w1.csq.vcf')}"
        yield Workload(
            f"W1 unindexed VCF.gz, {n:,} records, 300 in locus",
            split(f"{ann} {vcf} --fasta {fasta} -o {o('w1.tsv')} -q"),
            [("view -t + csq", shell(anchor), [("ratio", 1.5)])],
        )
    for wid, locus_only in (("W3", False), ("W3L", True)):
        if wid not in want:
            continue
        n = 20 if args.quick else 1_000
        key = {"files": n, "seed": 3, "pool": 600}
        w3 = inp.get(
            wid.lower(),
            {**key, "locus_only": 1} if locus_only else key,
            lambda d, n=n, lo=locus_only: bi.write_w3(d, m, n, 40, 3, locus_only=lo),
        )
        jobs = " --jobs 2" if "--jobs" in output([*split(ann), "--help"]) else ""
        loop = (
            f'cd {q(str(w3))} && while read -r f; do {csq} -p a -r {region} "$f" -Ov '
            "-o /dev/null || exit 1; done < list.txt"
        )
        shape = "locus records only" if locus_only else "indexed single-sample VCF.gz"
        yield Workload(
            f"{wid} {n:,} {shape}, --list{jobs}",
            split(
                f"{ann} --list {q(str(w3 / 'list.txt'))} --fasta {fasta} "
                f"-o {o(wid.lower() + '.tsv')} --patients {o(wid.lower() + '.patients.tsv')} "
                f"-q{jobs}"
            ),
            [("csq -r loop", shell(loop), [("ratio", 0.5)])],
        )
    if "W4" in want:
        records = 60 if args.quick else 500
        query = "bcftools query -i 'GT=\"alt\"' -f '[%SAMPLE\\t%CHROM\\t%POS\\t%TBCSQ\\n]'"
        for n in args.samples:
            w4 = inp.get(
                "w4",
                {"samples": n, "records": records, "seed": 4},
                lambda d, n=n: bi.write_w4(d / "joint.vcf.gz", m, n, records, 4),
            )
            vcf = q(str(w4 / "joint.vcf.gz"))
            goals: list[Goal] = [("rss_mb", 300)] + ([("ratio", 2)] if n >= 20_000 else [])
            ours_cmd = f"{ann} {vcf} --fasta {fasta} -o {o('w4.tsv')} "
            ours_cmd += f"--patients {o('w4.patients.tsv')} -q"
            anchor = f"{csq} -p a {vcf} -Ou | {query} > {o('w4.query.txt')}"
            yield Workload(
                f"W4 joint VCF.gz, {n:,} samples x {records} records",
                None if args.anchors_only else split(ours_cmd),
                [("csq + query", shell(anchor), goals)],
                "" if n >= 20_000 else "ratio goal is at 20,000 samples",
            )
    if "W5" in want:
        bases, indels = (300, 100) if args.quick else (10**9, 2_000)
        sites = bi.w5_sites(m, bases, indels, 5)
        key = {"bases": min(bases, len(m.cds_positions())), "indels": indels, "seed": 5}
        w5 = inp.get(
            "w5",
            key,
            lambda d: bi.write_sites(d / "sites.vcf", sites, bi.GRCH38_LENGTHS["chr1"]),
        )
        vcf = q(str(w5 / "sites.vcf"))
        snpeff: Cmd = []  # an n/a row when SnpEff is missing or skipped
        if jar and (args.snpeff or not args.quick):
            snpeff = snpeff_command(inp, jar, sites, key, out)
        yield Workload(
            f"W5 sites-only, {len(sites):,} SNVs+indels",
            split(f"{ann} {vcf} --fasta {fasta} -o {o('w5.tsv')} -q"),
            [
                # issue 28: within 5x of bcftools csq, 5x ahead of SnpEff
                (
                    "csq --local-csq",
                    split(f"{csq} --local-csq {vcf} -Ov -o {o('w5.csq.vcf')}"),
                    [("ratio", 5.0)],
                ),
                ("SnpEff", snpeff, [("ratio", 0.2)]),
            ],
            key="W5",
            variants=len(sites),
        )
        # The floor under any run of a Python program that reads the FASTA through htslib:
        # the interpreter started, pysam imported, the FASTA opened, no record read. Beside
        # csq on W5's input, it says how much of the "<= 5x csq" goal it leaves.
        floor = f"import pysam; pysam.FastaFile({str(bi.FASTA)!r}).close()"
        yield Workload(
            "W5 floor: interpreter + import pysam + FASTA opened, no record",
            [interpreter_of(ours), "-c", floor],
            [("csq --local-csq", split(f"{csq} --local-csq {vcf} -Ov -o /dev/null"), [])],
            "what every run pays before its first record",
            key="W5floor",
        )
        # W5x10: ten times W5's counts, all distinct (every SNV of 10x as many bases from the
        # CDS start, introns included, and 10x the indels), so that start-up (~0.1 s of
        # Python, a few ms of csq) is a small share: the marginal cost of a variant is
        # (W5x10 - W5) / (9 x W5's count) on each side
        wide_key = {"bases": 10 * key["bases"], "indels": 10 * indels, "seed": 5}
        wide = inp.get(
            "w5x10",
            wide_key,
            lambda d: bi.write_sites(
                d / "sites.vcf",
                bi.w5_wide_sites(m, wide_key["bases"], wide_key["indels"], 5),
                bi.GRCH38_LENGTHS["chr1"],
            ),
        )
        wide_vcf = q(str(wide / "sites.vcf"))
        n_wide = sum(1 for line in (wide / "sites.vcf").open() if not line.startswith("#"))
        yield Workload(
            f"W5x10 sites-only, {n_wide:,} SNVs+indels",
            split(f"{ann} {wide_vcf} --fasta {fasta} -o {o('w5x10.tsv')} -q"),
            [
                (
                    "csq --local-csq",
                    split(f"{csq} --local-csq {wide_vcf} -Ov -o {o('w5x10.csq.vcf')}"),
                    [],
                )
            ],
            "the next row: the cost of a variant, start-up left out",
            key="W5x10",
            variants=n_wide,
            per_variant_from="W5",
        )
    for name, depth, flank, cram in (("R1", 30, 2_000_000, True), ("R2", 5000, 0, False)):
        if name not in want:
            continue
        if args.quick:
            depth, flank = min(depth, 100), min(flank, 50_000)
        params = {"depth": depth, "flank": flank, "cram": int(cram), "seed": 6}
        folder = inp.get(
            f"reads_{name}", params,
            lambda d, p=params: bi.write_reads(d, m, p["depth"], p["flank"], bool(p["cram"]), 6),
        )  # fmt: skip
        reads = q(str(folder / ("reads.cram" if cram else "reads.bam")))
        scan_out = o(f"{name}.scan")
        anchor = (
            f"bcftools mpileup -f {fasta} -R {q(str(folder / 'targets.bed'))} -d 100000 -q 20 "
            f"-Q 20 -a AD,ADF,ADR {reads} -Ou -o /dev/null"
        )
        kind = "CRAM, locus +/- 2 Mb" if cram else "BAM, coding exons"
        yield Workload(
            f"{name} scan {depth:,}x {kind}",
            split(f"{shlex.join(ours)} scan {reads} --fasta {fasta} -o {scan_out} -q"),
            [("mpileup -R", split(anchor), [("ours_s", 10 if cram else 60), ("rss_mb", 300)])],
        )
    if "R3" in want:
        yield from scan_batch_workload(args, inp, ours, o)
    if "R4" in want:
        import benchmark_scan_jobs

        yield from benchmark_scan_jobs.r4_workloads(inp.root / "r4", ours, args.quick)
    if "S" in want:
        folder = inp.get("one", {}, lambda d: bi.write_one_record(d / "one.vcf", m))
        one = q(str(folder / "one.vcf"))
        yield Workload(
            "S start-up: annotate 1-record VCF",
            split(f"{ann} {one} --fasta {fasta} -o {o('one.tsv')} -q"),
            [("csq -p a", split(f"{csq} -p a {one} -Ov -o {o('one.csq.vcf')}"), [("ours_s", 0.3)])],
        )
        yield Workload(
            "S start-up: nlrp3annot --help", [*ours, "--help"], [("", [], [("ours_s", 0.15)])]
        )


def scan_batch_workload(args, inp: Inputs, ours: Cmd, o) -> list[Workload]:
    """R3: a lab's batch of ART reads (scripts/scan_batches.py: 20 samples, 150 bp pairs,
    ~2,800x capture, mosaics and artefacts; --quick: 4 samples at 300x) scanned together,
    beside bcftools mpileup of the same BAMs. Sensitivity and false calls beside freebayes
    are scripts/benchmark_scan.py's."""
    if any(shutil.which(t) is None for t in ("art_illumina", "bwa", "samtools")):
        print("  R3 skipped: needs art_illumina, bwa and samtools", file=sys.stderr)
        return []
    import scan_batches as sb

    count, depth = (4, 300.0) if args.quick else (20, 2800.0)
    params = {"samples": count, "depth": int(depth), "seed": 1}

    def make(folder: Path) -> None:
        locus = sb.Locus(folder / "locus")
        sb.build(sb.batch("deep", 0.03, locus)[:count], "deep", folder, locus, depth)
        sb.write_targets(folder / "targets.bed")

    folder = inp.get("reads_R3", params, make)
    bams = sorted(str(p) for p in folder.glob("*.bam"))
    fasta = str(bi.FASTA)
    anchor = ["bcftools", "mpileup", "-f", fasta, "-R", str(folder / "targets.bed"), "-d",
              "100000", "-q", "20", "-Q", "20", "-a", "AD,ADF,ADR", "-Ou", "-o", "/dev/null",
              *bams]  # fmt: skip
    return [
        Workload(
            f"R3 scan {count} samples, {depth:,.0f}x pairs (ART)",
            [*ours, "scan", *bams, "--fasta", fasta, "-o", o("R3.scan").strip("'"), "-q"],
            [("mpileup -R", anchor, [("ratio", 1.5), ("rss_mb", 300)])],
        )
    ]


def snpeff_command(inp: Inputs, jar: str, sites: list, key: dict, out: Path) -> Cmd:
    """SnpEff sees a locus-only contig (tests/differential_tools builds the database), so
    it gets the same sites shifted; java is called directly with -Xmx1g (the Debian
    wrapper corrupts stdout when given -c)."""
    sys.path.insert(0, str(bi.ROOT / "tests"))
    import differential_tools as dt  # only needed when SnpEff runs

    locus = dt.load_locus(inp.model)
    db = inp.get("snpeff", {}, lambda d: dt.build_snpeff(locus, d))
    shifted = inp.get(
        "w5_snpeff",
        key,
        lambda d: bi.write_sites(d / "sites.vcf", sites, len(locus.bases), locus.shift),
    )
    ann = [
        "java",
        "-Xmx1g",
        "-jar",
        jar,
        "ann",
        "-c",
        str(db / "snpEff.config"),
        "-noLog",
        "-noStats",
        SNPEFF_GENOME,
        str(shifted / "sites.vcf"),
    ]
    return shell(
        f"cd {shlex.quote(str(db))} && {shlex.join(ann)} > "
        f"{shlex.quote(str(out / 'w5.snpeff.vcf'))}"
    )


def compile_package() -> None:
    """Byte-compile the package this Python imports (the installed one, or the checkout
    PYTHONPATH names), as `pip install` does: a checkout run with PYTHONDONTWRITEBYTECODE=1
    would otherwise compile every module on every run (~0.3 s of each timing)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("nlrp3annot")
    if spec is not None and spec.origin:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one repeat")
    parser.add_argument("--repeats", type=int, help="runs per command (default 5; 1 if --quick)")
    parser.add_argument("--only", help="comma-separated workload ids: " + ",".join(WORKLOADS))
    parser.add_argument("--samples", help="W4 sample counts (default 1000,20000; 50 if --quick)")
    parser.add_argument("--workdir", type=Path, help="keep generated inputs here and reuse them")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--snpeff", action="store_true", help="run SnpEff even with --quick")
    parser.add_argument(
        "--ours",
        help="our command line (default: the nlrp3annot console script), e.g. to "
        "time another checkout: --ours 'python -m nlrp3annot' with PYTHONPATH set",
    )
    parser.add_argument(
        "--anchors-only", action="store_true", help="W4: time the anchor only (ours too slow)"
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(WORKLOADS) if args.only else set()
    if unknown:
        parser.error(f"--only: unknown workload(s) {', '.join(sorted(unknown))}")
    args.repeats = args.repeats or (1 if args.quick else 5)
    default_samples = "50" if args.quick else "1000,20000"
    args.samples = [int(x) for x in (args.samples or default_samples).split(",")]
    if shutil.which("bcftools") is None:
        print("bcftools is not installed (apt-get install bcftools)", file=sys.stderr)
        return 2
    timing.GNU_TIME = gnu_time()
    ours, jar = shlex.split(args.ours) if args.ours else ours_command(), snpeff_jar()
    compile_package()  # with --ours too: PYTHONPATH, as its help says, finds the same copy
    with tempfile.TemporaryDirectory(prefix="nlrp3bench_") as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        lines = [
            machine_line(ours, jar),
            f"Medians of {args.repeats} run(s); ratio = nlrp3annot / anchor; "
            "peak = max RSS of the command's largest process ("
            + ("GNU time)." if timing.GNU_TIME else "os.wait4: floored at this script's RSS)."),
            "",
            "| workload | nlrp3annot s | anchor | anchor s | ratio | goal | "
            "peak MiB ours / anchor |",
            "|---|---|---|---|---|---|---|",
        ]
        print("\n".join(lines), flush=True)
        try:
            done: dict[str, Workload] = {}
            timed: dict[str, Medians] = {}
            for w in workloads(args, Inputs(root), ours, jar):
                rows, timed[w.key] = measure(w, args.repeats)
                done[w.key] = w
                if w.per_variant_from and w.per_variant_from in done:
                    rows += per_variant_rows(done[w.per_variant_from], w, timed)
                for row in rows:
                    print(row, flush=True)
                    lines.append(row)
        except CommandFailed as exc:
            print(f"\n{exc}", file=sys.stderr)
            return 1
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
