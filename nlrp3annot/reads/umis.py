"""UMIs: where a read's UMI is, what a duplex UMI says, and a family's consensus.

A read's UMI is read from a SAM tag (``--umi-tag RX``) or from its name
(``--umi-from-name``). The name forms accepted, and nothing else:

- bcl-convert / bcl2fastq: a name of exactly eight ':'-separated fields, the eighth the
  UMI: ``INST:RUN:FLOWCELL:LANE:TILE:X:Y:ACGTACGT`` (dual UMIs ``ACGTACGT+TTGACCAT``);
- UMI-tools ``extract`` (its default separator): the text after the name's last '_':
  ``READNAME_ACGTACGT``.

A name of neither form, or whose field holds other characters than UMI letters (``read_1``,
an Illumina name of seven fields), carries no UMI; a field of UMI letters that is not a UMI
(an N, lower case) is a malformed one. A UMI is upper-case A, C, G, T, in parts joined by
'-' or '+'.

Duplex UMIs: a UMI of exactly two parts (``AAAA-CCCC`` as fgbio writes RX, or Illumina's
``AAAA+CCCC``) holds one UMI from each end of the molecule, read 1's first. The molecule's
other strand is read from the other end, so its pairs carry the parts swapped
(``CCCC-AAAA``) and read 1 on the reverse strand (F2R1). Turned back (:func:`duplex_key`),
both strands name one molecule.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from nlrp3annot.reads.flags import PAIRED, READ2, REVERSE

UMI = re.compile(r"[ACGT]+(?:[-+][ACGT]+)*")  # one UMI, or several joined as fgbio/Illumina do
_UMI_LETTERS = re.compile(r"[ACGTNacgtn]+(?:[-+][ACGTNacgtn]+)*")  # a UMI field, maybe malformed
NAME_FIELDS = 8  # bcl-convert/bcl2fastq: INST:RUN:FLOWCELL:LANE:TILE:X:Y:UMI


def umi_of(read, tag: str) -> str | None:
    """The read's UMI, or None when it has none or a malformed one (all N, lower case, a
    number): such a read cannot be put in a family, and is left out."""
    if not read.has_tag(tag):
        return None
    value = read.get_tag(tag)
    return value if isinstance(value, str) and UMI.fullmatch(value) else None


def name_field(name: str) -> str | None:
    """The part of a read name that holds its UMI (see the module's forms), or None when
    the name has no such part."""
    fields = name.split(":")
    if len(fields) == NAME_FIELDS:
        field = fields[-1]
    else:
        _, underscore, field = name.rpartition("_")
        if not underscore:
            return None
    return field if _UMI_LETTERS.fullmatch(field) else None


def umi_in_name(name: str) -> str | None:
    """The UMI a read name carries, or None (no UMI, or a malformed one)."""
    field = name_field(name)
    return field if field is not None and UMI.fullmatch(field) else None


def umi_reader(tag: str | None, from_name: bool) -> Callable[[object], str | None] | None:
    """The function giving a read's UMI, from the ``tag`` or the read name (None: UMIs not
    used)."""
    if from_name:
        return lambda read: umi_in_name(read.query_name)
    return (lambda read: umi_of(read, tag)) if tag else None


def umi_problem(read, tag: str | None, from_name: bool) -> str:
    """Why a read has no usable UMI: "no_umi" (none there) or "bad_umi" (malformed)."""
    if from_name:
        return "no_umi" if name_field(read.query_name) is None else "bad_umi"
    return "no_umi" if not read.has_tag(tag) else "bad_umi"


def duplex_key(umi: str, f2r1: bool) -> tuple[str, int] | None:
    """For a duplex UMI (two parts), the UMI as its molecule's top strand reads it (read 1
    forward, F1R2) and the strand of this read or pair: 0 top, 1 bottom (F2R1, the parts
    swapped). None for a UMI of one part, or of more than two."""
    for separator in "-+":
        first, found, second = umi.partition(separator)
        if found:
            break
    else:
        return None
    if "-" in second or "+" in second or "+" in first:
        return None
    return (second + found + first, 1) if f2r1 else (umi, 0)


def families(chunk: list[list[tuple]]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Each unit's family (reads of one molecule: same UMI, same alignment), each family's
    first unit, and each unit's strand (1: the bottom strand of a duplex UMI's molecule,
    whose pairs carry the UMI's parts swapped and read 1 and read 2 swapped). A unit: the
    reads (fragments.Read: flag, start, end, ..., UMI) of a read or an overlapping pair."""
    keys: dict[tuple, int] = {}
    family = np.empty(len(chunk), dtype=np.int32)
    strand = np.zeros(len(chunk), dtype=np.int64)
    heads: list[int] = []
    for u, unit in enumerate(chunk):
        flag, umi = unit[0][0], unit[0][6]
        f2r1 = bool(flag & REVERSE) != bool(flag & PAIRED and flag & READ2)
        duplex = None if umi is None else duplex_key(umi, f2r1)
        if duplex is None:
            shape = tuple((r[0] & (REVERSE | READ2), r[1], r[2]) for r in unit)
            key = (umi, shape) if umi is not None else (None, u)
        else:  # both strands: the same ends of the molecule, whichever read is read 1
            umi, strand[u] = duplex
            key = (umi, tuple(sorted(molecule_end(r) for r in unit)))
        number = keys.setdefault(key, len(keys))
        if number == len(heads):
            heads.append(u)
        family[u] = number
    return family, heads, strand


def molecule_end(read: tuple) -> tuple[int, int, int]:
    """Which end of its molecule a read shows: its strand (paired reads) and alignment."""
    return (read[0] & REVERSE if read[0] & PAIRED else 0, read[1], read[2])


def consensus(group: np.ndarray, bases, agreement: float, trash: int) -> None:
    """One base per (group, column): the majority base where at least ``agreement`` of
    the group's bases there show it (the best-quality one of them, given the largest
    distance to a read end of any), else none; the others go to the ``trash`` column.
    ``bases``: a chunk's bases (fragments._Bases), rewritten in place."""
    live = np.flatnonzero(bases.col < trash)
    if live.size == 0:
        return
    col, base = bases.col[live].astype(np.int64), bases.base[live]
    key = group[live] * (trash + 1) + col
    order = np.lexsort((-bases.qual[live].astype(np.int32), key))
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    segment = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(key)]))
    sorted_base = base[order].astype(np.int64)
    tally = np.bincount(segment * 4 + sorted_base, minlength=len(starts) * 4).reshape(-1, 4)
    major = tally.argmax(axis=1)
    agreed = tally.max(axis=1) >= agreement * tally.sum(axis=1) - 1e-9
    majors = np.flatnonzero(sorted_base == major[segment])
    first = majors[np.r_[True, segment[majors][1:] != segment[majors][:-1]]]
    widest = np.maximum.reduceat(bases.dist[live][order], starts)
    chosen = live[order[first]]
    bases.dist[chosen] = widest[segment[first]]
    keep = np.zeros(len(bases.col), dtype=bool)
    keep[chosen[agreed[segment[first]]]] = True
    bases.col[~keep & (bases.col < trash)] = trash


RX_SHARE = 0.9  # of the reads looked at: a file whose UMIs are in RX


def rx_share(handle, contig: str, start: int, end: int, look: int = 1000) -> float:
    """The share of the first ``look`` primary reads over ``contig:start-end`` that carry
    an RX tag (0 where there are none)."""
    seen = carrying = 0
    for read in handle.fetch(contig, start - 1, end):
        if read.is_secondary or read.is_supplementary:
            continue
        seen += 1
        carrying += read.has_tag("RX")
        if seen >= look:
            break
    return carrying / seen if seen else 0.0
