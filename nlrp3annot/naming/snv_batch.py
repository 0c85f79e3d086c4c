"""Many coding SNVs named at once: the fast path of :class:`~.annotator.Annotator`.

A sites-only VCF of every possible coding SNV (a registry re-annotating ClinVar or gnomAD)
spends ~27 us per SNV in the general path: trimming, 3' shifting, placements, a
ProteinChange and a dozen small strings per allele. A biallelic SNV inside a codon that is
neither the start nor the stop codon needs none of that: its position gives the exon, the
c. position, the codon and its frame; the codon with the new base, looked up in the codon
table (a string of the 64 codons' residues), gives the residue and so the kind
(synonymous, missense, stop gained). What a position decides is worked out and formatted
once for its three SNVs; what is left per SNV is formatting its strings. (These lookups
ran on numpy arrays until issue 28: importing numpy cost more than all of them.)

Everything else falls back to the general path, variant by variant: indels, MNVs, REF
that differs from the reference, lower-case or IUPAC bases, SNVs in the start or stop
codon, and SNVs outside the CDS (UTRs, introns, splice sites, up/downstream). The rows are
exactly the general path's (tests/test_snv_batch.py compares them field by field on every
coding SNV); splice-region terms of coding bases next to an intron are computed here with
the same windows as :func:`~.consequence.splice_and_intron_terms`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from nlrp3annot.genome.reference import REFSEQ_CHR1
from nlrp3annot.naming.consequence import TERMS, impact
from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.naming.hgvs import _THREE
from nlrp3annot.naming.protein import _AMINO_ACIDS, CodingSequence
from nlrp3annot.values import Variant
from nlrp3annot.values.annotation import Annotation

_BASES = "TCAG"  # the codon table's order: a codon's index is 16 * first + 4 * second + third
_CODE = {b: i for i, b in enumerate(_BASES)}
_WEIGHT = (16, 4, 1)  # of a base at frame 0, 1, 2 in its codon's index
_CODON_INDEX = {a + b + c: 16 * i + 4 * j + k for i, a in enumerate(_BASES)
                for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}  # fmt: skip

# The splice windows a single base can fall in, per intron (donor = first intron base,
# acceptor = last), as consequence.splice_and_intron_terms draws them for a substitution.
# The donor-region term and the +2..+7 splice region are left out of this table: they
# depend on each other (VEP reports the specific donor term instead of the region one).
_DONOR, _ACCEPTOR = 0, 1
_WINDOWS: tuple[tuple[str, int, int, int], ...] = (
    ("splice_donor_variant", _DONOR, 0, 1),
    ("splice_acceptor_variant", _ACCEPTOR, -1, 0),
    ("splice_polypyrimidine_tract_variant", _ACCEPTOR, -16, -2),
    ("splice_region_variant", _DONOR, -3, -1),
    ("splice_region_variant", _ACCEPTOR, 1, 3),
    ("splice_region_variant", _ACCEPTOR, -7, -2),
)
_REACH = (*_WINDOWS, ("", _DONOR, 2, 7))  # and the donor region's windows (see _bits_at)
_TERM_BITS = {
    term: 1 << i
    for i, term in enumerate(
        sorted({w[0] for w in _WINDOWS} | {"splice_donor_5th_base_variant", "intron_variant"})
        + ["splice_donor_region_variant"]
    )
}


def name_snvs(
    maps: Sequence[TranscriptMap],
    coding: Sequence[CodingSequence],
    bases: str,
    start: int,
    build: str,
    variants: Sequence[Variant],
) -> list[tuple[Variant, list[Annotation]]]:
    """(variant, one row per transcript) for each of ``variants`` this path can name on
    every transcript; the others are left out, for the general path. ``bases`` is the locus
    sequence (upper case) from genomic position ``start``; ``coding[i]`` is the coding
    sequence of ``maps[i]`` on it."""
    return rows_of(maps, build, plan_snvs(maps, coding, bases, start, variants))


class Plan(NamedTuple):
    """The SNVs this path names (``variants``) with what each one's position decides on
    each transcript (``sites[i][k]`` for ``variants[k]`` on transcript ``i``)."""

    variants: list[Variant]
    sites: list[list[tuple]]


def plan_snvs(
    maps: Sequence[TranscriptMap],
    coding: Sequence[CodingSequence],
    bases: str,
    start: int,
    variants: Sequence[Variant],
) -> Plan:
    """Which of ``variants`` this path names (the cheap part of :func:`name_snvs`: a caller
    can send the others elsewhere before the rows are made)."""
    candidates = [
        v
        for v in variants
        if len(v.ref) == 1
        and len(v.alt) == 1
        and v.ref in _CODE
        and v.alt in _CODE
        and v.ref != v.alt
        and start <= v.pos < start + len(bases)
        and bases[v.pos - start] == v.ref
    ]
    if not candidates:
        return Plan([], [[] for _ in maps])
    per_map = [_sites(tmap, cds, candidates) for tmap, cds in zip(maps, coding, strict=True)]
    if len(maps) == 1:  # (MANE alone, the usual case: the same, without the inner loops)
        chosen = [k for k, site in enumerate(per_map[0]) if site]
    else:
        chosen = [k for k in range(len(candidates)) if all(sites[k] for sites in per_map)]
    return Plan([candidates[k] for k in chosen], [[sites[k] for k in chosen] for sites in per_map])


def rows_of(
    maps: Sequence[TranscriptMap], build: str, plan: Plan
) -> list[tuple[Variant, list[Annotation]]]:
    """(variant, one row per transcript) of each SNV of ``plan``."""
    if not plan.variants:
        return []
    columns = [
        _rows(tmap, build, plan.variants, sites)
        for tmap, sites in zip(maps, plan.sites, strict=True)
    ]
    if len(maps) == 1:
        return [(v, [row]) for v, row in zip(plan.variants, columns[0], strict=True)]
    return [(v, [rows[i] for rows in columns]) for i, v in enumerate(plan.variants)]


def _sites(tmap: TranscriptMap, cds: CodingSequence, variants: list[Variant]) -> list:
    """Per SNV on one transcript, what its position decides: (exon index, CDS offset,
    codon index, ref codon index, splice bits), or None where the general path must name
    it. Worked out once per position: a base has three SNVs. (Plain Python: numpy's
    import alone cost more than these lookups for every coding SNV of NLRP3.)"""
    t = tmap.transcript
    protein = cds.protein
    usable = (
        cds.cds_length % 3 == 0
        and protein.endswith("*")
        and protein.count("*") == 1
        and "X" not in protein
        and cds.coding[:3] == "ATG"
    )
    if not usable:
        return [None] * len(variants)
    exon_starts = [s for s, _ in t.exons]
    exon_ends = [e for _, e in t.exons]
    tx_starts, cds_tx_start = tmap.exon_tx_starts, tmap.cds_tx_start
    last_codon = len(protein) - 1  # the stop codon (extension), like codon 0 (start loss)
    coding = cds.coding[: cds.cds_length]
    splice = _splice_bits(tmap)
    at: dict[int, tuple | None] = {}
    out = []
    for v in variants:
        pos = v.pos
        if pos in at:
            out.append(at[pos])
            continue
        site = None
        exon = bisect_right(exon_starts, pos) - 1
        if exon >= 0 and pos <= exon_ends[exon]:
            offset = tx_starts[exon] + pos - exon_starts[exon] - cds_tx_start
            codon = offset // 3
            if 1 <= codon < last_codon:
                ref_codon = _CODON_INDEX.get(coding[3 * codon : 3 * codon + 3])
                if ref_codon is not None:
                    site = (exon, offset, codon, ref_codon, splice.get(pos, 0))
        at[pos] = site
        out.append(site)
    return out


def _splice_bits(tmap: TranscriptMap) -> dict[int, int]:
    """The splice terms (bits of ``_TERM_BITS``) of each base the splice windows reach; a
    base outside them has none but intron_variant, which no exonic base has."""
    introns = tmap.introns()
    reached = {
        pos
        for anchors in introns
        for _, side, lo, hi in _REACH
        for pos in range(anchors[side] + lo, anchors[side] + hi + 1)
    }
    return {pos: bits for pos in reached if (bits := _bits_at(introns, pos))}


def _bits_at(introns: tuple[tuple[int, int], ...], pos: int) -> int:
    """The splice and intron terms of the single base ``pos``, as bits of ``_TERM_BITS``."""
    bits = 0
    for anchors in introns:
        for term, side, lo, hi in _WINDOWS:
            if anchors[side] + lo <= pos <= anchors[side] + hi:
                bits |= _TERM_BITS[term]
        donor, acceptor = anchors
        if pos == donor + 4:
            bits |= _TERM_BITS["splice_donor_5th_base_variant"]
        elif donor + 2 <= pos <= donor + 5:
            bits |= _TERM_BITS["splice_donor_region_variant"]
        elif donor + 2 <= pos <= donor + 7:
            bits |= _TERM_BITS["splice_region_variant"]
        if donor + 2 <= pos <= acceptor - 2:
            bits |= _TERM_BITS["intron_variant"]
    return bits


_PROTEIN_TERM = {"=": "synonymous_variant", "*": "stop_gained"}


def _terms(bits: int, protein_term: str) -> tuple[str, str]:
    """(consequence, impact) as the general path writes them."""
    terms = [term for term, bit in _TERM_BITS.items() if bits & bit] + [protein_term]
    ordered = sorted(set(terms), key=lambda term: TERMS[term][0])
    return "&".join(ordered), impact(ordered)


def _rows(
    tmap: TranscriptMap, build: str, variants: list[Variant], sites: list
) -> list[Annotation]:
    """The Annotation rows of the chosen SNVs on one transcript. What a position decides
    (c. position, codon, exon, residue, domain) is formatted once for its three SNVs."""
    t = tmap.transcript
    exons = len(t.exons)
    exon_labels = [f"{i + 1}/{exons}" for i in range(exons)]
    legacy = ["" if n is None else str(n) for n in t.legacy_exon_numbers]
    terms: dict[tuple[int, str], tuple[str, str]] = {}
    places: dict[int, tuple] = {}
    codon_text = [_BASES[i // 16] + _BASES[i // 4 % 4] + _BASES[i % 4] for i in range(64)]
    gene, gene_id, accession = t.gene, t.gene_id, t.accession
    ensembl, protein_id, flags = t.ensembl_id, t.protein_id, ",".join(t.flags)
    c_prefix, g_prefix = f"{accession}:c.", f"{REFSEQ_CHR1[build]}:g."
    spdi_prefix, p_prefix = f"{REFSEQ_CHR1[build]}:", f"{protein_id}:p."
    off = t.uniprot_offset
    new = object.__new__
    set_dict = object.__setattr__
    # (ref codon, frame, new base) -> what the new codon decides: 576 at most
    changes: dict[tuple[int, int, str], tuple[str, str, str, str, str]] = {}
    rows = []
    for v, (e, s, c, rc, b) in zip(variants, sites, strict=True):
        pos, ref, alt = v.pos, v.ref, v.alt
        place = places.get(pos)
        if place is None:
            residue = c + 1
            frame = s % 3
            place = places[pos] = (
                frame,
                {  # the row's fields in the table's order, those of the new base to come
                    "chrom": "",
                    "pos": pos,
                    "ref": ref,
                    "alt": "",
                    "build": build,
                    "gene": gene,
                    "gene_id": gene_id,
                    "transcript": accession,
                    "hgvs_c": "",
                    "hgvs_p": "",
                    "legacy_protein": "",
                    "consequence": "",
                    "impact": "",
                    "exon": exon_labels[e],
                    "intron": "",
                    "legacy_exon": legacy[e],
                    "cds_position": str(s + 1),
                    "protein_position": str(residue),
                    "uniprot_position": str(residue + off),
                    "amino_acids": "",
                    "codons": "",
                    "domain": ";".join(d.name for d in t.domains if d.start <= residue <= d.end),
                    "hgvs_g": "",
                    "spdi": "",
                    "norm_pos": pos,
                    "norm_ref": ref,
                    "norm_alt": "",
                    "ensembl_transcript": ensembl,
                    "protein_id": protein_id,
                    "flags": flags,
                    "ref_mismatch": False,
                    "note": "",
                },
                f"{c_prefix}{s + 1}{ref}>",
                f"{p_prefix}{_THREE[_AMINO_ACIDS[rc]]}{residue}",
                f"{_AMINO_ACIDS[rc]}{residue}",
                f"{g_prefix}{pos}{ref}>",
                f"{spdi_prefix}{pos - 1}:{ref}:",
            )
        frame, template, c_change, p_pos, legacy_pos, g_change, spdi = place
        change = changes.get((rc, frame, alt))
        if change is None:
            ac = rc + (_CODE[alt] - _CODE[ref]) * _WEIGHT[frame]  # the codon with the new base
            ref_aa, alt_aa = _AMINO_ACIDS[rc], _AMINO_ACIDS[ac]
            if alt_aa == ref_aa:
                kind, amino_acids, p_alt, legacy_alt = "=", ref_aa, "=", "="
            elif alt_aa == "*":
                kind, amino_acids, p_alt, legacy_alt = "*", f"{ref_aa}/*", "Ter", "*"
            else:
                kind, amino_acids = "missense_variant", f"{ref_aa}/{alt_aa}"
                p_alt, legacy_alt = _THREE[alt_aa], alt_aa
            ref_lower, alt_lower = codon_text[rc].lower(), codon_text[ac].lower()
            codons = (
                f"{ref_lower[:frame]}{ref}{ref_lower[frame + 1 :]}/"
                f"{alt_lower[:frame]}{alt}{alt_lower[frame + 1 :]}"
            )
            change = changes[(rc, frame, alt)] = (kind, amino_acids, p_alt, legacy_alt, codons)
        kind, amino_acids, p_alt, legacy_alt, codons = change
        named = terms.get((b, kind))
        if named is None:
            named = terms[(b, kind)] = _terms(b, _PROTEIN_TERM.get(kind, kind))
        fields = template.copy()  # (keeps the order; the assignments below replace values)
        fields["chrom"] = v.chrom
        fields["alt"] = alt
        fields["hgvs_c"] = c_change + alt
        fields["hgvs_p"] = p_pos + p_alt
        fields["legacy_protein"] = legacy_pos + legacy_alt
        fields["consequence"], fields["impact"] = named
        fields["amino_acids"] = amino_acids
        fields["codons"] = codons
        fields["hgvs_g"] = g_change + alt
        fields["spdi"] = spdi + alt
        fields["norm_alt"] = alt
        row = new(Annotation)
        set_dict(row, "__dict__", fields)
        rows.append(row)
    return rows
