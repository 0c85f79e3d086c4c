"""Find a known variant by the name an old report used: ``R260W``, ``p.Arg262Trp`` on
NM_004895.4, ``NP_001230062.1:p.Arg260Trp`` or ``c.907G>A``. Answers come from the bundled
(or updated) ClinVar table, with the variant placed on both builds."""

from __future__ import annotations

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.genome.reference import GRCH37_OFFSET
from nlrp3annot.naming.legacy import (
    MANE_PROTEIN,
    MANE_TRANSCRIPT,
    UNIPROT_OFFSET,
    legacy_protein,
    parse_protein,
    to_mane_numbering,
)

LOOKUP_COLUMNS = [
    "query",
    "clinvar_id",
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
]


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


def lookup(query: str, transcript: str | None = None, table=None) -> list[dict[str, object]]:
    """Known variants matching ``query``; [] when ClinVar has none."""
    from nlrp3annot.knowledge.clinvar import load_clinvar

    table = table or load_clinvar()
    text = query.strip()
    if "c." in text:
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
            raise Nlrp3AnnotError(str(exc)) from None
        mane = to_mane_numbering(position, accession, transcript)
        records = table.by_protein(f"{MANE_PROTEIN}:p.{ref}{mane}{alt}")
    out = []
    for r in records:
        pos0, deleted, inserted = r.spdi
        out.append(
            {
                "query": query,
                "clinvar_id": str(r.variation_id),
                "hgvs_c": f"{MANE_TRANSCRIPT}:{r.hgvs_c}",
                "hgvs_p": f"{MANE_PROTEIN}:{r.hgvs_p}" if r.hgvs_p else "",
                "legacy_protein": legacy_protein(r.hgvs_p),
                "hgvs_p_uniprot": _uniprot_name(r.hgvs_p),
                "grch38": _genomic(pos0, deleted, inserted, 0),
                "grch37": _genomic(pos0, deleted, inserted, GRCH37_OFFSET),
                "spdi": f"NC_000001.11:{pos0}:{deleted}:{inserted}",
                "clinvar_significance": r.significance,
                "clinvar_review": r.review_status,
                "conditions": r.conditions,
            }
        )
    return out
