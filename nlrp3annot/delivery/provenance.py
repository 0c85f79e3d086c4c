"""What a run genotyped against, for its ``summary.json`` (``genotyping``): the FASTA's
name and first header line, whether it is the demo's test sequence, and the minimum depth.
A patient page states these; a page made from the test sequence is for research use only.
"""

from __future__ import annotations

import gzip
from pathlib import Path

# The test sequence's header says so in these words (scripts/build_test_locus.py); its
# content says it, not its file name, which a user may change.
TEST_LOCUS_MARK = "NOT THE REAL GENOME"
HEADER_BYTES = 4096


def fasta_header(path: str | Path) -> str:
    """The first line of a FASTA (plain, gzip or bgzip), '' when it cannot be read."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            magic = raw.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            line = handle.readline(HEADER_BYTES)
    except (OSError, EOFError):
        return ""
    text = line.decode("utf-8", "replace").strip()
    return text if text.startswith(">") else ""


def genotyping(fasta: str | Path | None, min_depth: int | None) -> dict[str, object]:
    """The ``genotyping`` entry of summary.json for a run against ``fasta`` (None: the
    locus cached by ``reference fetch``)."""
    if not fasta:
        return {
            "fasta": "",
            "fasta_header": "",
            "test_locus": False,
            "reference": "the NLRP3 locus cached by 'nlrp3annot reference fetch'",
            "min_depth": min_depth,
        }
    header = fasta_header(fasta)
    return {
        "fasta": Path(fasta).name,
        "fasta_header": header,
        "test_locus": TEST_LOCUS_MARK in header.upper(),
        "reference": Path(fasta).name,
        "min_depth": min_depth,
    }
