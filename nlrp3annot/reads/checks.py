"""Checks of what a file's reads gave, after counting: one line per file for reads that
looked usable but are not evidence, UMIs the options ignore or cannot find, and reads that
disagree with the FASTA (not the genome they were aligned to: refused, not guessed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError
from nlrp3annot.reads.alignments import ReadFilters
from nlrp3annot.reads.pileup import BASES, Counts

MISMATCH_LIMIT = 0.05  # share of covered coding positions whose majority base disagrees


UMI_MISSING_LIMIT = 0.5  # this share of reads without a UMI where told: the wrong place


def check_umis(counts: Counts, path: Path, filters: ReadFilters) -> None:
    """One line per file for reads that look usable but are not evidence (no base
    qualities, malformed UMIs), and for UMIs the options ignore; refuse a --umi-tag or
    --umi-from-name most reads carry no UMI in (its families would be single reads: PCR
    copies as molecules)."""
    dropped, tag = counts.dropped, filters.umi_tag
    if dropped["no_base_qualities"]:
        warn(path, f"{dropped['no_base_qualities']:,} reads have no base qualities ('*'): "
              "not counted as evidence")  # fmt: skip
    if not filters.umis:  # RX carried by some files only: said by scan's _umis_as_found
        return
    missing, bad = dropped["no_umi"], dropped["bad_umi"]
    looked = counts.reads + missing + bad
    if looked and missing >= UMI_MISSING_LIMIT * looked:
        share = f"{missing / looked:.0%} of its reads ({missing:,} of {looked:,})"
        if filters.umi_from_name:
            raise InputFileError(
                path, f"{share} carry no UMI in their name (as ...:Y:ACGTACGT or NAME_ACGTACGT)",
                "give --umi-tag if the UMIs are in a tag, or leave --umi-from-name out "
                "(duplicate flags then mark PCR copies)",
            )  # fmt: skip
        raise InputFileError(
            path, f"{share} carry no {tag} tag", "give the tag its UMIs are in with --umi-tag, "
            "or leave --umi-tag out (duplicate flags then mark PCR copies)",
        )  # fmt: skip
    if missing or bad:
        if filters.umi_from_name:
            malformed, absent = "UMI in the read name (N, lower case)", "UMI in the read name"
        else:
            malformed, absent = f"{tag} UMI (all N, lower case, not text)", f"{tag} tag"
        parts = [f"{bad:,} with a malformed {malformed}"] if bad else []
        parts += [f"{missing:,} with no {absent}"] if missing else []
        warn(path, f"{' and '.join(parts)} of {looked:,} reads: left out of the UMI families")


def warn(path: Path, what: str) -> None:
    print(f"nlrp3annot: warning: {path}: {what}", file=sys.stderr)


def check_reference(counts: Counts, reference: str, path: Path, fasta: Path) -> None:
    total = counts.total
    depth = total.sum(axis=0)
    covered = depth >= 5
    if not covered.any():
        return
    majority = np.array([BASES[i] for i in total.argmax(axis=0)])
    ref = np.array(list(reference))
    disagree = int(((majority != ref) & covered & (ref != "N")).sum())
    if disagree > MISMATCH_LIMIT * int(covered.sum()):
        raise InputFileError(
            path,
            f"its reads disagree with {fasta.name} at {disagree} of {int(covered.sum())} "
            f"covered coding positions",
            "give the FASTA the reads were aligned to (--fasta)",
        )
