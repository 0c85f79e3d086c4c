"""Coverage given beside a VCF (``--coverage``): which NLRP3 bases a sample was sequenced
over at the minimum depth, from the files labs already make.

- mosdepth per-base (``chrom start end depth``) or regions (``chrom start end [name] mean``)
  BED, plain or gzip: a row counts where its last column is at least the minimum depth;
- a callable-regions BED: three columns (every row counts), or GATK CallableLoci's four
  (rows whose state is ``CALLABLE``).

Rows are 0-based half-open (BED); only chromosome 1 inside the build's NLRP3 window is kept.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from nlrp3annot.errors import InputFileError
from nlrp3annot.genome.reference import locus_window
from nlrp3annot.io.vcf import CHR1_NAMES
from nlrp3annot.values.intervals import merge_intervals as merge


@cache
def covered_intervals(path: str, build: str, min_depth: int) -> tuple[tuple[int, int], ...]:
    """1-based inclusive intervals of the window covered at ``min_depth`` (or callable)."""
    file = Path(path)
    if not file.is_file():
        raise InputFileError(file, "no such coverage file", "give a mosdepth or callable BED")
    lo, hi = locus_window(build)
    out = []
    try:
        with file.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(file, "rt", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 3:
                    raise InputFileError(
                        file,
                        f"line {number} has {len(fields)} column(s)",
                        "a BED line is chrom, start, end (tab-separated)",
                    )
                if fields[0] not in CHR1_NAMES:
                    continue
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError:
                    raise InputFileError(
                        file, f"line {number}: start/end are not numbers", "fix that line"
                    ) from None
                if end < lo or start >= hi or not _counts(fields, min_depth):
                    continue
                out.append((max(start + 1, lo), min(end, hi)))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputFileError(file, f"cannot be read ({exc})", "give a BED or BED.gz") from None
    return tuple(merge(out))


def _counts(fields: list[str], min_depth: int) -> bool:
    if len(fields) == 3:
        return True  # a callable-regions BED: every row is callable
    last = fields[-1]
    try:
        return float(last) >= min_depth
    except ValueError:
        return fields[3] == "CALLABLE"  # GATK CallableLoci


def parse_coverage_option(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--coverage FILE`` (every sample) or ``SAMPLE=FILE`` (one), repeatable."""
    out = []
    for value in values or []:
        sample, sep, path = value.rpartition("=")
        if sep and not Path(value).exists():
            out.append((sample, path))
        else:
            out.append(("", value))
    return tuple(out)
