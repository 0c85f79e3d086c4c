"""Legacy protein names as CAPS papers and registries write them, and their parsing. Pure.

Papers write single-letter changes in MANE numbering (R260W, D303N, T348M, A439V); UniProt
Q96P20 and its RefSeq twin NP_004886.3 (transcript NM_004895.4, the LRG_197 reference
standard) count two residues more (R262W). ``p.`` HGVS names convert both ways.
"""

from __future__ import annotations

import re

from Bio.Data.IUPACData import protein_letters_1to3

_ONE = {three: one for one, three in protein_letters_1to3.items()}
_ONE.update({"Ter": "*", "Xaa": "X", "Sec": "U"})
_THREE = {one: three for three, one in _ONE.items()}
_THREE_RE = re.compile("|".join(sorted(_ONE, key=len, reverse=True)))

# Proteins whose numbering is UniProt Q96P20 (= MANE + 2)
UNIPROT_NUMBERED = ("NP_004886.3", "NM_004895.4", "Q96P20", "LRG_197", "uniprot")
MANE_PROTEIN = "NP_001230062.1"
MANE_TRANSCRIPT = "NM_001243133.2"
UNIPROT_OFFSET = 2


def legacy_protein(hgvs_p: str) -> str:
    """``NP_001230062.1:p.Arg260Trp`` -> ``R260W``; Ter is ``*``; '' for no protein change."""
    body = hgvs_p.split(":")[-1]
    if not body.startswith("p.") or body in ("p.?", "p.=", ""):
        return ""
    return _THREE_RE.sub(lambda m: _ONE[m.group(0)], body[2:])


_SIMPLE = re.compile(
    r"^(?:(?P<acc>[A-Za-z_0-9.]+):)?(?:p\.)?\(?(?P<ref>[A-Z](?:[a-z]{2})?)(?P<pos>\d+)"
    r"(?P<alt>[A-Z*](?:[a-z]{2})?|=|X|fs.*|del|dup)?\)?$"
)


def parse_protein(query: str) -> tuple[str | None, str, int, str]:
    """(accession or None, ref 3-letter, position, alt 3-letter/'='/'') of ``R260W``,
    ``p.Arg262Trp``, ``NP_004886.3:p.(Arg262Trp)``; ValueError when it is not one."""
    m = _SIMPLE.match(query.strip())
    if not m:
        raise ValueError(f"{query!r} is not a protein change like R260W or p.Arg260Trp")

    def three(aa: str) -> str:
        if len(aa) == 3 and aa in _ONE:
            return aa
        if len(aa) == 1 and aa in _THREE:
            return _THREE[aa]
        if aa == "X":
            return "Ter"
        raise ValueError(f"{aa!r} in {query!r} is not an amino acid")

    alt = m.group("alt") or ""
    if alt and alt not in ("=", "del", "dup") and not alt.startswith("fs"):
        alt = three(alt)
    return m.group("acc"), three(m.group("ref")), int(m.group("pos")), alt


def to_mane_numbering(position: int, accession: str | None, transcript: str | None) -> int:
    """A residue number on the named protein/transcript, converted to MANE numbering."""
    named = " ".join(x for x in (accession, transcript) if x)
    if any(key.lower() in named.lower() for key in UNIPROT_NUMBERED):
        return position - UNIPROT_OFFSET
    return position
