"""What a VCF reader gives: one ALT allele of a record in an NLRP3 window, with the samples'
calls, and a record it could not use with the reason (nothing is dropped silently)."""

from __future__ import annotations

from dataclasses import dataclass

from nlrp3annot.values.calls import SampleCall
from nlrp3annot.values.variant import Variant


@dataclass(frozen=True)
class Record:
    """One ALT allele of one VCF record inside an NLRP3 window."""

    index: int  # 1-based record number in the file (data lines), or in the fetched region
    variant: Variant
    record_id: str
    filter: str
    allele_index: int  # 1 for the first ALT
    n_alts: int
    calls: tuple[SampleCall, ...] = ()  # samples that may carry it (or lack a genotype)


@dataclass(frozen=True)
class Skipped:
    path: str
    chrom: str
    pos: int
    ref: str
    alt: str
    reason: str
