"""Find a known variant by the name an old report used: ``R260W``, ``p.Arg262Trp`` on
NM_004895.4, ``NP_001230062.1:p.Arg260Trp`` or ``c.907G>A``, or by its dbSNP ID
(``rs121908150``: the records ClinVar gives that ID). Answers come from the bundled
(or updated) ClinVar table, with the variant placed on both builds.

A legacy protein name can mean more than one ClinVar record, because ClinVar names each
change against the reference sequence, and at some sites the reference carries the minor
allele (``reference/reference_minor_alleles.tsv``: c.780A, rs4925543, in codon 260). A report
names the patient's own codon, and almost every patient carries the common allele there. So
every record is listed that gives the queried change either as ClinVar names it or on the
common haplotype, ordered by how often reports mean it (reference/KNOWLEDGE.md, "Which record
a legacy name means"):

1. records that give the change on the common haplotype (the codon almost every patient
   has), before records that give it only on the reference codon (which needs the minor
   allele in cis);
2. then by ClinVar's review status (more stars first);
3. then by VariationID.

For R260W this lists c.778C>T (VariationID 4374, ClinVar: p.Arg260Ter on the reference's CGA;
with the common c.780G the codon is TGG, Trp) before c.778_780delinsTGG (1701129). Each row's
``context`` says in one line how the record reads on the common haplotype.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.genome.reference import GRCH37_OFFSET, data_file
from nlrp3annot.naming.legacy import (
    _THREE,
    MANE_PROTEIN,
    MANE_TRANSCRIPT,
    UNIPROT_OFFSET,
    legacy_protein,
    parse_protein,
    to_mane_numbering,
)
from nlrp3annot.naming.protein import translate

MINOR_ALLELE_FILE = "reference_minor_alleles.tsv"
# ClinVar's review status -> stars (ClinVar's "review status" documentation).
REVIEW_STARS = {
    "practice guideline": 4,
    "reviewed by expert panel": 3,
    "criteria provided, multiple submitters, no conflicts": 2,
    "criteria provided, conflicting classifications": 1,
    "criteria provided, conflicting interpretations": 1,
    "criteria provided, single submitter": 1,
}
_DBSNP = re.compile(r"^rs\d+$", re.IGNORECASE)
_CODING = re.compile(r"^c\.(\d+)(?:_(\d+))?(?:([ACGT]+)>([ACGT]+)|delins([ACGT]+))$")

LOOKUP_COLUMNS = [
    "query",
    "clinvar_id",
    "dbsnp",
    "hgvs_c",
    "hgvs_p",
    "legacy_protein",
    "hgvs_p_uniprot",
    "grch38",
    "grch37",
    "spdi",
    "clinvar_significance",
    "clinvar_review",
    "conditions",
    "hgvs_p_common_haplotype",
    "context",
]


class MinorSite(NamedTuple):
    """A codon position where the reference carries the minor allele."""

    grch38_pos: int
    c_position: int
    reference: str
    common: str
    dbsnp: str
    codon: int
    reference_codon: str
    first_codon_base: int  # c. position of the codon's first base

    @property
    def common_codon(self) -> str:
        i = self.c_position - self.first_codon_base
        return self.reference_codon[:i] + self.common + self.reference_codon[i + 1 :]


@cache
def minor_sites() -> tuple[MinorSite, ...]:
    """The bundled reference-minor-allele sites (reference/reference_minor_alleles.tsv)."""
    lines = [
        line
        for line in data_file(MINOR_ALLELE_FILE).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    out = []
    for line in lines[1:]:
        f = line.split("\t")
        out.append(MinorSite(int(f[0]), int(f[1]), f[2], f[3], f[4], int(f[5]), f[6], int(f[7])))
    return tuple(out)


def common_alleles_at_minor_sites() -> frozenset[tuple[str, int, str, str]]:
    """(build, position, REF, ALT) of each population-common allele at a site where the
    reference carries the minor one, on both builds: c.780A>G is chr1:247424229 A>G on GRCh38.
    NLRP3 is on the forward strand, so the table's coding bases are the genome's."""
    return frozenset(
        (build, site.grch38_pos + shift, site.reference, site.common)
        for site in minor_sites()
        for build, shift in (("GRCh38", 0), ("GRCh37", GRCH37_OFFSET))
    )


class Reading(NamedTuple):
    """How one record reads on the common haplotype of a codon with a reference-minor site."""

    site: MinorSite
    common_p: str  # p. name on the common haplotype, "" if the record does not apply there
    codon: str  # the codon the record's change makes (on the common haplotype, or reference)
    common_c: str  # the change from the common codon to ``codon``


def _codon_change(hgvs_c: str, deleted: str) -> tuple[int, int, str, str] | None:
    """(first, last c. position, reference bases, new bases) of a coding SNV or delins."""
    m = _CODING.match(hgvs_c)
    if m is None:
        return None
    first = int(m.group(1))
    last = int(m.group(2) or first)
    if m.group(3):
        return first, last, m.group(3), m.group(4)
    return first, last, deleted, m.group(5)


def reading(record) -> Reading | None:
    """How ``record`` reads in a codon whose reference carries a minor allele, else None."""
    change = _codon_change(record.hgvs_c, record.spdi[1])
    if change is None:
        return None
    first, last, ref, alt = change
    for site in minor_sites():
        lo = site.first_codon_base
        if not (lo <= first and last <= lo + 2) or len(ref) != len(alt):
            continue
        i, j = first - lo, last - lo + 1
        ref_codon, common_codon = site.reference_codon, site.common_codon
        if ref_codon[i:j] != ref:
            return None  # not the table's reference: leave it alone
        if common_codon[i:j] == ref:  # the record applies as written to the common codon
            codon = common_codon[:i] + alt + common_codon[j:]
        else:  # it rewrites the minor site itself: only the reference codon has its REF
            codon = ref_codon[:i] + alt + ref_codon[j:]
        common_p = ""
        if common_codon[i:j] == ref:
            before, after = translate(common_codon), translate(codon)
            aa = _THREE.get(before, before)
            common_p = f"p.{aa}{site.codon}{'=' if before == after else _THREE.get(after, after)}"
        diff = [k for k in range(3) if codon[k] != common_codon[k]]
        if not diff:
            common_c = ""
        elif len(diff) == 1:
            k = diff[0]
            common_c = f"c.{lo + k}{common_codon[k]}>{codon[k]}"
        else:
            a, b = diff[0], diff[-1]
            common_c = f"c.{lo + a}_{lo + b}delins{codon[a : b + 1]}"
        return Reading(site, common_p, codon, common_c)
    return None


def _context(record, read: Reading | None) -> str:
    """One line: how ClinVar's name relates to the codon most patients carry."""
    if read is None:
        return ""
    site = read.site
    minor = f"the reference's c.{site.c_position}{site.reference} ({site.dbsnp} minor allele)"
    common = f"the common c.{site.c_position}{site.common}"
    if read.common_p and read.common_p != record.hgvs_p:
        return (
            f"ClinVar names {record.hgvs_c} {record.hgvs_p} against {minor}; most patients "
            f"also carry {common}, making codon {site.codon} {read.codon}: {read.common_p} "
            f"({legacy_protein(read.common_p)})"
        )
    if read.common_p:
        return f"{record.hgvs_p} on the reference and on {common} alike"
    if read.common_c:
        return (
            f"ClinVar's {record.hgvs_c} ({record.hgvs_p}) is written against {minor}; on "
            f"{common}, which most patients carry, codon {site.codon} {read.codon} is "
            f"{read.common_c} alone"
        )
    return f"ClinVar's {record.hgvs_c} restores {common}: no protein change for most patients"


def _stars(review_status: str) -> int:
    return REVIEW_STARS.get(review_status.strip().lower(), 0)


def review_stars(review_status: str) -> int | None:
    """ClinVar's stars for a review status (0 for the no-criteria ones); None when ClinVar's
    status is not given."""
    return _stars(review_status) if review_status.strip() else None


def context_line(record) -> str:
    """How a ClinVar record's name reads on the codon most patients carry ('' where the
    reference carries the common allele): the line ``lookup`` prints for R260W."""
    return _context(record, reading(record))


def _genomic(pos0: int, deleted: str, inserted: str, shift: int) -> str:
    """chr1:POS:REF:ALT where REF/ALT need no anchor base, else the SPDI-style interval."""
    if deleted and inserted:
        return f"chr1:{pos0 + 1 + shift}:{deleted}:{inserted}"
    return (
        f"chr1:{pos0 + shift}-{pos0 + 1 + shift + len(deleted)} (SPDI {deleted or '-'}>"
        f"{inserted or '-'})"
    )


def _uniprot_name(hgvs_p: str) -> str:
    import re

    match = re.match(r"^p\.([A-Z][a-z]{2})(\d+)(.*)$", hgvs_p)
    if not match:
        return ""
    return f"NP_004886.3:p.{match.group(1)}{int(match.group(2)) + UNIPROT_OFFSET}{match.group(3)}"


def is_dbsnp_id(query: str) -> bool:
    """Is ``query`` a dbSNP ID (rs121908150)?"""
    return bool(_DBSNP.match(query.strip()))


def lookup(query: str, transcript: str | None = None, table=None) -> list[dict[str, object]]:
    """Known variants matching ``query``; [] when ClinVar has none."""
    from nlrp3annot.knowledge.clinvar import load_clinvar

    table = table or load_clinvar()
    text = query.strip()
    wanted = None
    if _DBSNP.match(text):  # the dbsnp column lookup prints, looked up the other way
        wanted_id = text.lower()
        records = sorted(
            (r for r in table.records() if r.dbsnp.lower() == wanted_id),
            key=lambda r: (-_stars(r.review_status), r.variation_id),
        )
    elif "c." in text:
        accession, _, body = text.rpartition(":")
        named = accession or transcript
        if named and not named.startswith(MANE_TRANSCRIPT.split(".")[0]):
            raise Nlrp3AnnotError(
                f"{query}: c. lookups take {MANE_TRANSCRIPT} names (other transcripts need "
                "their own model: annotate with --gff)"
            )
        records = [r for r in table.records() if r.hgvs_c == body]
    else:
        try:
            accession, ref, position, alt = parse_protein(text)
        except ValueError as exc:
            raise Nlrp3AnnotError(
                f"{exc}; lookup also takes c. names (c.778C>T) and dbSNP IDs (rs121908150)"
            ) from None
        mane = to_mane_numbering(position, accession, transcript)
        wanted = f"p.{ref}{mane}{alt}"
        records = _by_meaning(table, wanted)
    out = []
    for r in records:
        pos0, deleted, inserted = r.spdi
        read = reading(r)
        common_p = read.common_p if read and read.common_p != r.hgvs_p else ""
        # the protein change this row stands for: the query's, or (a c. query) the common one
        meant = common_p if common_p and wanted in (None, common_p) else r.hgvs_p
        out.append(
            {
                "query": query,
                "clinvar_id": str(r.variation_id),
                "dbsnp": r.dbsnp,
                "hgvs_c": f"{MANE_TRANSCRIPT}:{r.hgvs_c}",
                "hgvs_p": f"{MANE_PROTEIN}:{r.hgvs_p}" if r.hgvs_p else "",
                "legacy_protein": legacy_protein(meant),
                "hgvs_p_uniprot": _uniprot_name(meant),
                "grch38": _genomic(pos0, deleted, inserted, 0),
                "grch37": _genomic(pos0, deleted, inserted, GRCH37_OFFSET),
                "spdi": f"NC_000001.11:{pos0}:{deleted}:{inserted}",
                "clinvar_significance": r.significance,
                "clinvar_review": r.review_status,
                "conditions": r.conditions,
                "hgvs_p_common_haplotype": f"{MANE_PROTEIN}:{common_p}" if common_p else "",
                "context": _context(r, read),
            }
        )
    return out


def _by_meaning(table, wanted: str) -> list:
    """Records that give the protein change ``wanted`` (``p.Arg260Trp``), as ClinVar names
    them or on the common haplotype, in the order reports mean them (see the module doc)."""
    found = {r.variation_id: r for r in table.by_protein(f"{MANE_PROTEIN}:{wanted}")}
    for record in table.records():
        if record.variation_id not in found:
            read = reading(record)
            if read is not None and read.common_p == wanted:
                found[record.variation_id] = record

    def key(record) -> tuple[int, int, int]:
        read = reading(record)
        on_common = read is None or read.common_p == wanted
        return (0 if on_common else 1, -_stars(record.review_status), record.variation_id)

    return sorted(found.values(), key=key)
