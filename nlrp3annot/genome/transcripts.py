"""NLRP3 transcript models beyond the bundled MANE Select: from a GFF3/GTF annotation or
from Ensembl REST, checked against the reference bases before use.

A model read here is a draft: :func:`validate` splices its CDS from the reference, fixes the
stop-codon convention (GTF CDS rows exclude the stop, GFF3 rows include it), refuses anything
that does not translate cleanly, and places the UniProt domains on the protein. Coordinates
are 1-based inclusive; every NLRP3 transcript is on the plus strand of chromosome 1.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:  # requests costs start-up time; only the download path needs it
    import requests

from nlrp3annot.errors import FetchError, InputFileError, Nlrp3AnnotError, RecordError
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


# --------------------------------------------------------------------------- reading files


@dataclass
class _Row:
    line: int
    seqid: str
    type: str
    start: int
    end: int
    strand: str
    attrs: dict[str, list[str]]

    def first(self, *keys: str) -> str:
        """The first value of the first key present, '' if none."""
        for key in keys:
            values = self.attrs.get(key)
            if values and values[0]:
                return values[0]
        return ""


@dataclass
class _Draft:
    """One transcript gathered from its rows, before it becomes a Transcript."""

    accession: str
    line: int  # first row of the transcript, for messages
    gene_id: str = ""
    protein_id: str = ""
    ensembl_id: str = ""
    rows: list[_Row] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


def read_annotation(path: str | Path, build: str) -> list[Transcript]:
    """Every protein-coding NLRP3 transcript in a GFF3 or GTF file (plain or gzip), on ``build``.

    The models are drafts: ``protein`` is empty and ``domains`` unset until :func:`validate`.
    Raises :class:`InputFileError` for a missing/unreadable file or one without NLRP3, and
    :class:`RecordError` (naming the line) for a malformed row or a minus-strand NLRP3 row.
    """
    _check_build(build)
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file", "check the annotation (GFF3/GTF) path")
    try:
        fmt, rows = _read_rows(path)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputFileError(
            path,
            f"cannot be read as a GFF3/GTF file: {_one_line(exc)}",
            "give a plain or gzip-compressed GFF3 or GTF",
        ) from None
    drafts = _gtf_drafts(rows) if fmt == "gtf" else _gff3_drafts(rows)
    transcripts = [t for d in drafts if (t := _finish(d, build, path)) is not None]
    if not transcripts:
        raise InputFileError(
            path,
            "has no NLRP3 transcript",
            "expected protein-coding NLRP3 rows (gene NLRP3 / ENSG00000162711) with exon and "
            "CDS features on chromosome 1 (chr1, 1 or NC_000001.x)",
        )
    return transcripts


def _read_rows(path: Path) -> tuple[str, list[_Row]]:
    """Check every row's columns; parse the attributes of the rows near NLRP3."""
    lo, hi = _parse_window()
    fmt = ""
    rows: list[_Row] = []
    for n, line in _lines(path):
        if not line.strip() or line.startswith("#"):
            if line.startswith("##FASTA"):
                break  # GFF3 may end with sequences; no features follow
            continue
        cols = line.split("\t")
        if len(cols) != 9:
            raise RecordError(
                path, f"line {n}", f"has {len(cols)} tab-separated columns, GFF3/GTF has 9"
            )
        seqid, _source, ftype, start_text, end_text, _score, strand, _phase, attr_text = cols
        try:
            start, end = int(start_text), int(end_text)
        except ValueError:
            raise RecordError(
                path, f"line {n}", f"start/end {start_text!r}/{end_text!r} are not integers"
            ) from None
        if start < 1 or end < start:
            raise RecordError(path, f"line {n}", f"start {start} and end {end} are not a range")
        if strand not in ("+", "-", ".", "?"):
            raise RecordError(path, f"line {n}", f"strand {strand!r} is not +, -, . or ?")
        if seqid not in CHR1_NAMES or end < lo or start > hi or attr_text.strip() in ("", "."):
            continue
        if not fmt:
            fmt = _sniff(attr_text)
            if not fmt:
                raise RecordError(
                    path,
                    f"line {n}",
                    'attributes are neither GFF3 (key=value) nor GTF (key "value")',
                )
        parse = _gtf_attributes if fmt == "gtf" else _gff3_attributes
        try:
            attrs = parse(attr_text)
        except ValueError as exc:
            raise RecordError(path, f"line {n}", f"{exc} ({fmt.upper()} attributes)") from None
        rows.append(_Row(n, seqid, ftype, start, end, strand, attrs))
    return fmt, rows


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a plain or gzip text file (told apart by the gzip magic bytes)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener: Callable = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            yield n, line.rstrip("\r\n")


def _parse_window() -> tuple[int, int]:
    """Rows outside this span of chromosome 1 cannot belong to NLRP3 on either build."""
    model = load_model()["builds"]
    lo = min(int(b["gene_start"]) for b in model.values())
    hi = max(int(b["gene_end"]) for b in model.values())
    return lo - _PARSE_MARGIN, hi + _PARSE_MARGIN


def _sniff(attr_text: str) -> str:
    """'gff3' for key=value attributes, 'gtf' for key "value", '' for neither."""
    text = attr_text.strip()
    if _LOOKS_GFF3.match(text):
        return "gff3"
    if _LOOKS_GTF.match(text):
        return "gtf"
    return ""


def _gff3_attributes(text: str) -> dict[str, list[str]]:
    """GFF3 column 9: ``key=v1,v2;key2=v`` with %-escapes."""
    attrs: dict[str, list[str]] = {}
    for part in text.strip().split(";"):
        part = part.strip()
        if not part:
            continue  # a trailing ';' is common
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"attribute {part[:40]!r} is not key=value")
        attrs.setdefault(unquote(key.strip()), []).extend(unquote(v) for v in value.split(","))
    return attrs


def _gtf_attributes(text: str) -> dict[str, list[str]]:
    """GTF column 9: ``key "value"; key2 "value";`` (a key may repeat, e.g. tag)."""
    attrs: dict[str, list[str]] = {}
    text = text.strip()
    pos = 0
    while pos < len(text):
        match = _GTF_PAIR.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f'cannot read key "value" at {text[pos : pos + 40]!r}')
        value = match[2] if match[2] is not None else match[3]
        attrs.setdefault(match[1], []).append(value)
        pos = match.end()
        while pos < len(text) and text[pos] in " ;":
            pos += 1
    return attrs


def _is_nlrp3(row: _Row) -> bool:
    """The row names the NLRP3 gene (symbol or Ensembl gene id, any version)."""
    for key in ("gene_name", "gene", "Name"):
        if GENE in row.attrs.get(key, ()):
            return True
    ids = [*row.attrs.get("gene_id", ()), *row.attrs.get("ID", ())]
    return any(_strip_prefix(i).split(".")[0] == ENSEMBL_GENE for i in ids)


def _strip_prefix(identifier: str) -> str:
    """``gene:ENSG..`` -> ``ENSG..``; ``rna-NM_..`` -> ``NM_..`` (Ensembl / NCBI GFF3 IDs)."""
    if ":" in identifier and identifier.split(":", 1)[0] in ("gene", "transcript", "CDS"):
        return identifier.split(":", 1)[1]
    for prefix in ("rna-", "gene-", "cds-"):
        if identifier.startswith(prefix):
            return identifier[len(prefix) :]
    return identifier


def _versioned(identifier: str, version: str) -> str:
    """Ensembl files give the version separately; the accession carries it (ENST...8)."""
    if identifier and version and "." not in identifier:
        return f"{identifier}.{version}"
    return identifier


def _gff3_drafts(rows: list[_Row]) -> list[_Draft]:
    """Genes named NLRP3 -> their transcripts (by Parent) -> exon/CDS rows (by Parent)."""
    genes = {
        row.first("ID"): row
        for row in rows
        if row.type.endswith(_GENE_TYPES_SUFFIX) and row.first("ID") and _is_nlrp3(row)
    }
    drafts: dict[str, _Draft] = {}
    for row in rows:
        tid = row.first("ID")
        if not tid or row.type.endswith(_GENE_TYPES_SUFFIX) or row.type in _CHILD_TYPES:
            continue
        parents = [genes[p] for p in row.attrs.get("Parent", ()) if p in genes]
        # Without a gene row (a filtered file), NCBI transcripts still name their gene.
        named = GENE in row.attrs.get("gene", ()) or GENE in row.attrs.get("gene_name", ())
        if not parents and not named:
            continue
        gene = parents[0] if parents else None
        accession = _versioned(
            row.first("transcript_id") or _strip_prefix(tid), row.first("version")
        )
        draft = _Draft(accession, row.line, rows=[row])
        draft.gene_id = _gene_id(gene) if gene else ""
        draft.ensembl_id = _ensembl_xref(row)
        draft.tags.update(row.attrs.get("tag", ()))
        drafts[tid] = draft
    for row in rows:
        if row.type not in _CHILD_TYPES:
            continue
        for parent in row.attrs.get("Parent", ()):
            if parent in drafts:
                drafts[parent].rows.append(row)
                if row.type == "CDS" and not drafts[parent].protein_id:
                    drafts[parent].protein_id = _versioned(
                        row.first("protein_id"), row.first("protein_version")
                    )
    return list(drafts.values())


def _gene_id(gene: _Row) -> str:
    """Ensembl gene id with version when known, else the NCBI GeneID cross-reference."""
    gene_id = _strip_prefix(gene.first("gene_id") or gene.first("ID"))
    if gene_id.startswith("ENSG"):
        return _versioned(gene_id, gene.first("version", "gene_version"))
    for xref in gene.attrs.get("Dbxref", ()):
        if xref.startswith("GeneID:"):
            return xref
    return gene_id


def _ensembl_xref(row: _Row) -> str:
    """NCBI rows of MANE transcripts cross-reference their Ensembl twin (Dbxref Ensembl:ENST)."""
    for xref in row.attrs.get("Dbxref", ()):
        if xref.startswith("Ensembl:ENST"):
            return xref.split(":", 1)[1]
    return ""


def _gtf_drafts(rows: list[_Row]) -> list[_Draft]:
    """GTF rows carry gene and transcript ids themselves: group NLRP3 rows by transcript_id."""
    drafts: dict[str, _Draft] = {}
    for row in rows:
        tid = row.first("transcript_id")
        if not tid or not _is_nlrp3(row):
            continue
        accession = _versioned(tid, row.first("transcript_version"))
        draft = drafts.get(accession)
        if draft is None:
            draft = drafts[accession] = _Draft(accession, row.line)
            gene_id = _strip_prefix(row.first("gene_id"))
            if gene_id.startswith("ENSG"):
                draft.gene_id = _versioned(gene_id, row.first("gene_version"))
            else:
                xrefs = [x for x in row.attrs.get("db_xref", ()) if x.startswith("GeneID:")]
                draft.gene_id = xrefs[0] if xrefs else gene_id
        draft.rows.append(row)
        draft.tags.update(row.attrs.get("tag", ()))
        if not draft.protein_id and row.first("protein_id"):
            draft.protein_id = _versioned(row.first("protein_id"), row.first("protein_version"))
    return list(drafts.values())


def _finish(draft: _Draft, build: str, path: Path) -> Transcript | None:
    """The Transcript of a draft; None for a non-coding one (no CDS: nothing to name)."""
    for row in draft.rows:
        where = f"line {row.line}"
        if row.strand == "-":
            raise RecordError(
                path,
                where,
                f"NLRP3 transcript {draft.accession} is on the minus strand; NLRP3 lies on the "
                "plus strand of chromosome 1 (wrong gene model or a corrupted file)",
            )
        named_build = CHR1_NAMES[row.seqid]
        if named_build and named_build != build:
            raise InputFileError(
                path,
                f"names chromosome 1 {row.seqid} (a {named_build} sequence) but was given "
                f"as {build}",
                f"use an annotation of {build}",
            )
    by_type: dict[str, list[tuple[int, int]]] = {}
    for row in draft.rows:
        by_type.setdefault(row.type, []).append((row.start, row.end))
    cds = by_type.get("CDS", []) + by_type.get("start_codon", []) + by_type.get("stop_codon", [])
    if not by_type.get("CDS"):
        return None
    exons = by_type.get("exon") or _merge(
        [span for kind, spans in by_type.items() if kind in _CHILD_TYPES for span in spans]
    )
    exons = sorted(set(exons))
    transcript = _draft_transcript(
        accession=draft.accession,
        ensembl_id=draft.ensembl_id,
        protein_id=draft.protein_id,
        gene_id=draft.gene_id,
        build=build,
        exons=exons,
        cds_start=min(s for s, _ in cds),
        cds_end=max(e for _, e in cds),
        tags=draft.tags,
    )
    _check_place(transcript, path, draft.line)
    return transcript


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Exons from CDS/UTR pieces, for files without exon rows: touching pieces join."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _check_place(t: Transcript, path: Path, line: int) -> None:
    """Refuse NLRP3 rows that are not at NLRP3 on the build the caller named."""
    lo, hi = mane_transcript(t.build).locus
    if t.tx_start <= hi and t.tx_end >= lo:
        return
    other = "GRCh37" if t.build == "GRCh38" else "GRCh38"
    olo, ohi = mane_transcript(other).locus
    looks = f"; it looks like {other}" if t.tx_start <= ohi and t.tx_end >= olo else ""
    raise InputFileError(
        path,
        f"line {line}: NLRP3 transcript {t.accession} at chr1:{t.tx_start}-{t.tx_end} is "
        f"not at NLRP3 on {t.build} (chr1:{lo}-{hi}){looks}",
        f"use an annotation of {t.build}",
    )


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


# --------------------------------------------------------------------------- Ensembl REST


def ensembl_lookup_url(build: str, base_url: str | None = None) -> str:
    """The Ensembl REST lookup of the NLRP3 gene with its transcripts, exons and translations."""
    from nlrp3annot.genome.fetch import ENSEMBL_BASE

    _check_build(build)
    base = (base_url or ENSEMBL_BASE[build]).rstrip("/")
    return f"{base}/lookup/id/{ENSEMBL_GENE}?expand=1"


def transcripts_cache_path(build: str) -> Path:
    """The cache file of one build's fetched transcript models."""
    from nlrp3annot.genome.fetch import cache_dir

    return cache_dir() / f"transcripts_{build}.json"


def fetch_ensembl_transcripts(
    build: str,
    base_url: str | None = None,
    timeout: float = 30.0,
    session: requests.Session | None = None,
) -> Path:
    """Download NLRP3's protein-coding transcripts from Ensembl REST and cache them.

    The cache holds draft models (:func:`validate` them against the reference before use).
    Raises :class:`FetchError` when the download fails or is not an NLRP3 lookup of
    ``build``; nothing is written then.
    """
    import requests

    from nlrp3annot.genome.fetch import http_get

    url = ensembl_lookup_url(build, base_url)
    http = requests.Session() if session is None else session
    try:
        # Ensembl REST answers JSON when asked to (this header), which the lookup needs.
        response = http_get(
            http,
            url,
            timeout,
            "give the transcripts as a GFF3/GTF annotation file",
            {"Content-Type": "application/json"},
        )
    finally:
        if session is None:
            http.close()
    try:
        data = response.json()
    except ValueError:
        raise FetchError(
            f"{url}: answer is not JSON ({_short(response.text)!r}); check the server"
        ) from None
    transcripts = transcripts_from_lookup(data, build, url)
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "build": build,
        "gene": GENE,
        "source": url,
        "fetched": datetime.now(UTC).date().isoformat(),
        "transcripts": [transcript_to_dict(t) for t in transcripts],
    }
    from nlrp3annot.genome.fetch import write_cache

    text = json.dumps(payload, indent=1) + "\n"
    return write_cache(transcripts_cache_path(build), text, "cached transcripts")


def transcripts_from_lookup(data: object, build: str, where: str) -> list[Transcript]:
    """Draft models of the protein-coding transcripts in an Ensembl ``lookup?expand=1`` answer.

    Translation start/end are genomic CDS bounds; whether the end includes the stop codon
    does not matter, :func:`validate` takes in a stop codon that follows.
    """
    try:
        return _from_lookup(data, build, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FetchError(
            f"{where}: not an Ensembl gene lookup with transcripts ({_short(repr(exc))}); "
            "check the server"
        ) from None


def _from_lookup(data: object, build: str, where: str) -> list[Transcript]:
    if not isinstance(data, dict):
        raise TypeError(f"answer is a {type(data).__name__}, not an object")
    if str(data["id"]).split(".")[0] != ENSEMBL_GENE:
        raise FetchError(f"{where}: answer is about {data['id']}, not {ENSEMBL_GENE} (NLRP3)")
    assembly = data.get("assembly_name")
    if assembly and assembly != build:
        raise FetchError(f"{where}: answer is on {assembly}, expected {build}; check the server")
    if str(data.get("seq_region_name", "1")) != "1":
        raise FetchError(f"{where}: NLRP3 is on {data['seq_region_name']}, expected 1")
    gene_id = _versioned(str(data["id"]), str(data.get("version") or ""))
    out = []
    for tx in data["Transcript"]:
        if tx.get("biotype") != "protein_coding" or not tx.get("Translation"):
            continue
        accession = _versioned(str(tx["id"]), str(tx.get("version") or ""))
        if int(tx.get("strand", 1)) != 1:
            raise FetchError(
                f"{where}: NLRP3 transcript {accession} is on the minus strand; NLRP3 lies on "
                "the plus strand of chromosome 1 (check the server)"
            )
        translation = tx["Translation"]
        tags = [ENSEMBL_CANONICAL] if tx.get("is_canonical") else []
        # Present when the lookup is asked with mane=1; harmless otherwise.
        tags += [str(m.get("type", "")) for m in tx.get("MANE") or () if isinstance(m, dict)]
        out.append(
            _draft_transcript(
                accession=accession,
                ensembl_id=accession,
                protein_id=_versioned(
                    str(translation["id"]), str(translation.get("version") or "")
                ),
                gene_id=gene_id,
                build=build,
                exons=sorted((int(e["start"]), int(e["end"])) for e in tx["Exon"]),
                cds_start=int(translation["start"]),
                cds_end=int(translation["end"]),
                tags=tags,
            )
        )
    if not out:
        raise FetchError(f"{where}: answer has no protein-coding NLRP3 transcript")
    return out


def cached_transcripts(build: str) -> list[Transcript] | None:
    """The fetched draft models of ``build``; None when they have not been fetched.

    A cache that cannot be read raises :class:`FetchError` saying how to refetch.
    """
    _check_build(build)
    path = transcripts_cache_path(build)
    if not path.exists():
        return None
    refetch = f"delete it or fetch the {build} transcripts again"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FetchError(
            f"{path}: cannot read the cached transcripts ({_short(exc)}); {refetch}"
        ) from None
    try:
        if payload.get("format") != CACHE_FORMAT or payload.get("build") != build:
            raise ValueError(f"not a {CACHE_FORMAT} file of {build}")
        transcripts = [transcript_from_dict(d) for d in payload["transcripts"]]
        if any(t.build != build or t.gene != GENE for t in transcripts):
            raise ValueError(f"holds models that are not NLRP3 on {build}")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"{path}: corrupt cached transcripts ({_short(exc)}); {refetch}") from None
    return transcripts


def transcript_to_dict(t: Transcript) -> dict:
    """A Transcript as plain JSON data (tuples become lists)."""
    return asdict(t)


def transcript_from_dict(d: dict) -> Transcript:
    """Inverse of :func:`transcript_to_dict`; KeyError/TypeError/ValueError when malformed."""
    return Transcript(
        accession=str(d["accession"]),
        ensembl_id=str(d["ensembl_id"]),
        protein_id=str(d["protein_id"]),
        gene=str(d["gene"]),
        gene_id=str(d["gene_id"]),
        build=str(d["build"]),
        chrom=str(d["chrom"]),
        exons=tuple((int(s), int(e)) for s, e in d["exons"]),
        cds_start=int(d["cds_start"]),
        cds_end=int(d["cds_end"]),
        protein=str(d["protein"]),
        domains=tuple(
            Domain(
                str(x["name"]),
                int(x["start"]),
                int(x["end"]),
                int(x["uniprot_start"]),
                int(x["uniprot_end"]),
            )
            for x in d["domains"]
        ),
        legacy_exon_numbers=tuple(None if n is None else int(n) for n in d["legacy_exon_numbers"]),
        flags=tuple(str(f) for f in d["flags"]),
        uniprot_offset=int(d["uniprot_offset"]),
    )


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
            f"unknown NLRP3 transcript {', '.join(unknown)}; available: {_names(available)}"
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


__all__ = [
    "MANE_SELECT",
    "ENSEMBL_CANONICAL",
    "LRG_STANDARD",
    "STOP_ADDED",
    "cached_transcripts",
    "cds_length",
    "ensembl_lookup_url",
    "fetch_ensembl_transcripts",
    "pick_order",
    "place_domains",
    "read_annotation",
    "select",
    "transcript_from_dict",
    "transcript_to_dict",
    "transcripts_cache_path",
    "transcripts_from_lookup",
    "uniprot_sequence",
    "validate",
]
