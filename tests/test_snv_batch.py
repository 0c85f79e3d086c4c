"""The batch path for many SNVs (naming/snv_batch) gives the general path's rows, field by
field, and leaves everything it does not handle to the general path.

The general path is the reference here: it is itself anchored by ClinVar
(test_clinvar_naming), SnpEff (test_differential) and whole-protein translation
(test_translation). Every possible SNV over the transcript (flanks, UTRs, start and stop
codons, every coding base, splice sites, introns) goes through both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nlrp3annot.genome.reference import mane_transcript
from nlrp3annot.genome.sequence import read_fasta_locus
from nlrp3annot.naming import annotator as annotator_module
from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.values import Variant
from nlrp3annot.values.annotation import COLUMNS
from tests.conftest import TEST_FASTA
from tests.vcf_writer import write


def _every_snv(seq, lo: int, hi: int) -> list[Variant]:
    return [
        Variant("chr1", p, seq.base(p), b)
        for p in range(lo, hi + 1)
        for b in "ACGT"
        if b != seq.base(p)
    ]


def _general(transcripts, seq, variants) -> dict[tuple, list]:
    plain = Annotator(transcripts, seq)
    return {(v.chrom, v.pos, v.ref, v.alt): plain.annotate(v) for v in variants}


def _batched(transcripts, seq, variants) -> dict[tuple, list]:
    """Only the rows the batch path named (name_many before any annotate)."""
    fast = Annotator(transcripts, seq)
    fast.name_many(variants)
    return dict(fast._named)


def _assert_same(batched: dict, general: dict) -> None:
    for key, rows in batched.items():
        expected = general[key]
        assert len(rows) == len(expected), key
        for row, want in zip(rows, expected, strict=True):
            assert list(vars(row)) == COLUMNS, key  # every field, in the table's order
            for field in COLUMNS:
                assert getattr(row, field) == getattr(want, field), (key, field)


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_every_snv_of_the_mane_transcript_is_named_as_the_general_path_names_it(build):
    seq = read_fasta_locus(TEST_FASTA[build], build)
    t = mane_transcript(build)
    variants = _every_snv(seq, t.exons[0][0] - 40, t.exons[-1][1] + 40)
    batched = _batched([t], seq, variants)
    _assert_same(batched, _general([t], seq, variants))
    # 3,105 coding bases = 1,035 codons; the start and stop codons (start loss, extension)
    # are left to the general path: 1,033 codons x 3 bases x 3 new bases
    assert len(batched) == 1_033 * 9
    named = {(v.pos) for v in variants if (v.chrom, v.pos, v.ref, v.alt) in batched}
    cds = [p for s, e in t.exons for p in range(s, e + 1) if t.cds_start <= p <= t.cds_end]
    assert named == set(cds[3:-3])
    kinds = {row[0].consequence for row in batched.values()}
    assert {"missense_variant", "synonymous_variant", "stop_gained"} <= kinds
    # a coding base next to an intron is a splice region too (VEP's 3 exon bases)
    assert "missense_variant&splice_region_variant" in kinds


def test_two_transcripts_and_one_the_array_path_cannot_read(fasta38):
    """With a second transcript (the 1036-aa isoform's start, 6 nt upstream) every row is
    the general path's; a transcript whose CDS does not start with ATG is left wholly to
    the general path (its start-loss rules are not the batch path's)."""
    seq = read_fasta_locus(fasta38, "GRCh38")
    mane = mane_transcript("GRCh38")
    longer = dataclasses.replace(
        mane, accession="TEST_LONG.1", protein_id="TEST_LONGP.1", cds_start=mane.cds_start - 6
    )
    assert seq.get(longer.cds_start, longer.cds_start + 2) == "ATG"
    exon = next(e for e in mane.exons if e[0] <= mane.cds_start <= e[1])
    variants = _every_snv(seq, exon[0] - 10, exon[1] + 10) + _every_snv(
        seq, mane.exons[3][0] - 10, mane.exons[3][1] + 10
    )
    batched = _batched([mane, longer], seq, variants)
    assert batched and all(len(rows) == 2 for rows in batched.values())
    _assert_same(batched, _general([mane, longer], seq, variants))

    shifted = dataclasses.replace(mane, accession="TEST_SHIFTED.1", cds_start=mane.cds_start + 1)
    assert seq.get(shifted.cds_start, shifted.cds_start + 2) != "ATG"
    assert _batched([mane, shifted], seq, variants) == {}


def test_what_the_array_path_leaves_is_named_by_the_general_path(fasta38, monkeypatch):
    """Indels, an MNV, lower-case and IUPAC bases, a REF that differs from the genome and an
    allele repeated: name_many names only the clean coding SNVs, and annotate() then gives
    every allele the general path's rows."""
    monkeypatch.setattr(annotator_module, "BATCH_MIN_SNVS", 1)
    seq = read_fasta_locus(fasta38, "GRCh38")
    t = mane_transcript("GRCh38")
    p = t.cds_start + 60  # codon 21, in the middle of the first coding exon
    assert t.exons[1][0] + 5 <= p <= t.exons[1][1] - 5
    base = seq.base(p)
    other = next(b for b in "ACGT" if b != base)
    wrong = next(b for b in "ACGT" if b not in (base, other))
    variants = [
        Variant("chr1", p, base, other),
        Variant("chr1", p, base, other),  # the same allele twice
        Variant("chr1", p, base.lower(), other.lower()),
        Variant("chr1", p, wrong, other),  # REF differs from the genome
        Variant("chr1", p, base, "N"),
        Variant("chr1", p, seq.get(p, p + 1), other + seq.base(p + 1)),  # trims to an SNV
        Variant("chr1", p, seq.get(p, p + 1), "".join(b for b in "ACGT" if b != base)[:2]),
        Variant("chr1", p, seq.get(p, p + 2), base),  # deletion
        Variant("chr1", p, base, base + "A"),  # insertion
    ]
    fast = Annotator([t], seq)
    fast.name_many(variants)
    assert list(fast._named) == [("chr1", p, base, other)]
    general = _general([t], seq, variants)
    for v in variants:
        assert fast.annotate(v) == general[(v.chrom, v.pos, v.ref, v.alt)], v


def test_a_file_of_many_snvs_gives_the_same_table_either_way(tmp_path: Path, monkeypatch):
    """Through the file path (annotate_scan calls name_many): a sites-only VCF of every SNV
    of two coding exons and their flanks, named with the batch path and without it."""
    from nlrp3annot import annotate_vcf

    seq = read_fasta_locus(TEST_FASTA["GRCh38"], "GRCh38")
    t = mane_transcript("GRCh38")
    variants = _every_snv(seq, t.exons[2][0] - 12, t.exons[3][1] + 12)
    records = [{"pos": v.pos, "ref": v.ref, "alts": (v.alt,)} for v in variants]
    vcf = write(tmp_path / "sites.vcf", [], records)
    monkeypatch.setattr(annotator_module, "BATCH_MIN_SNVS", 1)
    fast = annotate_vcf(vcf, fasta=TEST_FASTA["GRCh38"], build="GRCh38")
    monkeypatch.setattr(annotator_module, "BATCH_MIN_SNVS", 10**9)
    slow = annotate_vcf(vcf, fasta=TEST_FASTA["GRCh38"], build="GRCh38")
    assert len(fast) == len(variants)
    assert fast.equals(slow)


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_an_snv_outside_the_protein_is_named_as_its_siblings_first_one_would_be(build):
    """The second and third SNV at a base outside the protein (introns, UTRs, splice sites,
    flanks) are derived from the first one's rows; each is compared here with the rows of
    an annotator in which it is the first SNV named at its base (the general path itself):
    every SNV over the transcript and 40 bases each side."""
    seq = read_fasta_locus(TEST_FASTA[build], build)
    t = mane_transcript(build)
    variants = _every_snv(seq, t.exons[0][0] - 40, t.exons[-1][1] + 40)
    together = Annotator([t], seq)
    named = {(v.chrom, v.pos, v.ref, v.alt): together.annotate(v) for v in variants}
    by_base: dict[int, list[Variant]] = {}
    for v in variants:
        by_base.setdefault(v.pos, []).append(v)
    for k in range(3):  # the k-th SNV of every base, each the first at its base
        alone = Annotator([t], seq)
        expected = {
            (v.chrom, v.pos, v.ref, v.alt): alone.annotate(v)
            for vs in by_base.values()
            for v in vs[k : k + 1]
        }
        _assert_same({key: named[key] for key in expected}, expected)
    derived = [key for key, rows in named.items() if rows[0].hgvs_p == ""]
    assert len(derived) > 2 * len(together._noncoding_snvs) > 40_000  # most of the locus
