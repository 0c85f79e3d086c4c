"""Reads to fragments: what each DNA fragment shows at each target position, counted once.

Counting reads counts some evidence twice and some artefacts as evidence:

- the two mates of a pair whose alignments overlap read the same bases of one fragment:
  there they count once, as the base with the higher quality when they agree, and not at
  all when they disagree (damage or an error on one read, such as 8-oxoG seen on read 1
  only, is not a base of the molecule);
- with UMIs (``ReadFilters.umi_tag`` or ``umi_from_name``: :mod:`nlrp3annot.reads.umis`)
  the reads of one molecule (PCR copies: the same UMI and the same alignment of both mates)
  collapse first to one consensus read per mate: the base that at least ``umi_agreement``
  of the family's reads show there, else none. A PCR or sequencing error in part of a
  family is then not evidence. With duplex UMIs the pairs of the molecule's two strands
  are one family: each strand's consensus first, then one base where the strands agree
  (or only one shows a base), none where they disagree.

Each counted base keeps its fragment's orientation and its read's strand (:data:`CELLS`;
unpaired reads count as read 1) and its distance to the nearer end of the aligned read
(:data:`READ_END_BASES`: the read-end artefact check). Insertions and deletions are counted
the same way, once per fragment, only where they lie at least :data:`INDEL_FLANK` aligned
bases from both ends of the read (nearer an end an aligner soft-clips or mismatches them,
so reads there cannot tell); ``indel_depth`` counts the fragments that could have shown
one. Indels are left-aligned on the reference before counting, so one deletion placed at
different places of a repeat by different reads is one allele.

Reads arrive in coordinate order and are processed in chunks with numpy; a pair whose
mates overlap waits for its second mate, and a chunk ends only where no UMI family can
still grow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from nlrp3annot.reads.alignments import ReadFilters, dropped_why
from nlrp3annot.reads.flags import (
    MATE_UNMAPPED,
    PAIRED,
    PROPER,
    READ1,
    READ2,
    REVERSE,
    SECONDARY,
    SUPPLEMENTARY,
)
from nlrp3annot.reads.umis import consensus, families, molecule_end, umi_reader

CELLS = ("F1R2+", "F1R2-", "F2R1+", "F2R1-")  # orientation x strand of the counted read
STRAND_HALVES = ((0, 2), (1, 3))  # the cells of the forward and of the reverse strand
ORIENTATION_HALVES = ((0, 1), (2, 3))  # the cells of F1R2 and of F2R1
READ_END_BASES = 10  # a base this near an end of its aligned read is "at a read end"
INDEL_FLANK = 15  # an indel counts only with this many aligned bases on each side
CHUNK_READS = 10_000
_MARGIN = 100_000  # reads reach at most this far beyond the span (long reads, big deletions)
_MATCH, _INS, _DEL, _SKIP, _SOFT, _HARD, _EQ, _DIFF = 0, 1, 2, 3, 4, 5, 7, 8
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _CODE[ord(_b.lower())] = _i


def cell_of(flag: int) -> int:
    """0-3 (:data:`CELLS`): F1R2 is read 1 forward or read 2 reverse (the fragment's top
    strand read first), F2R1 the other two; then the read's strand."""
    reverse = bool(flag & REVERSE)
    read2 = bool(flag & PAIRED and flag & READ2)
    return 2 * (read2 != reverse) + reverse


_CELL_FLAGS = PAIRED | REVERSE | READ2
_CELL = [cell_of(flag) for flag in range(_CELL_FLAGS + 1)]  # looked up once per read


@dataclass
class FragmentCounts:
    """Per target column: fragments showing each base per cell, those near a read end,
    fragments informative for indels per cell, and indel alleles per cell."""

    columns: int
    bases: np.ndarray = field(init=False)  # (4 cells, 4 bases, columns)
    near_end: np.ndarray = field(init=False)  # (4 bases, columns)
    indel_depth: np.ndarray = field(init=False)  # (4 cells, columns)
    indels: dict[tuple[int, str, str], np.ndarray] = field(default_factory=dict)
    reads: int = 0  # reads counted (after the filters)
    overlapping_pairs: int = 0
    mate_disagreements: int = 0  # positions where overlapping mates disagreed: not counted
    families: int = 0  # UMI families (molecules) with more than one read

    def __post_init__(self) -> None:
        self.bases = np.zeros((4, 4, self.columns), dtype=np.int64)
        self.near_end = np.zeros((4, self.columns), dtype=np.int64)
        self.indel_depth = np.zeros((4, self.columns), dtype=np.int64)


# A read as the stream keeps it: (flag, start, end, cigar, sequence, qualities, umi)
Read = tuple


def units(
    reads: Iterable, filters: ReadFilters, dropped: Counter | None = None
) -> Iterator[list[list[Read]]]:
    """Chunks of units (a read alone, or the two mates of a pair whose alignments overlap)
    from coordinate-sorted reads. A chunk ends only where the next read starts after the
    last unit completed, so no UMI family (units that complete at one place) is split.
    ``dropped`` counts the reads each filter removed (:func:`dropped_why`). Reads without
    base qualities ('*') are not evidence: no base of theirs can pass --min-baseq."""
    dropped = Counter() if dropped is None else dropped
    bad, min_mapq, proper, umi_in = (
        filters.bad_flags(), filters.min_mapq, filters.proper_pairs,
        umi_reader(filters.umi_tag, filters.umi_from_name),
    )  # fmt: skip
    pending: dict[str, Read] = {}
    chunk: list[list[Read]] = []
    reads_in_chunk, last_done = 0, -1
    for read in reads:
        flag, start = read.flag, read.reference_start
        if reads_in_chunk >= CHUNK_READS and start > last_done:
            yield chunk
            chunk, reads_in_chunk = [], 0
        if (
            flag & bad
            or read.mapping_quality < min_mapq
            or (proper and flag & PAIRED and not flag & PROPER)
            or read.query_sequence is None
            or not (qual := read.query_qualities_str)
            or (umi_in is not None and (umi := umi_in(read)) is None)
        ):
            dropped[dropped_why(read, flag, filters)] += 1
            if pending and not flag & (SECONDARY | SUPPLEMENTARY):
                mate = pending.pop(read.query_name, None)  # its mate then stands alone
                if mate is not None:
                    chunk.append([mate])
                    reads_in_chunk += 1
                    last_done = start
            continue
        if umi_in is None:
            umi = None
        end = read.reference_end
        cigar, seq = read.cigartuples, read.query_sequence
        record = (flag, start, end, cigar, seq, qual, umi)
        name = read.query_name
        mate = pending.pop(name, None) if pending else None
        if mate is not None and (mate[0] & READ1) != (flag & READ1):
            chunk.append([mate, record])
            reads_in_chunk += 2
            last_done = start
        elif (
            flag & PAIRED
            and not flag & MATE_UNMAPPED
            and read.next_reference_id == read.reference_id
            and start <= read.next_reference_start < end
        ):
            if mate is not None:  # a name seen twice for one mate: keep both apart
                chunk.append([mate])
            pending[name] = record
        else:
            if mate is not None:
                chunk.append([mate])
            chunk.append([record])
            reads_in_chunk += 1
            last_done = start
    chunk.extend([mate] for mate in pending.values())  # mates that never came
    if chunk:
        yield chunk


class FragmentCounter:
    """Counts fragments over the target columns of a reference span [lo, hi) (0-based).

    A chunk's bases live in a few flat arrays (:class:`_Bases`); a base that must not count
    (the losing mate, a disagreement, a family member) is sent to a trash column rather
    than removed, so each step costs one pass."""

    def __init__(self, lo: int, column: np.ndarray, reference: str, filters: ReadFilters) -> None:
        self.lo = lo
        self.column = column  # column of each span position, -1 outside the targets
        self.reference = reference  # the span's bases, upper case
        self.filters = filters
        self.counts = FragmentCounts(int(column.max()) + 1 if column.size else 0)
        self.trash = self.counts.columns  # the column that collects bases not counted
        # the columns, padded so that any read of the fetched windows indexes them directly
        self.padded = np.full(len(column) + 2 * _MARGIN, -1, dtype=np.int32)
        self.padded[_MARGIN : _MARGIN + len(column)] = column
        self.targeted = np.concatenate([[0], np.cumsum(self.padded >= 0)])
        self.column_ref = np.flatnonzero(column >= 0) + lo  # 0-based position of each column

    def add(self, chunk: list[list[Read]]) -> None:
        bases, events = self._expand(chunk)
        unit = bases.read_unit[bases.read]  # each base's unit
        if self.filters.umis:  # from here on a unit is a family
            chunk, family = self._families(chunk, bases, events)
            unit = family[unit]
        self._merge_mates(chunk, bases, unit)
        self._count(bases)
        self._count_indels(chunk, events)

    # -- reads to per-base arrays ----------------------------------------------------------

    def _expand(self, chunk: list[list[Read]]) -> tuple[_Bases, list]:
        """Every aligned base of every read in the targets, of quality, as arrays; and every
        indel event: (unit, mate, cell, anchor, deleted length, inserted bases)."""
        seqs, quals = [], []
        per_read = []  # (unit, mate, cell, aligned start, aligned end) in the chunk's buffer
        blocks = []  # (read, reference start, buffer offset, length)
        events: list = []
        offset = n = 0
        for u, unit in enumerate(chunk):
            for flag, start, _end, cigar, seq, qual, _umi in unit:
                length = len(seq)
                mate = 1 if flag & READ2 else 0
                cell = _CELL[flag & _CELL_FLAGS]
                if len(cigar) == 1:  # the usual read: one aligned block
                    blocks.append((n, start, offset, length))
                    lo, hi = 0, length
                else:
                    lo, hi = _aligned_part(cigar, length)
                    _blocks(u, n, mate, cell, start, offset, cigar, seq, lo, hi, blocks, events)
                seqs.append(seq)
                quals.append(qual)
                per_read.append((u, mate, cell, offset + lo, offset + hi))
                offset += length
                n += 1
        self.counts.reads += n
        sequence = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
        quality = np.frombuffer("".join(quals).encode("ascii"), dtype=np.uint8) - 33
        r_unit, r_mate, r_cell, r_lo, r_hi = np.array(per_read, np.int32).reshape(-1, 5).T
        b_read, b_ref, b_offset, b_len = np.array(blocks, dtype=np.int64).reshape(-1, 4).T
        # blocks wholly outside the targets (introns, flanks) are not expanded
        first = b_ref - self.lo + _MARGIN
        wanted = self.targeted[first + b_len] > self.targeted[first]
        b_read, first, b_offset, b_len = (
            b_read[wanted].astype(np.int32), first[wanted], b_offset[wanted], b_len[wanted]
        )  # fmt: skip
        block = np.repeat(np.arange(len(b_len), dtype=np.int32), b_len)
        within = np.arange(len(block), dtype=np.int64) - np.repeat(np.cumsum(b_len) - b_len, b_len)
        query = b_offset[block] + within
        col = self.padded[first[block] + within]
        base = _CODE[sequence[query]]
        keep = np.flatnonzero((col >= 0) & (base < 4) & (quality[query] >= self.filters.min_baseq))
        query, read = query[keep].astype(np.int32), b_read[block[keep]]
        dist = np.minimum(query - r_lo[read], r_hi[read] - 1 - query).astype(np.int32)
        return _Bases(
            col[keep], base[keep], quality[query], read, dist, r_unit, r_mate, r_cell
        ), events

    # -- UMI families ----------------------------------------------------------------------

    def _families(self, chunk, bases: _Bases, events: list) -> tuple[list[list[Read]], np.ndarray]:
        """Units of one molecule (same UMI, same alignment of both reads; with a duplex UMI
        the pairs of both strands) collapsed to one consensus per mate. Returns one unit
        per family (its first) and each unit's family; ``bases`` and ``events`` are
        rewritten in place (members' bases to the trash)."""
        family, heads, strand = families(chunk)
        duplex = bool(strand.any())
        if duplex:
            _as_head(chunk, family, heads, strand, bases, events)
        sizes = np.bincount(family * 2 + strand, minlength=2 * len(heads)).reshape(-1, 2)
        self.counts.families += int((sizes.sum(axis=1) > 1).sum())
        agreement = self.filters.umi_agreement
        molecule = family[bases.read_unit[bases.read]].astype(np.int64)
        strand_of_base = strand[bases.read_unit[bases.read]]
        consensus((molecule * 2 + strand_of_base) * 2 + bases.mate(), bases, agreement, self.trash)
        if duplex:  # each strand's consensus: one base where they agree, none where not
            consensus(molecule * 2 + bases.mate(), bases, 1.0, self.trash)
        # an indel counts for the family where enough of that mate's reads carry it, on
        # each strand the family has
        tally: dict[tuple, list] = {}
        for u, mate, cell, anchor, deleted, inserted in events:
            key = (int(family[u]), mate, anchor, deleted, inserted)
            tally.setdefault(key, [0, 0, cell])[strand[u]] += 1
        events[:] = [
            (f, mate, cell, anchor, deleted, inserted)
            for (f, mate, anchor, deleted, inserted), (top, bottom, cell) in tally.items()
            if top >= agreement * sizes[f, 0] - 1e-9 and bottom >= agreement * sizes[f, 1] - 1e-9
        ]
        return [chunk[h] for h in heads], family

    # -- overlapping mates -----------------------------------------------------------------

    def _merge_mates(self, chunk: list[list[Read]], bases: _Bases, unit: np.ndarray) -> None:
        """Where both mates of a unit show a base at one position: one base when they
        agree, none when they disagree. ``unit``: each base's unit."""
        paired = [i for i, pair in enumerate(chunk) if len(pair) == 2]
        if not paired:
            return
        self.counts.overlapping_pairs += len(paired)
        overlap_lo = np.zeros(len(chunk), dtype=np.int64)
        overlap_len = np.zeros(len(chunk), dtype=np.int64)
        for i in paired:
            (_, s1, e1, *_), (_, s2, e2, *_) = chunk[i]
            overlap_lo[i] = max(s1, s2)
            overlap_len[i] = max(min(e1, e2) - overlap_lo[i], 0)
        # each unit's overlap as a row of slots, one per position: a mate's base goes in
        # its slot, and a slot with both mates' bases holds a pair to merge
        live = bases.col < self.trash
        offset = np.full(len(unit), -1, dtype=np.int64)
        offset[live] = self.column_ref[bases.col[live]] - overlap_lo[unit[live]]
        shared = np.flatnonzero((offset >= 0) & (offset < overlap_len[unit]))
        if shared.size == 0:
            return
        width = int(overlap_len.max()) + 1
        slot = unit[shared].astype(np.int64) * width + offset[shared]
        first = bases.mate()[shared] == 0
        mate_a = np.full(len(chunk) * width, -1, dtype=np.int64)
        mate_b = mate_a.copy()
        mate_a[slot[first]] = shared[first]
        mate_b[slot[~first]] = shared[~first]
        both = (mate_a >= 0) & (mate_b >= 0)
        a, b = mate_a[both], mate_b[both]
        agree = bases.base[a] == bases.base[b]
        self.counts.mate_disagreements += int((~agree).sum())
        # agreeing mates: one base, with the better quality and the larger distance to a
        # read end, counted in read 1's cell (as the fragment's indels are: see
        # _count_indels), so depth and ALT counts of a strand stay comparable
        kept, dropped = a[agree], b[agree]
        bases.qual[kept] = np.maximum(bases.qual[kept], bases.qual[dropped])
        bases.dist[kept] = np.maximum(bases.dist[kept], bases.dist[dropped])
        bases.col[dropped] = self.trash
        bases.col[a[~agree]] = self.trash
        bases.col[b[~agree]] = self.trash

    # -- counting --------------------------------------------------------------------------

    def _count(self, bases: _Bases) -> None:
        c = self.counts
        n = c.columns + 1  # with the trash column, dropped after counting
        col, base, dist = bases.col, bases.base.astype(np.int32), bases.dist
        cell = bases.read_cell[bases.read]
        c.bases += np.bincount((cell * 4 + base) * n + col, minlength=16 * n).reshape(4, 4, n)[
            :, :, :-1
        ]
        near = dist < READ_END_BASES
        c.near_end += np.bincount(base[near] * n + col[near], minlength=4 * n).reshape(4, n)[:, :-1]
        wide = dist >= INDEL_FLANK
        c.indel_depth += np.bincount(cell[wide] * n + col[wide], minlength=4 * n).reshape(4, n)[
            :, :-1
        ]

    def _count_indels(self, chunk: list[list[Read]], events: list) -> None:
        """Each unit's indels, left-aligned, once per unit; an indel one mate shows and
        the other, spanning it with room on both sides, does not show is not counted."""
        by_unit: dict[int, dict[tuple, tuple[int, int]]] = {}
        for u, mate, cell, anchor, deleted, inserted in events:
            allele = self._normalise(anchor, deleted, inserted)
            if allele is not None:
                seen = by_unit.setdefault(u, {})
                mates, first_cell = seen.get(allele, (0, cell))
                seen[allele] = (mates | (1 << mate), first_cell)  # mates: bit 0 read 1
        for u, alleles in by_unit.items():
            unit = chunk[u]
            for allele, (mates, cell) in alleles.items():
                if len(unit) == 2:
                    if mates != 3:  # one mate shows it: does the other deny it?
                        other = next(r for r in unit if (1 if r[0] & READ2 else 0) != mates >> 1)
                        if _spans(other, allele):
                            self.counts.mate_disagreements += 1
                            continue
                    # the fragment's cell, as its bases count: read 1's where read 1
                    # covers the anchor (see _merge_mates)
                    read1 = next(r for r in unit if not r[0] & READ2)
                    if read1[1] < allele[0] <= read1[2]:
                        cell = _CELL[read1[0] & _CELL_FLAGS]
                counts = self.counts.indels.get(allele)
                if counts is None:
                    counts = self.counts.indels[allele] = np.zeros(4, dtype=np.int64)
                counts[cell] += 1

    def _normalise(self, anchor: int, deleted: int, inserted: str):
        """(1-based anchor, REF, ALT) VCF-style, left-aligned on the reference; None when
        the anchor leaves the span or the targets."""
        ref, lo = self.reference, self.lo
        a = anchor - lo  # the anchor base's index in the span
        if a < 0 or a >= len(ref):
            return None
        if deleted:
            while a > 0 and a + deleted < len(ref) and ref[a] == ref[a + deleted]:
                a -= 1
            if a + deleted >= len(ref):
                return None
            allele = (a + lo + 1, ref[a : a + deleted + 1], ref[a])
        else:
            seq = inserted.upper()
            while a > 0 and ref[a] == seq[-1]:
                seq = ref[a] + seq[:-1]
                a -= 1
            allele = (a + lo + 1, ref[a], ref[a] + seq)
        return allele if self.column[a] >= 0 else None


@dataclass
class _Bases:
    """A chunk's counted bases: target column (the trash column when not counted), base
    0-3, quality, read number, distance to the nearer end of the aligned read; and per
    read of the chunk its unit, mate (0: read 1 or unpaired, 1: read 2) and cell."""

    col: np.ndarray
    base: np.ndarray
    qual: np.ndarray
    read: np.ndarray
    dist: np.ndarray
    read_unit: np.ndarray
    read_mate: np.ndarray
    read_cell: np.ndarray

    def mate(self) -> np.ndarray:
        return self.read_mate[self.read]


def _blocks(u, n, mate, cell, start, offset, cigar, seq, lo, hi, blocks, events) -> None:
    """The aligned blocks and indel events of a read whose CIGAR has several parts."""
    ref, q = start, 0
    for op, size in cigar:
        if op in (_MATCH, _EQ, _DIFF):
            blocks.append((n, ref, offset + q, size))
            ref += size
            q += size
        elif op == _INS:
            if min(q - lo, hi - q - size) >= INDEL_FLANK:
                events.append((u, mate, cell, ref - 1, 0, seq[q : q + size]))
            q += size
        elif op == _DEL:
            if min(q - lo, hi - q) >= INDEL_FLANK:
                events.append((u, mate, cell, ref - 1, size, ""))
            ref += size
        elif op == _SKIP:
            ref += size
        elif op == _SOFT:
            q += size


def _spans(read: Read, allele: tuple[int, str, str]) -> bool:
    """Whether ``read`` covers the allele with INDEL_FLANK bases to spare each side."""
    pos, ref, _ = allele
    start, end = read[1], read[2]
    return start + INDEL_FLANK <= pos - 1 and pos + len(ref) + INDEL_FLANK <= end


def _aligned_part(cigar: list[tuple[int, int]], length: int) -> tuple[int, int]:
    """[lo, hi) of the read's bases that are aligned (soft clips at either end left out;
    hard clips hold no bases)."""
    lo = 0
    for op, size in cigar:
        if op == _SOFT:
            lo += size
        elif op != _HARD:
            break
    hi = length
    for op, size in reversed(cigar):
        if op == _SOFT:
            hi -= size
        elif op != _HARD:
            break
    return lo, hi


def _as_head(chunk, family, heads, strand, bases: _Bases, events: list) -> None:
    """The reads of a duplex family's other strand take the mate and cell of the head's
    read at the same end of the molecule: the family is then one fragment, its mates the
    head's, counted in the head's cells (once, as any fragment)."""
    first = np.cumsum([0] + [len(unit) for unit in chunk])
    head_strand = strand[np.array(heads)[family]]
    moved: dict[tuple[int, int], tuple[int, int]] = {}  # (unit, mate) -> (mate, cell)
    for u in np.flatnonzero(strand != head_strand).tolist():
        h = heads[family[u]]
        own = sorted(range(len(chunk[u])), key=lambda i: molecule_end(chunk[u][i]))
        head = sorted(range(len(chunk[h])), key=lambda i: molecule_end(chunk[h][i]))
        for i, j in zip(own, head, strict=True):
            r, hr = first[u] + i, first[h] + j
            mate, cell = int(bases.read_mate[hr]), int(bases.read_cell[hr])
            moved[(u, 1 if chunk[u][i][0] & READ2 else 0)] = (mate, cell)
            bases.read_mate[r], bases.read_cell[r] = mate, cell
    events[:] = [
        (u, *moved.get((u, mate), (mate, cell)), anchor, deleted, inserted)
        for u, mate, cell, anchor, deleted, inserted in events
    ]
