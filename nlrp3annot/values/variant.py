"""A variant allele as a VCF writes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One ALT allele of a VCF record, as written in the file."""

    chrom: str
    pos: int
    ref: str
    alt: str
