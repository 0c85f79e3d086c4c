"""Position arithmetic on a transcript: genomic <-> c. positions, exon and intron lookup.

Pure functions over a :class:`~nlrp3annot.genome.reference.Transcript`. Genomic positions are
1-based inclusive. Plus-strand transcripts only (every NLRP3 transcript is on the plus
strand); a minus-strand model is refused where models are loaded.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from nlrp3annot.genome.reference import Transcript


class Region(Enum):
    UPSTREAM = "upstream"
    UTR5 = "5_prime_UTR"
    CDS = "CDS"
    UTR3 = "3_prime_UTR"
    INTRON = "intron"
    DOWNSTREAM = "downstream"


@dataclass(frozen=True)
class CPos:
    """A c. position: ``base`` (negative in the 5' UTR, counted after the stop when
    ``after_stop``) and an intronic ``offset`` (+n after an exon end, -n before an exon start)."""

    base: int
    after_stop: bool = False
    offset: int = 0

    def __str__(self) -> str:
        text = f"*{self.base}" if self.after_stop else str(self.base)
        if self.offset > 0:
            text += f"+{self.offset}"
        elif self.offset < 0:
            text += str(self.offset)
        return text


@dataclass(frozen=True)
class TranscriptMap:
    """Precomputed transcript (spliced) coordinates of one transcript."""

    transcript: Transcript
    exon_tx_starts: tuple[int, ...]  # transcript position (1-based) of each exon's first base
    cds_tx_start: int  # transcript position of c.1
    cds_tx_end: int  # transcript position of the last base of the stop codon
    tx_length: int

    @classmethod
    def of(cls, transcript: Transcript) -> TranscriptMap:
        starts, total = [], 0
        for s, e in transcript.exons:
            starts.append(total + 1)
            total += e - s + 1
        tmp = cls(transcript, tuple(starts), 0, 0, total)
        return cls(
            transcript,
            tuple(starts),
            tmp.genomic_to_tx(transcript.cds_start),
            tmp.genomic_to_tx(transcript.cds_end),
            total,
        )

    # --- exons and introns -------------------------------------------------------------
    def exon_index(self, pos: int) -> int | None:
        """0-based index of the exon holding ``pos``, or None."""
        exons = self.transcript.exons
        i = bisect.bisect_right(self._exon_starts, pos) - 1
        return i if i >= 0 and pos <= exons[i][1] else None

    def intron_index(self, pos: int) -> int | None:
        """0-based index of the intron holding ``pos`` (intron i follows exon i), or None."""
        exons = self.transcript.exons
        i = bisect.bisect_right(self._exon_starts, pos) - 1
        return i if 0 <= i < len(exons) - 1 and exons[i][1] < pos else None

    def introns(self) -> tuple[tuple[int, int], ...]:
        return self._introns

    def exons_overlapping(self, lo: int, hi: int) -> list[int]:
        """0-based indices of the exons that share a base with ``lo..hi``."""
        exons = self.transcript.exons
        i = max(bisect.bisect_right(self._exon_starts, lo) - 1, 0)
        out = []
        while i < len(exons) and exons[i][0] <= hi:
            if exons[i][1] >= lo:
                out.append(i)
            i += 1
        return out

    def introns_overlapping(self, lo: int, hi: int) -> list[int]:
        """0-based indices of the introns that share a base with ``lo..hi``."""
        introns = self._introns
        i = max(bisect.bisect_right(self._exon_starts, lo) - 1, 0)
        out = []
        while i < len(introns) and introns[i][0] <= hi:
            if introns[i][1] >= lo:
                out.append(i)
            i += 1
        return out

    @cached_property
    def five_utr_pieces(self) -> tuple[tuple[int, int], ...]:
        """The exonic stretches before the start codon (genomic, 1-based inclusive)."""
        t = self.transcript
        return tuple((s, min(e, t.cds_start - 1)) for s, e in t.exons if s < t.cds_start)

    @cached_property
    def three_utr_pieces(self) -> tuple[tuple[int, int], ...]:
        """The exonic stretches after the stop codon."""
        t = self.transcript
        return tuple((max(s, t.cds_end + 1), e) for s, e in t.exons if e > t.cds_end)

    @cached_property
    def _exon_starts(self) -> tuple[int, ...]:
        return tuple(s for s, _ in self.transcript.exons)

    @cached_property
    def _introns(self) -> tuple[tuple[int, int], ...]:
        exons = self.transcript.exons
        return tuple((exons[i][1] + 1, exons[i + 1][0] - 1) for i in range(len(exons) - 1))

    # --- transcript and c. positions ---------------------------------------------------
    def genomic_to_tx(self, pos: int) -> int:
        """Transcript position of an exonic base (1-based)."""
        i = self.exon_index(pos)
        if i is None:
            raise ValueError(f"{pos} is not exonic")
        return self.exon_tx_starts[i] + pos - self.transcript.exons[i][0]

    def tx_to_genomic(self, tx: int) -> int:
        for (s, e), t0 in zip(self.transcript.exons, self.exon_tx_starts, strict=True):
            if t0 <= tx <= t0 + e - s:
                return s + tx - t0
        raise ValueError(f"transcript position {tx} is outside the transcript")

    def tx_to_c(self, tx: int, offset: int = 0) -> CPos:
        if tx < self.cds_tx_start:
            return CPos(tx - self.cds_tx_start, False, offset)
        if tx > self.cds_tx_end:
            return CPos(tx - self.cds_tx_end, True, offset)
        return CPos(tx - self.cds_tx_start + 1, False, offset)

    def genomic_to_c(self, pos: int) -> CPos:
        """c. position of any genomic position (exonic, intronic, upstream, downstream)."""
        t = self.transcript
        if pos < t.tx_start:
            return self.tx_to_c(1 - (t.tx_start - pos))
        if pos > t.tx_end:
            return self.tx_to_c(self.tx_length + pos - t.tx_end)
        if self.exon_index(pos) is not None:
            return self.tx_to_c(self.genomic_to_tx(pos))
        i = self.intron_index(pos)
        assert i is not None
        exon_end, next_start = t.exons[i][1], t.exons[i + 1][0]
        after_donor, before_acceptor = pos - exon_end, next_start - pos
        # HGVS: the intron is split in the middle; an odd central base is numbered "+".
        if after_donor <= before_acceptor:
            return self.tx_to_c(self.genomic_to_tx(exon_end), after_donor)
        return self.tx_to_c(self.genomic_to_tx(next_start), -before_acceptor)

    def c_to_genomic(self, c: CPos) -> int:
        """The genomic position of a c. position (the inverse of :meth:`genomic_to_c`)."""
        t = self.transcript
        if c.after_stop:
            tx = self.cds_tx_end + c.base
        elif c.base < 0:
            tx = self.cds_tx_start + c.base
        else:
            tx = self.cds_tx_start + c.base - 1
        if tx < 1:
            anchor = t.tx_start - 1 + tx
        elif tx > self.tx_length:
            anchor = t.tx_end + tx - self.tx_length
        else:
            anchor = self.tx_to_genomic(tx)
        return anchor + c.offset

    def c_label(self, pos: int) -> str:
        """``str(genomic_to_c(pos))``, remembered per position (every name asks for it)."""
        labels = self._c_labels
        text = labels.get(pos)
        if text is None:
            text = labels[pos] = str(self.genomic_to_c(pos))
        return text

    @cached_property
    def _c_labels(self) -> dict[int, str]:
        return {}

    def region(self, pos: int) -> Region:
        t = self.transcript
        if pos < t.tx_start:
            return Region.UPSTREAM
        if pos > t.tx_end:
            return Region.DOWNSTREAM
        if self.exon_index(pos) is None:
            return Region.INTRON
        if pos < t.cds_start:
            return Region.UTR5
        if pos > t.cds_end:
            return Region.UTR3
        return Region.CDS

    def cds_offset(self, pos: int) -> int:
        """0-based offset of an exonic base from c.1 (negative in the 5' UTR)."""
        return self.genomic_to_tx(pos) - self.cds_tx_start

    @property
    def cds_length(self) -> int:
        return self.cds_tx_end - self.cds_tx_start + 1


def exon_label(tmap: TranscriptMap, index: int) -> str:
    return f"{index + 1}/{len(tmap.transcript.exons)}"


def intron_label(tmap: TranscriptMap, index: int) -> str:
    return f"{index + 1}/{len(tmap.transcript.exons) - 1}"
