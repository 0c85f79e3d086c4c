"""Properties of the naming engine, checked by hypothesis on random variants anywhere in the
locus of both TEST genomes (not the real genome):

- annotating never raises, whatever the change;
- every VCF spelling of one change (found by brute force on the haplotype, not by our own
  normalisation) gets the same c., p. and SPDI names;
- c. positions map back to the genomic position they came from, and a position's c. label
  is the same on GRCh37 as on GRCh38.

(Applying a change and translating it is checked against Biopython for every coding
substitution in tests/test_translation.py.) Examples are derandomised so CI sees the same
ones every run; NLRP3_FUZZ_EXAMPLES raises their number for a longer local search.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import FUZZ_SETTINGS as SETTINGS
from conftest import TEST_FASTA
from hypothesis import given
from hypothesis import strategies as st

from nlrp3annot.genome.reference import GRCH37_OFFSET, locus_window, mane_transcript
from nlrp3annot.genome.sequence import read_fasta_locus
from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.values import Variant

BASES = st.text(alphabet="ACGT", min_size=0, max_size=6)


@cache
def annotator(build: str) -> Annotator:
    seq = read_fasta_locus(TEST_FASTA[build], build)
    return Annotator([mane_transcript(build)], seq)


def _coding_and_near() -> st.SearchStrategy[int]:
    """Positions anywhere in the window, half of them in or next to the MANE exons."""
    t = mane_transcript("GRCh38")
    lo, hi = locus_window("GRCh38")
    near = st.sampled_from(t.exons).flatmap(
        lambda exon: st.integers(max(exon[0] - 12, lo + 10), min(exon[1] + 12, hi - 20))
    )
    return st.one_of(st.integers(lo + 10, hi - 20), near)


@SETTINGS
@given(
    build=st.sampled_from(["GRCh38", "GRCh37"]),
    pos=_coding_and_near(),
    ref_length=st.integers(1, 8),
    alt=BASES,
)
def test_annotating_any_change_in_the_locus_never_raises(build, pos, ref_length, alt) -> None:
    engine = annotator(build)
    shift = GRCH37_OFFSET if build == "GRCh37" else 0
    pos += shift
    ref = engine.sequence.get(pos, pos + ref_length - 1)
    alt = ref[0] + alt  # VCF spelling: an anchor base shared by REF and ALT
    if alt == ref:
        return
    (row,) = engine.annotate(Variant("chr1", pos, ref, alt))
    assert row.hgvs_c.startswith("NM_001243133.2:c.")
    assert row.consequence and row.impact in ("HIGH", "MODERATE", "LOW", "MODIFIER")
    assert not row.ref_mismatch


def _spellings(seq, pos: int, ref: str, alt: str, reach: int = 12) -> list[tuple[int, str, str]]:
    """Every anchored VCF spelling (pos', REF', ALT' sharing their first base, or a plain
    substitution) of the haplotype that (pos, REF, ALT) makes, within ``reach`` bases."""
    lo, hi = pos - reach, pos + len(ref) + reach
    window = seq.get(lo, hi)
    start = pos - lo
    changed = window[:start] + alt + window[start + len(ref) :]
    out = set()
    for s in range(1, len(window)):
        for length in range(1, len(window) - s):
            tail = len(window) - s - length
            if tail > len(changed) - s or changed[:s] != window[:s]:
                continue
            if window[s + length :] != changed[len(changed) - tail :]:
                continue
            new_alt = changed[s : len(changed) - tail]
            new_ref = window[s : s + length]
            if not new_alt or new_ref == new_alt:
                continue
            if new_ref[0] != new_alt[0] and len(new_ref) != len(new_alt):
                continue  # an unanchored indel spelling is not valid VCF
            out.add((lo + s, new_ref, new_alt))
    return sorted(out)


@SETTINGS
@given(
    pos=_coding_and_near(),
    kind=st.sampled_from(["del", "ins", "dup"]),
    length=st.integers(1, 4),
    inserted=st.text(alphabet="ACGT", min_size=1, max_size=4),
)
def test_every_spelling_of_one_indel_gets_the_same_names(pos, kind, length, inserted) -> None:
    engine = annotator("GRCh38")
    seq = engine.sequence
    anchor = seq.get(pos, pos)
    if kind == "del":
        ref, alt = seq.get(pos, pos + length), anchor
    elif kind == "dup":  # repeat the next bases: a spelling that slides along the repeat
        ref, alt = anchor, anchor + seq.get(pos + 1, pos + length)
    else:
        ref, alt = anchor, anchor + inserted
    spellings = _spellings(seq, pos, ref, alt)
    assert (pos, ref, alt) in spellings
    names = {
        (r.hgvs_c, r.hgvs_p, r.spdi, r.consequence)
        for p, a, b in spellings
        for r in engine.annotate(Variant("chr1", p, a, b))
    }
    assert len(names) == 1, (pos, ref, alt, spellings, names)


@SETTINGS
@given(offset=st.integers(-5_000, 5_000), which=st.integers(0, 10**6))
def test_c_positions_map_back_on_both_builds(offset: int, which: int) -> None:
    t38, t37 = mane_transcript("GRCh38"), mane_transcript("GRCh37")
    map38, map37 = TranscriptMap.of(t38), TranscriptMap.of(t37)
    span = t38.tx_end - t38.tx_start + 1
    pos = t38.tx_start + which % span + (offset if which % 3 == 0 else 0)
    c = map38.genomic_to_c(pos)
    assert map38.c_to_genomic(c) == pos
    assert str(map37.genomic_to_c(pos + GRCH37_OFFSET)) == str(c)
    assert map37.c_to_genomic(c) == pos + GRCH37_OFFSET


@pytest.mark.parametrize(
    "label, expected",
    [("1", 247418801), ("-1", 247418800), ("3105", 247448504), ("*1", 247448505)],
)
def test_c_to_genomic_against_the_mane_model(label: str, expected: int) -> None:
    """Anchors from the bundled MANE model: c.1 is the CDS start, c.3105 its end."""
    from nlrp3annot.naming.coords import CPos

    tmap = TranscriptMap.of(mane_transcript("GRCh38"))
    cpos = CPos(int(label[1:]), True) if label.startswith("*") else CPos(int(label))
    assert tmap.c_to_genomic(cpos) == expected
