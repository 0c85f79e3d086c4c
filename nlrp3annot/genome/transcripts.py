"""NLRP3 transcript models beyond the bundled MANE Select: checked against the reference
bases before use, and chosen among.

Models come from a GFF3/GTF annotation (:mod:`nlrp3annot.genome.annotation_files`) or from
Ensembl REST (:mod:`nlrp3annot.genome.ensembl_transcripts`). Either way a model is a draft:
:func:`validate` splices its CDS from the reference, fixes the stop-codon convention (GTF
CDS rows exclude the stop, GFF3 rows include it), refuses anything that does not translate
cleanly, and places the UniProt domains on the protein; :func:`select` and
:func:`pick_order` choose among them. Coordinates are 1-based inclusive; every NLRP3
transcript is on the plus strand of chromosome 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.genome.reference import BUILDS, Domain, Transcript, load_model, mane_transcript
from nlrp3annot.genome.sequence import LocusSequence
from nlrp3annot.naming.protein import translate

GENE = "NLRP3"
ENSEMBL_GENE = "ENSG00000162711"
MANE_SELECT = "MANE_Select"
ENSEMBL_CANONICAL = "Ensembl_canonical"
LRG_STANDARD = "LRG_reference_standard"
# Recorded by validate() when the CDS as given stopped short of its stop codon (GTF style).
STOP_ADDED = "stop_codon_added"
MANE_ACCESSIONS = frozenset({"NM_001243133.2", "ENST00000336119.8"})
LRG_ACCESSIONS = frozenset({"NM_004895.4"})  # LRG_1349t1 (transcript variant 1)
# UniProt Q96P20 starts two residues (MK) before the MANE protein: its canonical isoform
# begins at the upstream ATG of NM_004895.4. The model's uniprot_offset (2) is this length.
UNIPROT_PREFIX = "MK"
STOP_CODONS = frozenset({"TAA", "TAG", "TGA"})
# Chromosome 1 names accepted in an annotation; RefSeq and GenBank names also say the build.
CHR1_NAMES: dict[str, str | None] = {
    "chr1": None,
    "1": None,
    "NC_000001.11": "GRCh38",
    "NC_000001.10": "GRCh37",
    "CM000663.2": "GRCh38",
    "CM000663.1": "GRCh37",
}
# Rows further than this from NLRP3 (on either build) are not parsed: a genome-wide
# annotation has millions of rows, and only the locus matters. Generous, so that a file of
# the other build is still read and then refused with a clear message.
_PARSE_MARGIN = 1_000_000
_GENE_TYPES_SUFFIX = "gene"  # gene, ncRNA_gene, pseudogene
_CHILD_TYPES = frozenset(
    {
        "exon",
        "CDS",
        "start_codon",
        "stop_codon",
        "five_prime_UTR",
        "three_prime_UTR",
        "UTR",
        "5UTR",
        "3UTR",
    }
)
CACHE_FORMAT = "nlrp3annot-transcripts"
CACHE_VERSION = 1

_GTF_PAIR = re.compile(r'\s*([^\s=;"]+)\s+(?:"([^"]*)"|([^;\s"]+))\s*(?:;|$)')
_LOOKS_GFF3 = re.compile(r'[^\s=;"]+=')
_LOOKS_GTF = re.compile(r'[^\s=;"]+\s+\S')


# --------------------------------------------------------------------------- drafts


def _versioned(identifier: str, version: str) -> str:
    """Ensembl files give the version separately; the accession carries it (ENST...8)."""
    if identifier and version and "." not in identifier:
        return f"{identifier}.{version}"
    return identifier


def _draft_transcript(
    *,
    accession: str,
    ensembl_id: str,
    protein_id: str,
    gene_id: str,
    build: str,
    exons: Iterable[tuple[int, int]],
    cds_start: int,
    cds_end: int,
    tags: Iterable[str] = (),
) -> Transcript:
    """A Transcript before validation: flags from tags and known accessions, no protein."""
    exons = tuple((int(s), int(e)) for s, e in exons)
    model = load_model()
    names = {tag.replace(" ", "_") for tag in tags}  # NCBI writes "MANE Select"
    flags = []
    if MANE_SELECT in names or accession in MANE_ACCESSIONS:
        flags.append(MANE_SELECT)
    if ENSEMBL_CANONICAL in names:
        flags.append(ENSEMBL_CANONICAL)
    if accession in LRG_ACCESSIONS:
        flags.append(LRG_STANDARD)
    if accession.startswith("ENST"):
        ensembl_id = accession
    elif not ensembl_id and accession == model["transcript"]:
        ensembl_id = model["ensembl_transcript"]
    # Legacy (CAPS literature) exon numbers are defined for the MANE exon structure only.
    mane = mane_transcript(build)
    same_as_mane = accession in (mane.accession, mane.ensembl_id) and exons == mane.exons
    legacy = mane.legacy_exon_numbers if same_as_mane else (None,) * len(exons)
    return Transcript(
        accession=accession,
        ensembl_id=ensembl_id,
        protein_id=protein_id,
        gene=GENE,
        gene_id=gene_id,
        build=build,
        chrom="chr1",
        exons=exons,
        cds_start=int(cds_start),
        cds_end=int(cds_end),
        protein="",
        domains=(),
        legacy_exon_numbers=legacy,
        flags=tuple(flags),
        uniprot_offset=0,
    )


# --------------------------------------------------------------------------- validation


def validate(transcript: Transcript, seq: LocusSequence) -> tuple[Transcript | None, str]:
    """Check a model against the reference bases and complete it.

    Returns ``(transcript, "")`` with the protein (without stop), the stop codon included in
    ``cds_end`` and the domains placed; or ``(None, reason)``, one line naming the accession.
    """
    acc = transcript.accession
    if seq.build != transcript.build:
        return None, f"{acc}: model is on {transcript.build} but the sequence is {seq.build}"
    exons = transcript.exons
    if not exons:
        return None, f"{acc}: has no exons"
    for (_, end), (start, _) in zip(exons, exons[1:], strict=False):
        if start <= end:
            return None, f"{acc}: exons overlap or are not in genomic order"
    first = _tx_index(exons, transcript.cds_start)
    last = _tx_index(exons, transcript.cds_end)
    if first is None or last is None or last < first:
        return None, (
            f"{acc}: CDS {transcript.cds_start}-{transcript.cds_end} does not lie in its exons"
        )
    spliced = "".join(seq.get(start, end) for start, end in exons)
    cds = spliced[first : last + 1]
    if set(cds) - set("ACGT"):
        return None, (
            f"{acc}: the reference ({seq.source}) has unknown bases in the CDS "
            f"chr1:{transcript.cds_start}-{transcript.cds_end}"
        )
    flags = transcript.flags
    following = spliced[last + 1 : last + 4]
    # GTF CDS rows (and some REST answers) stop before the stop codon; take it in when the
    # next three transcript bases are one, whichever exons they lie in.
    if len(cds) % 3 == 0 and cds[-3:] not in STOP_CODONS and following in STOP_CODONS:
        cds += following
        last += 3
        flags = (*flags, STOP_ADDED) if STOP_ADDED not in flags else flags
    if len(cds) % 3:
        return None, f"{acc}: CDS length {len(cds)} is not a multiple of 3"
    if not cds.startswith("ATG"):
        return None, f"{acc}: CDS starts with {cds[:3]}, not ATG"
    if cds[-3:] not in STOP_CODONS:
        return None, f"{acc}: CDS ends with {cds[-3:]}, not a stop codon"
    protein = translate(cds, to_stop=False)
    if "*" in protein[:-1]:
        return None, f"{acc}: internal stop codon at codon {protein.index('*') + 1}"
    protein = protein[:-1]
    domains, offset = place_domains(protein)
    return (
        replace(
            transcript,
            cds_end=_genomic(exons, last),
            protein=protein,
            domains=domains,
            flags=flags,
            uniprot_offset=offset,
        ),
        "",
    )


def _tx_index(exons: tuple[tuple[int, int], ...], pos: int) -> int | None:
    """0-based offset of genomic ``pos`` in the spliced transcript; None if intronic/outside."""
    offset = 0
    for start, end in exons:
        if start <= pos <= end:
            return offset + pos - start
        offset += end - start + 1
    return None


def _genomic(exons: tuple[tuple[int, int], ...], index: int) -> int:
    """Genomic position of spliced offset ``index`` (which validate knows is inside)."""
    for start, end in exons:
        if index <= end - start:
            return start + index
        index -= end - start + 1
    raise ValueError("offset beyond the transcript")


def uniprot_sequence() -> str:
    """UniProt Q96P20 (canonical isoform): the MANE protein after two more residues."""
    return UNIPROT_PREFIX + load_model()["protein"]


def place_domains(protein: str) -> tuple[tuple[Domain, ...], int]:
    """Domains in ``protein`` numbering, and where ``protein`` starts in UniProt (0-based).

    A protein that is not a stretch of Q96P20 (another splice form) gets no domains: placing
    them by residue number would put them on the wrong residues.
    """
    index = uniprot_sequence().find(protein) if protein else -1
    if index < 0:
        return (), 0
    domains = []
    for d in load_model()["domains"]:
        start = max(d["uniprot_start"] - index, 1)
        end = min(d["uniprot_end"] - index, len(protein))
        if start <= end:
            # UniProt numbering stays the feature's own, as in the bundled model (PYD 1-93
            # on the MANE protein is residues 1-91): it names the feature, not the overlap.
            domains.append(Domain(d["name"], start, end, d["uniprot_start"], d["uniprot_end"]))
    return tuple(domains), index


# --------------------------------------------------------------------------- choosing


def select(transcripts: Iterable[Transcript], spec: str) -> list[Transcript]:
    """The transcripts ``spec`` asks for: "mane", "all", or comma-separated accessions
    (RefSeq or Ensembl, version optional). Raises Nlrp3AnnotError for an unknown accession
    or when "mane" finds no MANE Select transcript."""
    available = list(transcripts)
    wanted = spec.strip()
    if wanted.lower() == "all":
        return available
    if wanted.lower() == "mane":
        chosen = [t for t in available if MANE_SELECT in t.flags]
        if not chosen:
            raise Nlrp3AnnotError(
                f"no MANE Select transcript among {_names(available)}; "
                "choose 'all' or name the accessions"
            )
        return chosen
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    if not names:
        raise Nlrp3AnnotError(
            f"empty transcript choice {spec!r}; use 'mane', 'all' or accessions "
            f"({_names(available)})"
        )
    chosen, taken, unknown = [], set(), []
    for name in names:
        matches = [t for t in available if _matches(t, name)]
        if not matches:
            unknown.append(name)
        for t in matches:
            if id(t) not in taken:
                taken.add(id(t))
                chosen.append(t)
    if unknown:
        raise Nlrp3AnnotError(
            f"unknown NLRP3 transcript {', '.join(unknown)}; available: {_names(available)} "
            "(give a GFF3/GTF that has it with --gff)"
        )
    return chosen


def _matches(t: Transcript, name: str) -> bool:
    """``name`` is the accession (or Ensembl id) of ``t``, with or without the version."""
    name = name.upper()
    ids = [i.upper() for i in (t.accession, t.ensembl_id) if i]
    if "." in name:
        return name in ids
    return any(i.split(".")[0] == name for i in ids)


def _names(transcripts: list[Transcript]) -> str:
    return ", ".join(t.accession for t in sorted(transcripts, key=pick_order)) or "none"


def cds_length(t: Transcript) -> int:
    """Coding bases in the exons, stop codon included."""
    return sum(max(0, min(end, t.cds_end) - max(start, t.cds_start) + 1) for start, end in t.exons)


def pick_order(t: Transcript) -> tuple[bool, bool, int, str]:
    """Sort key for VEP-like --pick: MANE Select, then the LRG reference standard
    (NM_004895.4), then the longest CDS, then the accession."""
    return (MANE_SELECT not in t.flags, LRG_STANDARD not in t.flags, -cds_length(t), t.accession)


# --------------------------------------------------------------------------- helpers


def _check_build(build: str) -> None:
    if build not in BUILDS:
        raise ValueError(f"unknown build {build!r}; expected one of {BUILDS}")


def _one_line(exc: BaseException | str) -> str:
    """Collapse a message to one line: the CLI prints errors as a single stderr line."""
    return " ".join(str(exc).split())


def _short(text: object, limit: int = 120) -> str:
    line = _one_line(str(text))
    return line if len(line) <= limit else line[: limit - 3] + "..."
