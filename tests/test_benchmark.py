"""Smoke test of scripts/benchmark.py --quick: every workload runs and gets a ratio.

The benchmark runs nlrp3annot and bcftools csq end to end on generated GATK-like inputs
(1 joint and many single-sample VCFs, bgzip with and without an index, sites-only), so a
quick run is also a smoke test of the CLI on realistic files. No timing is asserted: the
machine is shared and noisy, and the figures are for people to read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "scripts" / "benchmark.py"

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_quick_benchmark_reports_every_workload(tmp_path: Path) -> None:
    table = tmp_path / "table.md"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--repeats", "1"]
        + ["--workdir", str(tmp_path / "work"), "--markdown", str(table)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    header = "| workload | nlrp3annot s | anchor | anchor s | ratio | goal | peak MiB ours / anchor"
    assert header in proc.stdout
    assert proc.stdout.startswith("Machine: ")
    rows = [_cells(line) for line in proc.stdout.splitlines() if line.startswith("| W")]
    rows += [_cells(line) for line in proc.stdout.splitlines() if line.startswith(("| S ", "| R4"))]
    assert all(len(row) == 7 for row in rows), rows
    # R4 (the scan of many BAMs at --jobs 1/2 and on a local Dask cluster) needs samtools and
    # Dask distributed, both installed for the tests (.ci/run, the test extra)
    many_bams = ("R4 scan",) if shutil.which("samtools") else ()
    for wid in ("W1 ", "W3 ", "W3L ", "W4 ", "W5 ", "W5x10 ", "S start-up: annotate", *many_bams):
        mine = [row for row in rows if row[0].startswith(wid)]
        assert mine, f"no {wid.strip()} row in:\n{proc.stdout}"
        assert any(_is_number(row[4]) for row in mine), f"{wid.strip()} has no ratio: {mine}"
        assert all(_is_number(row[1]) for row in mine), mine  # ours ran
    assert any(row[0].startswith("S start-up: nlrp3annot --help") for row in rows)
    assert any(row[0].startswith("W5 floor:") for row in rows)  # (with a ratio, as W5's rows)
    if many_bams:  # --jobs 1 beside samtools, --jobs 2 and Dask beside --jobs 1
        anchors = [row[2] for row in rows if row[0].startswith("R4 scan")]
        assert anchors == ["samtools mpileup", "scan --jobs 1", "scan --jobs 1"], rows
    # the cost of one variant on each side, from W5 and W5x10: microseconds and their ratio
    per_variant = [_cells(line) for line in proc.stdout.splitlines() if line.startswith("| per")]
    assert len(per_variant) == 1, proc.stdout
    ours_us, anchor, theirs_us, ratio = per_variant[0][1:5]
    assert anchor == "csq --local-csq" and _is_number(ratio)
    assert ours_us.endswith(" us") and theirs_us.endswith(" us")
    assert _is_number(ours_us[:-3]) and _is_number(theirs_us[:-3])
    assert table.read_text().splitlines()[-1] in proc.stdout  # --markdown saved the table


def test_failing_command_fails_the_benchmark(tmp_path: Path) -> None:
    """The benchmark is a smoke test: a command that exits non-zero must fail the run and
    say which command it was, never print a (fast) time for it."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--only", "S", "--ours", "false"]
        + ["--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "command failed" in proc.stderr and "false annotate" in proc.stderr


def test_locus_only_batch_holds_only_locus_records(tmp_path: Path) -> None:
    """W3L's files are a lab's calls after `bcftools view -R`: every record, as bcftools
    reads it, lies in the NLRP3 window, and each file holds the 40 locus records."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import benchmark_inputs as bi

    model = bi.load_model()
    listing = bi.write_w3(tmp_path, model, 2, 40, 3, locus_only=True)
    lo, hi = model.window
    for name in listing.read_text().split():
        out = subprocess.run(
            ["bcftools", "query", "-f", "%CHROM\t%POS\n", str(tmp_path / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")[:-1]
        assert len(out) == 40
        for line in out:
            chrom, pos = line.split("\t")
            assert chrom == model.chrom and lo <= int(pos) <= hi, line
