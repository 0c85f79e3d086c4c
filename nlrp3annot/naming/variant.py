"""Variants as small values, and their normalisation (trim, left-align, 3' shift).

Positions are genomic, 1-based inclusive, as VCF writes them. A normalised :class:`Edit`
replaces the reference bases ``start..end`` with ``alt``; an insertion has ``end == start - 1``
(it sits between ``end`` and ``start``), so ``len(ref) == end - start + 1`` always holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SequenceSource(Protocol):
    def get(self, start: int, end: int) -> str: ...


@dataclass(frozen=True)
class Edit:
    """A minimal change: reference ``start..end`` (1-based inclusive) becomes ``alt``."""

    start: int
    end: int
    ref: str
    alt: str

    @property
    def is_insertion(self) -> bool:
        return not self.ref and bool(self.alt)

    @property
    def is_deletion(self) -> bool:
        return bool(self.ref) and not self.alt

    @property
    def is_substitution(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1

    @property
    def length_change(self) -> int:
        return len(self.alt) - len(self.ref)


def trim(pos: int, ref: str, alt: str) -> Edit:
    """Drop bases shared by REF and ALT: common suffix first, then common prefix (as bcftools)."""
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt = ref[1:], alt[1:]
        pos += 1
    return Edit(pos, pos + len(ref) - 1, ref, alt)


def shift_3prime(edit: Edit, seq: SequenceSource, limit: int) -> Edit:
    """Move a pure insertion or deletion as far right (3' on the plus strand) as the
    sequence allows, the HGVS 3' rule. ``limit`` is the last position it may reach."""
    if edit.is_deletion:
        start, end, ref = edit.start, edit.end, edit.ref
        while end < limit:
            nxt = seq.get(end + 1, end + 1)
            if nxt != ref[0] or nxt == "N":
                break
            ref = ref[1:] + nxt
            start, end = start + 1, end + 1
        return Edit(start, end, ref, "")
    if edit.is_insertion:
        start, alt = edit.start, edit.alt
        while start <= limit:
            nxt = seq.get(start, start)
            if nxt != alt[0] or nxt == "N":
                break
            alt = alt[1:] + nxt
            start += 1
        return Edit(start, start - 1, "", alt)
    return edit


def placements(left: Edit, right: Edit, seq: SequenceSource) -> list[Edit]:
    """Every equivalent placement of an indel from its 5'-most (``left``) to its 3'-most
    (``right``) form, 3'-most first. A substitution or delins has only itself."""
    if not (left.is_deletion or left.is_insertion) or left == right:
        return [right]
    out, current = [left], left
    while current.start < right.start:
        current = shift_3prime(
            current, seq, current.end + 1 if current.is_deletion else current.start
        )
        if current == out[-1]:
            break
        out.append(current)
    return out[::-1]


def shift_5prime(edit: Edit, seq: SequenceSource, limit: int) -> Edit:
    """Left-align a pure insertion or deletion (VCF normal form, as ``bcftools norm``)."""
    if edit.is_deletion:
        start, end, ref = edit.start, edit.end, edit.ref
        while start > limit:
            prev = seq.get(start - 1, start - 1)
            if prev != ref[-1] or prev == "N":
                break
            ref = prev + ref[:-1]
            start, end = start - 1, end - 1
        return Edit(start, end, ref, "")
    if edit.is_insertion:
        start, alt = edit.start, edit.alt
        while start - 1 > limit:
            prev = seq.get(start - 1, start - 1)
            if prev != alt[-1] or prev == "N":
                break
            alt = prev + alt[:-1]
            start -= 1
        return Edit(start, start - 1, "", alt)
    return edit


def to_vcf(edit: Edit, seq: SequenceSource) -> tuple[int, str, str]:
    """(pos, ref, alt) in VCF form: an empty allele gets the preceding base as anchor."""
    if edit.ref and edit.alt:
        return edit.start, edit.ref, edit.alt
    anchor = seq.get(edit.start - 1, edit.start - 1)
    return edit.start - 1, anchor + edit.ref, anchor + edit.alt
