"""Reading NLRP3 transcript models from a GFF3 or GTF annotation (RefSeq, Ensembl,
GENCODE; plain or gzip). Only rows near NLRP3 are parsed; every model read is a draft for
:func:`nlrp3annot.genome.transcripts.validate`."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from nlrp3annot.errors import InputFileError, RecordError
from nlrp3annot.genome.reference import Transcript, load_model, mane_transcript
from nlrp3annot.genome.transcripts import (
    _CHILD_TYPES,
    _GENE_TYPES_SUFFIX,
    _GTF_PAIR,
    _LOOKS_GFF3,
    _LOOKS_GTF,
    _PARSE_MARGIN,
    CHR1_NAMES,
    ENSEMBL_GENE,
    GENE,
    _check_build,
    _draft_transcript,
    _one_line,
    _versioned,
)


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
