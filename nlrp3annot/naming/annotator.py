"""Variant -> annotation rows, one per transcript. Pure: no files, no network.

An :class:`Annotator` holds what naming needs for one build (transcript maps and the locus
sequence) and turns each :class:`~nlrp3annot.values.Variant` into :class:`Annotation` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from nlrp3annot.genome.reference import REFSEQ_CHR1, Transcript
from nlrp3annot.genome.sequence import LocusSequence
from nlrp3annot.naming.consequence import (
    impact,
    location_terms,
    touches_splice_site,
    with_protein_terms,
)
from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.naming.hgvs import describe_edit, hgvs_c, hgvs_g, hgvs_p
from nlrp3annot.naming.legacy import legacy_protein
from nlrp3annot.naming.protein import (
    CodingSequence,
    Kind,
    ProteinChange,
    coding_sequence,
    protein_change,
)
from nlrp3annot.naming.variant import Edit, placements, shift_3prime, shift_5prime, to_vcf, trim
from nlrp3annot.values import Variant
from nlrp3annot.values.annotation import Annotation, annotation_of

if TYPE_CHECKING:
    from nlrp3annot.naming.snv_batch import Plan

# Distinct SNVs from which :meth:`Annotator.name_many` names them together (snv_batch):
# below it the general path costs less than the batch's set-up. The rows are the same
# either way.
BATCH_MIN_SNVS = 32


_PLAIN = frozenset("ACGT")  # (one-base alleles: the SNVs whose siblings can be derived)


def _noncoding_snv(row: Annotation) -> bool:
    """Is ``row`` an SNV's row outside the protein (intron, UTR, splice site, flank: what
    the position alone decides) whose new base shows only where :func:`_with_new_base`
    writes it? (A change with a protein effect depends on the new base: never derived.)"""
    ref, alt = row.ref, row.alt
    change = f"{ref}>{alt}"
    return (
        not row.hgvs_p
        and not row.ref_mismatch
        and not row.note
        and row.norm_pos == row.pos
        and row.norm_ref == ref
        and row.norm_alt == alt
        and row.hgvs_c.endswith(change)
        and row.hgvs_g.endswith(change)
        and row.spdi.endswith(f":{ref}:{alt}")
        and not (row.codons or row.amino_acids or row.cds_position or row.protein_position)
    )


def _with_new_base(rows: list[Annotation], alt: str) -> list[Annotation]:
    """The rows of the SNV with ``alt`` at the place of ``rows``' SNV (see
    :func:`_noncoding_snv`): the location, its terms and every label are the same, as the
    general path gives them (tests/test_snv_batch.py compares every such SNV)."""
    out = []
    for row in rows:
        fields = dict(row.__dict__)  # (the same order of fields)
        cut = -len(row.alt)
        fields["alt"] = fields["norm_alt"] = alt
        fields["hgvs_c"] = row.hgvs_c[:cut] + alt
        fields["hgvs_g"] = row.hgvs_g[:cut] + alt
        fields["spdi"] = row.spdi[:cut] + alt
        out.append(annotation_of(fields))
    return out


def _span_label(labels: list[int], total: int) -> str:
    if not labels:
        return ""
    lo, hi = min(labels) + 1, max(labels) + 1
    return f"{lo}/{total}" if lo == hi else f"{lo}-{hi}/{total}"


class Annotator:
    """Names variants on the transcripts of one build against one locus sequence."""

    def __init__(self, transcripts: list[Transcript], sequence: LocusSequence) -> None:
        if not transcripts:
            raise ValueError("at least one transcript is needed")
        for t in transcripts:
            if t.build != sequence.build:
                raise ValueError(f"{t.accession} is on {t.build}, sequence is {sequence.build}")
        self.sequence = sequence
        self.build = sequence.build
        self.maps = [TranscriptMap.of(t) for t in transcripts]
        self.window = (
            min(m.transcript.locus[0] for m in self.maps),
            max(m.transcript.locus[1] for m in self.maps),
        )
        # Each distinct allele is named once per run, however many samples, files or
        # records carry it: the rows are immutable values, so they can be shared.
        self._named: dict[tuple[str, int, str, str], list[Annotation]] = {}
        self._cds: dict[int, CodingSequence] = {}  # per transcript map (kept in self.maps)
        self._places: dict[tuple, _Placement] = {}
        self._haplotypes: dict[tuple[tuple[int, str, str], ...], list[tuple[str, str]]] = {}
        # (chrom, pos, REF) -> the rows of an SNV there with no protein effect on any
        # transcript: its siblings' rows differ from them only by the new base
        self._noncoding_snvs: dict[tuple[str, int, str], list[Annotation]] = {}

    def in_locus(self, pos: int, ref: str) -> bool:
        lo, hi = self.window
        return pos <= hi and pos + max(len(ref), 1) - 1 >= lo

    def ref_mismatch(self, variant: Variant) -> str:
        """Empty when REF equals the reference, else the reference bases at REF."""
        genome = self.sequence.get(variant.pos, variant.pos + len(variant.ref) - 1)
        return "" if genome == variant.ref.upper() else genome

    def annotate(self, variant: Variant) -> list[Annotation]:
        """One row per transcript (remembered: the same allele is named once)."""
        key = (variant.chrom, variant.pos, variant.ref, variant.alt)
        rows = self._named.get(key)
        if rows is None:
            rows = self._named[key] = self._annotate(variant)
        return rows

    def unnamed(self, variants: list[Variant]) -> list[Variant]:
        """The distinct variants of ``variants`` not named yet, in first-seen order."""
        seen: dict[tuple[str, int, str, str], Variant] = {}
        for v in variants:
            key = (v.chrom, v.pos, v.ref, v.alt)
            if key not in self._named and key not in seen:
                seen[key] = v
        return list(seen.values())

    def name_many(self, variants: list[Variant]) -> None:
        """Name the distinct unnamed coding SNVs of ``variants`` at once (the same rows
        :meth:`annotate` gives, a tenth of the time each); the others are left to
        :meth:`annotate`."""
        self.name_planned(self.plan_many(variants)[0])

    def plan_many(self, variants: list[Variant]) -> tuple[Plan | None, list[Variant]]:
        """(what :meth:`name_many` would name together, or None; the other distinct
        unnamed variants of ``variants``, for :meth:`annotate`), without naming any."""
        todo = self.unnamed(variants)
        snvs = [v for v in todo if len(v.ref) == 1 and len(v.alt) == 1]
        if len(snvs) < BATCH_MIN_SNVS:
            return None, todo
        from nlrp3annot.naming.snv_batch import plan_snvs

        coding = [self._coding(tmap) for tmap in self.maps]
        seq = self.sequence
        plan = plan_snvs(self.maps, coding, seq.bases, seq.start, snvs)
        planned = set(map(id, plan.variants))
        return plan, [v for v in todo if id(v) not in planned]

    def name_planned(self, plan: Plan | None) -> None:
        """Name the SNVs of a plan from :meth:`plan_many`, together."""
        if plan is None:
            return
        from nlrp3annot.naming.snv_batch import rows_of

        for v, rows in rows_of(self.maps, self.build, plan):
            self._named[(v.chrom, v.pos, v.ref, v.alt)] = rows

    def _coding(self, tmap: TranscriptMap) -> CodingSequence:
        cds = self._cds.get(id(tmap))
        if cds is None:  # (hashing the model for coding_sequence's cache cost 5% of naming)
            cds = self._cds[id(tmap)] = coding_sequence(tmap, self.sequence)
        return cds

    def remember(self, variant: Variant, rows: list[Annotation]) -> None:
        """Take rows named elsewhere (another process, by an Annotator like this one)."""
        self._named[(variant.chrom, variant.pos, variant.ref, variant.alt)] = rows

    def _annotate(self, variant: Variant) -> list[Annotation]:
        ref, alt = variant.ref, variant.alt
        plain_snv = ref in _PLAIN and alt in _PLAIN and ref != alt
        if plain_snv:
            siblings = self._noncoding_snvs.get((variant.chrom, variant.pos, ref))
            if siblings is not None:
                return _with_new_base(siblings, alt)
        rows = self._general(variant)
        if plain_snv and all(_noncoding_snv(row) for row in rows):
            self._noncoding_snvs[(variant.chrom, variant.pos, ref)] = rows
        return rows

    def _general(self, variant: Variant) -> list[Annotation]:
        seq = self.sequence
        ref, alt = variant.ref.upper(), variant.alt.upper()
        mismatch = self.ref_mismatch(variant)
        edit = trim(variant.pos, ref, alt)
        left = shift_5prime(edit, seq, seq.start + 1)
        norm_pos, norm_ref, norm_alt = to_vcf(left, seq)
        shifted = shift_3prime(edit, seq, seq.end - 1) if not mismatch else edit
        note = f"REF {variant.ref} differs from the reference {mismatch}" if mismatch else ""
        equivalents = placements(left, shifted, seq) if not mismatch else [edit]
        spdi = canonical_spdi(REFSEQ_CHR1[self.build], left, shifted, seq)
        return [
            self._on_transcript(
                tmap,
                variant,
                shifted,
                _effect_placement(tmap, equivalents),
                (norm_pos, norm_ref, norm_alt),
                mismatch,
                note,
                spdi,
            )
            for tmap in self.maps
        ]

    def _placement(
        self, tmap: TranscriptMap, edit: Edit, change: ProteinChange | None
    ) -> _Placement:
        """:func:`_place`, kept per span: the three SNVs of a base, or the alleles of one
        site, share it. Its inputs are the span (start, end: an insertion has end < start),
        the transcript, and whether the change has a protein effect at all."""
        noncoding = change is None
        key = (id(tmap), edit.start, edit.end, noncoding, noncoding or change.kind is Kind.UNKNOWN)
        where = self._places.get(key)
        if where is None:
            where = self._places[key] = _place(tmap, edit, change)
        return where

    def haplotype(self, variants: list[Variant]) -> list[tuple[str, str]]:
        """(hgvs_c, hgvs_p) per transcript of several variants on one haplotype, applied
        together: c.778C>T with c.780A>G is c.[778C>T;780A>G], p.Arg260Trp."""
        key = tuple(sorted((v.pos, v.ref.upper(), v.alt.upper()) for v in variants))
        named = self._haplotypes.get(key)
        if named is None:
            named = self._haplotypes[key] = self._haplotype(variants)
        return named

    def _haplotype(self, variants: list[Variant]) -> list[tuple[str, str]]:
        seq = self.sequence
        # by (start, end): an insertion before a base (end = start - 1) comes before a change
        # of that base, in whichever order the variants came; by start alone the order they
        # came in was kept, and an SNV first made the pair look like an overlap
        edits = sorted(
            (trim(v.pos, v.ref.upper(), v.alt.upper()) for v in variants),
            key=lambda e: (e.start, e.end),
        )
        for a, b in zip(edits, edits[1:], strict=False):
            if b.start <= a.end:
                raise ValueError("overlapping variants cannot share a haplotype")
        start, end = edits[0].start, max(e.end for e in edits)
        alt, cursor = [], start
        for e in edits:
            alt.append(seq.get(cursor, e.start - 1) + e.alt)
            cursor = e.end + 1
        alt.append(seq.get(cursor, end))
        merged = Edit(start, end, seq.get(start, end), "".join(alt))
        out = []
        for tmap in self.maps:
            t = tmap.transcript
            parts = [
                describe_edit(shift_3prime(e, seq, seq.end - 1), seq, tmap.c_label) for e in edits
            ]
            change = protein_change(tmap, merged, coding_sequence(tmap, seq))
            out.append((f"{t.accession}:c.[{';'.join(parts)}]", hgvs_p(t.protein_id, change)))
        return out

    def _on_transcript(
        self,
        tmap: TranscriptMap,
        variant: Variant,
        named: Edit,
        edit: Edit,
        norm: tuple[int, str, str],
        mismatch: str,
        note: str,
        spdi: str,
    ) -> Annotation:
        t = tmap.transcript
        seq = self.sequence
        change = protein_change(tmap, edit, self._coding(tmap))
        where = self._placement(tmap, edit, change)
        terms = with_protein_terms(where.terms, where.in_transcript, change)
        protein_pos, uniprot_pos, domains, amino_acids, codons = "", "", "", "", ""
        if change is not None and change.affected is not None:
            a, b = change.affected
            protein_pos = str(a) if a == b else f"{a}-{b}"
            off = t.uniprot_offset
            uniprot_pos = str(a + off) if a == b else f"{a + off}-{b + off}"
            domains = ";".join(d.name for d in t.domains if d.start <= b and a <= d.end)
            amino_acids = _amino_acids(change)
            codons = change.codons
        protein_name = hgvs_p(t.protein_id, change)
        return annotation_of(
            dict(
                chrom=variant.chrom,
                pos=variant.pos,
                ref=variant.ref,
                alt=variant.alt,
                build=self.build,
                gene=t.gene,
                gene_id=t.gene_id,
                transcript=t.accession,
                hgvs_c=hgvs_c(tmap, named, seq),
                hgvs_p=protein_name,
                legacy_protein=legacy_protein(protein_name),
                consequence="&".join(terms),
                impact=impact(terms),
                exon=where.exon,
                intron=where.intron,
                legacy_exon=where.legacy_exon,
                cds_position=where.cds_position,
                protein_position=protein_pos,
                uniprot_position=uniprot_pos,
                amino_acids=amino_acids,
                codons=codons,
                domain=domains,
                hgvs_g=hgvs_g(REFSEQ_CHR1[self.build], named, seq),
                spdi=spdi,
                norm_pos=norm[0],
                norm_ref=norm[1],
                norm_alt=norm[2],
                ensembl_transcript=t.ensembl_id,
                protein_id=t.protein_id,
                flags=",".join(t.flags),
                ref_mismatch=bool(mismatch),
                note=note,
            )
        )


class _Placement(NamedTuple):
    """What the changed span alone decides on one transcript, whatever the new bases."""

    exon: str
    intron: str
    legacy_exon: str
    cds_position: str
    terms: frozenset[str]  # consequence terms but the protein's
    in_transcript: bool


def _place(tmap: TranscriptMap, edit: Edit, change: ProteinChange | None) -> _Placement:
    t = tmap.transcript
    lo, hi = (edit.end, edit.start) if edit.is_insertion else (edit.start, edit.end)
    if edit.is_insertion:
        exons = sorted({i for p in (lo, hi) if (i := tmap.exon_index(p)) is not None})
        introns = sorted({i for p in (lo, hi) if (i := tmap.intron_index(p)) is not None})
    else:
        exons = tmap.exons_overlapping(lo, hi)
        introns = tmap.introns_overlapping(lo, hi)
    legacy = sorted({n for i in exons if (n := t.legacy_exon_numbers[i]) is not None})
    terms, in_transcript = location_terms(tmap, edit, change is None)
    return _Placement(
        exon=_span_label(exons, len(t.exons)),
        intron=_span_label(introns, len(t.exons) - 1),
        legacy_exon="-".join(
            str(n) for n in (legacy[:1] + legacy[-1:] if len(legacy) > 1 else legacy)
        ),
        cds_position=_cds_position(tmap, edit, change),
        terms=terms,
        in_transcript=in_transcript,
    )


def canonical_spdi(accession: str, left: Edit, right: Edit, seq: LocusSequence) -> str:
    """NCBI's canonical SPDI: 0-based position, and the fully justified deleted and inserted
    sequences (an indel in a repeat spans the whole repeat, as ClinVar writes it)."""
    if not (left.is_deletion or left.is_insertion):
        return f"{accession}:{left.start - 1}:{left.ref}:{left.alt}"
    lo, hi = left.start, right.end
    region = seq.get(lo, hi)
    if left.is_deletion:
        changed = region[: left.start - lo] + region[left.end - lo + 1 :]
    else:
        changed = region[: left.start - lo] + left.alt + region[left.start - lo :]
    return f"{accession}:{lo - 1}:{region}:{changed}"


def _inside_one(index, edit: Edit) -> bool:
    """Are all bases of ``edit`` (both flanks of an insertion) in one exon / one intron?"""
    lo, hi = (edit.end, edit.start) if edit.is_insertion else (edit.start, edit.end)
    i = index(lo)
    return i is not None and i == index(hi)


def _effect_placement(tmap: TranscriptMap, equivalents: list[Edit]) -> Edit:
    """Where to judge the effect of an indel that has several equivalent placements.

    Names follow the HGVS 3' rule (``equivalents[0]``). The effect is judged at the 3'-most
    placement that lies wholly inside one exon, else wholly inside one intron without
    touching its GT/AG, else the 3'-most: deleting one G of exon ...GG|GT... intron leaves
    the GT donor intact and shortens the exon (a frameshift), although the 3'-most name is
    c.N+1del; duplicating the CAG of intron ...CAG|exon leaves exon and acceptor intact
    (an intron change, named c.N-3_N-1dup). VEP on the left-aligned input, SnpEff and
    bcftools csq agree on the first case.
    """
    for candidate in equivalents:
        if _inside_one(tmap.exon_index, candidate):
            return candidate
    for candidate in equivalents:
        if _inside_one(tmap.intron_index, candidate) and not touches_splice_site(tmap, candidate):
            return candidate
    return equivalents[0]


def _amino_acids(change: ProteinChange) -> str:
    if change.kind in (Kind.UNKNOWN,):
        return ""
    if change.kind in (Kind.SYNONYMOUS, Kind.STOP_RETAINED):
        return change.ref
    if change.kind is Kind.START_LOST:
        return "M/?"
    if change.kind is Kind.FRAMESHIFT:
        return f"{change.ref}/X"
    if change.kind is Kind.INSERTION:
        return f"-/{change.alt}"
    return f"{change.ref or '-'}/{change.alt or '-'}"


def _cds_position(tmap: TranscriptMap, edit: Edit, change: ProteinChange | None) -> str:
    if change is None or change.kind is Kind.UNKNOWN:
        return ""
    t = tmap.transcript
    lo, hi = (edit.end, edit.start) if edit.is_insertion else (edit.start, edit.end)
    points = [
        p for p in (lo, hi) if tmap.exon_index(p) is not None and t.cds_start <= p <= t.cds_end
    ]
    if not points:
        return ""
    a, b = (tmap.cds_offset(p) + 1 for p in (min(points), max(points)))
    return str(a) if a == b else f"{a}-{b}"
