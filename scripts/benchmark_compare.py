"""How long `nlrp3annot compare` takes on a registry-size cohort (issue 26, point 7).

A CAPS registry (Eurofever, the NIH cohort) or a pooled analysis holds 1,000 patients or
more. This builds such a cohort from the demo's 18 patients: each registry patient copies
one demo patient's genotype row, samples-sheet row and visits, with every measured value
multiplied by random noise (a below-limit value stays below its limit, so the censored
paths are exercised at scale), then times the `compare` command (the full job: tables,
sensitivity analyses under every group rule, report) as a user runs it.

    python scripts/benchmark_compare.py --patients 1000 10000

prints, per size, the wall-clock seconds (median of --repeats runs) and the target the
issue sets (1,000 within 60 s, 10,000 within 10 minutes on the 2-core project machine).
Needs only the package (the demo inputs ship with it); writes under --workdir.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = {1000: 60, 10000: 600}
MEASURED = ["SAA (mg/L)", "CRP (mg/dL)", "Diary score", "ESR (mm/h)"]


def demo_inputs(workdir: Path) -> Path:
    """The demo's results folder (its patients.tsv and inputs), made once."""
    demo = workdir / "demo"
    if not (demo / "annotation" / "patients.tsv").is_file():
        subprocess.run([sys.executable, "-m", "nlrp3annot", "demo", "-o", str(demo)],
                       check=True, capture_output=True)  # fmt: skip
    return demo


def registry(demo: Path, patients: int, out: Path, seed: int = 2026) -> tuple[Path, ...]:
    """patients.tsv, response.xlsx-equivalent CSV and samples.csv for ``patients`` patients."""
    rng = np.random.default_rng(seed)
    genotypes = pd.read_csv(demo / "annotation" / "patients.tsv", sep="\t", dtype=str,
                            keep_default_na=False)  # fmt: skip
    samples = pd.read_csv(demo / "inputs" / "samples.csv", dtype=str, keep_default_na=False)
    response = pd.read_excel(demo / "inputs" / "response.xlsx", dtype=str)
    templates = sorted(samples["patient_id"])
    rows_g, rows_s, rows_r = [], [], []
    for i in range(patients):
        source = templates[i % len(templates)]
        pid = f"R{i + 1:05d}"
        sheet = samples[samples["patient_id"] == source].copy()
        old_samples = list(sheet["sample_id"])
        sheet["patient_id"] = pid
        sheet["sample_id"] = [s.replace(source, pid) for s in old_samples]
        rows_s.append(sheet)
        geno = genotypes[genotypes["sample"].isin(old_samples)].copy()
        geno["sample"] = [s.replace(source, pid) for s in geno["sample"]]
        rows_g.append(geno)
        visits = response[response["Patient ID"] == source].copy()
        visits["Patient ID"] = pid
        for column in MEASURED:
            visits[column] = [_jitter(v, rng) for v in visits[column]]
        rows_r.append(visits)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "patients.tsv", out / "response.csv", out / "samples.csv")
    pd.concat(rows_g).to_csv(paths[0], sep="\t", index=False)
    pd.concat(rows_r).to_csv(paths[1], index=False)
    pd.concat(rows_s).to_csv(paths[2], index=False)
    return paths


def _jitter(text: str, rng: np.random.Generator) -> str:
    if not isinstance(text, str) or not text.strip():
        return text
    if text.startswith(("<", ">")):
        return text  # a value beyond a limit stays beyond it
    value = float(text) * float(rng.lognormal(0, 0.25))
    return f"{value:.2f}"


def time_compare(paths: tuple[Path, ...], out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "compare", "--genotypes", str(paths[0]),
         "--clinical", str(paths[1]), "--samples", str(paths[2]), "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"compare failed on {paths[0].parent} (exit {done.returncode}): {last}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nlrp3annot_bench_compare"))
    args = parser.parse_args(argv)
    demo = demo_inputs(args.workdir)
    print(f"{'patients':>9}  {'median s':>9}  {'target s':>9}  runs")
    for size in args.patients:
        paths = registry(demo, size, args.workdir / f"cohort_{size}")
        runs = [time_compare(paths, args.workdir / f"results_{size}_{r}")
                for r in range(args.repeats)]  # fmt: skip
        target = TARGET_SECONDS.get(size, "")
        print(f"{size:>9}  {statistics.median(runs):>9.1f}  {target!s:>9}  "
              + " ".join(f"{r:.1f}" for r in runs))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
