"""Shared fixtures: paths to the TEST genomes (not the real genome) and a VCF writer."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

DATA = Path(__file__).parent / "data"
TEST_FASTA = {
    "GRCh38": DATA / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz",
    "GRCh37": DATA / "TEST_LOCUS_GRCh37_not_real_genome.fa.gz",
}
CHR1_LENGTH = {"GRCh38": 248_956_422, "GRCh37": 249_250_621}
# Property and fuzz tests: derandomised, so CI sees the same examples every run;
# NLRP3_FUZZ_EXAMPLES raises their number for a longer local search.
FUZZ_EXAMPLES = int(os.environ.get("NLRP3_FUZZ_EXAMPLES", "1000"))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Fuzz targets (tests/test_fuzz_readers.py) run for a bounded time: the derandomised round
# above first, then rounds of fresh random examples (seeds 1, 2, ...) until
# NLRP3_FUZZ_SECONDS (default 60) have passed. A failure names its round's seed.
FUZZ_SECONDS = float(os.environ.get("NLRP3_FUZZ_SECONDS", "60"))
FUZZ_ROUND_EXAMPLES = 100


def fuzz_target(examples_share: float = 1.0, **strategies) -> Callable:
    """Mark a function as a fuzz target over these hypothesis strategies (run by
    :func:`fuzz_for`); ``examples_share`` scales its examples per round (slow targets)."""

    def mark(function: Callable) -> Callable:
        function.fuzz_strategies = strategies
        function.fuzz_share = examples_share
        return function

    return mark


def fuzz_for(target: Callable, seconds: float = FUZZ_SECONDS) -> int:
    """Run a fuzz target for about ``seconds``; returns how many rounds ran."""
    start = time.monotonic()
    share = target.fuzz_share
    first = settings(FUZZ_SETTINGS, max_examples=max(int(FUZZ_EXAMPLES * share), 20))
    first(given(**target.fuzz_strategies)(target))()
    rounds = 1
    while time.monotonic() - start < seconds:
        fresh = settings(
            FUZZ_SETTINGS,
            max_examples=max(int(FUZZ_ROUND_EXAMPLES * share), 10),
            derandomize=False,
        )
        try:
            seed(rounds)(fresh(given(**target.fuzz_strategies)(target)))()
        except Exception as exc:
            exc.add_note(f"fuzz round {rounds} of {target.__name__}: hypothesis seed {rounds}")
            raise
        rounds += 1
    return rounds


def write_vcf(
    path: Path,
    records: list[tuple[str, int, str, str]],
    build: str | None = "GRCh38",
    chrom_name: str = "chr1",
    extra_header: str = "",
) -> Path:
    """A sites-only VCF written as a lab's caller would: sorted, with ##contig lengths."""
    lines = ["##fileformat=VCFv4.2"]
    if build:
        lines.append(f"##contig=<ID={chrom_name},length={CHR1_LENGTH[build]}>")
    else:
        lines.append(f"##contig=<ID={chrom_name}>")
    for other in sorted({r[0] for r in records} - {chrom_name}):
        lines.append(f"##contig=<ID={other}>")
    if extra_header:
        lines.append(extra_header)
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for i, (chrom, pos, ref, alt) in enumerate(
        sorted(records, key=lambda r: (r[0] != chrom_name, r[0], r[1]))
    ):
        lines.append(f"{chrom}\t{pos}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def fasta38() -> Path:
    return TEST_FASTA["GRCh38"]


@pytest.fixture(scope="session")
def fasta37() -> Path:
    return TEST_FASTA["GRCh37"]


def headless_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Debian's chromium, headless, offline and without a profile of its own; the caller
    skips when it is not installed."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run(
        ["chromium", *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def compare_args(genotypes: Path, clinical: Path, samples: Path, out: Path) -> list[str]:
    """The ``nlrp3annot compare`` arguments for these three tables and results folder."""
    return [
        "compare",
        "--genotypes",
        str(genotypes),
        "--clinical",
        str(clinical),
        "--samples",
        str(samples),
        "-o",
        str(out),
    ]


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """``nlrp3annot demo`` run once for the session (tests read it; the report command may
    write its pages again into it, which gives the same bytes)."""
    from nlrp3annot.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "-o", str(out), "-q"]) == 0
    return out
