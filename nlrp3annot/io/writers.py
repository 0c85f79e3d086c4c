"""Writers: TSV, JSON and VCF with a VEP-style INFO/CSQ field. Every file is written to a
temporary name in the target folder and renamed when complete, so a crash never leaves a
half-written report behind."""

from __future__ import annotations

import csv
import io
import json
import operator
import os
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from nlrp3annot.io.atomic import atomic_write, atomic_write_bytes, naming, new_file_mode
from nlrp3annot.io.vcf_findings import Findings, add_to_record, header_lines, is_ours
from nlrp3annot.values import (
    COLUMNS,
    SITE_KEYS,
    Annotation,
    AnnotationResult,
    SampleRow,
    SiteRow,
    Skipped,
    row_dict,
)

EXTRA_COLUMNS = ["id", "filter"]
TSV_COLUMNS = COLUMNS[:4] + EXTRA_COLUMNS + COLUMNS[4:]
SKIPPED_COLUMNS = ["path", "chrom", "pos", "ref", "alt", "reason"]


def table_columns(table: list[dict]) -> list[str]:
    """Site columns, then sample columns (when the VCFs had samples), then known-variant
    columns and the source file."""
    from nlrp3annot.values import KNOWLEDGE_COLUMNS, SAMPLE_COLUMNS

    has_samples = any("sample" in row for row in table)
    sample_part = SAMPLE_COLUMNS if has_samples else []
    return ["file"] + TSV_COLUMNS[:6] + sample_part + TSV_COLUMNS[6:] + KNOWLEDGE_COLUMNS


# The CSQ layout follows VEP's names so `bcftools +split-vep` and VEP-aware tools read it.
CSQ_FIELDS = [
    ("Allele", lambda r: _vep_allele(r)),
    ("Consequence", lambda r: r.consequence),
    ("IMPACT", lambda r: r.impact),
    ("SYMBOL", lambda r: r.gene),
    ("Gene", lambda r: r.gene_id),
    ("Feature", lambda r: r.transcript),
    ("EXON", lambda r: r.exon),
    ("INTRON", lambda r: r.intron),
    ("HGVSc", lambda r: r.hgvs_c),
    ("HGVSp", lambda r: r.hgvs_p),
    ("Protein_position", lambda r: r.protein_position),
    ("Amino_acids", lambda r: r.amino_acids),
    ("Codons", lambda r: r.codons),
    ("DOMAINS", lambda r: r.domain),
    ("Feature_type", lambda r: "Transcript"),
    ("BIOTYPE", lambda r: "protein_coding"),
    ("CDS_position", lambda r: r.cds_position),
    ("HGVSg", lambda r: r.hgvs_g),
    ("MANE_SELECT", lambda r: r.transcript if "MANE_Select" in r.flags else ""),
    (
        "CANONICAL",
        lambda r: "YES" if {"MANE_Select", "Ensembl_canonical"} & set(r.flags.split(",")) else "",
    ),
    ("ENSEMBL_TRANSCRIPT", lambda r: r.ensembl_transcript),
    ("LEGACY_EXON", lambda r: r.legacy_exon),
    ("UNIPROT_POSITION", lambda r: r.uniprot_position),
    ("REF_MISMATCH", lambda r: "1" if r.ref_mismatch else ""),
]


def _vep_allele(row: Annotation) -> str:
    """VEP writes the ALT without the shared anchor base, '-' when nothing is left."""
    ref, alt = row.ref, row.alt
    if len(ref) != len(alt) and ref[:1] == alt[:1]:
        return alt[1:] or "-"
    return alt


def _csq_escape(value: str) -> str:
    # VCF INFO values cannot hold ',', ';', '=', '|' or spaces unescaped; VEP uses '&'/'%3B'.
    return (
        value.replace("|", "&")
        .replace(",", "&")
        .replace(";", "&")
        .replace("=", "%3D")
        .replace(" ", "_")
    )


# Columns that carry text from the user's files (IDs, names, paths): a cell there that a
# spreadsheet would run as a formula is written with a leading apostrophe (see
# spreadsheet_safe). Computed columns are left as they are ("-/K" is an Amino_acids value).
USER_TEXT_COLUMNS = frozenset(
    ["file", "path", "sample", "patient", "patient_id", "sample_id", "id", "filter"]
    + ["chrom", "ref", "alt"]
)
_FORMULA_START = frozenset("=+-@\t\r")


def spreadsheet_safe(value: object) -> object:
    """``value``, or for text a spreadsheet would run as a formula (starting with = + - @,
    tab or CR, and not a number; OWASP's CSV injection rule) the same text after an
    apostrophe, which Excel and LibreOffice show as text."""
    if not isinstance(value, str):
        return value
    if value[:1] in _FORMULA_START:
        try:
            float(value)
        except ValueError:
            return "'" + value
    elif value[:1] == "'" and spreadsheet_safe(value[1:]) != value[1:]:
        return "'" + value  # so that reading back (as_written) is exact: '=x -> ''=x
    return value


def as_written(value: object) -> object:
    """The inverse of :func:`spreadsheet_safe`, for reading our own tables back."""
    if isinstance(value, str) and value[:1] == "'" and spreadsheet_safe(value[1:]) == value:
        return value[1:]
    return value


# A number or an interval of numbers as the result tables write them ("-0.5 to 0",
# "> -1 to <0", "< 20", "-1e+03 to -inf"): number literals, "to", spaces, "<" and ">" only.
# A spreadsheet may try it as a formula, but it names no function, cell or operator that
# could run anything (a DDE payload such as "-2+3+cmd|' /C calc'!A0" does not match).
_NUMBER = r"-?(?:inf|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)"
_END = rf"(?:[<>] ?)?{_NUMBER}"
NUMBER_TEXT = re.compile(rf"{_END}(?: to {_END})?")


def _computed_safe(value: object) -> object:
    """:func:`spreadsheet_safe` for a column we compute: a number or interval of numbers
    (``NUMBER_TEXT``: "-0.5 to 0") stays as it is, everything else is guarded."""
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
        return value
    return spreadsheet_safe(value)


def spreadsheet_safe_frame(frame):
    """A pandas table with its text cells made inert for a spreadsheet: the columns of
    user text (``USER_TEXT_COLUMNS``: IDs, names, paths) by :func:`spreadsheet_safe` as
    they are everywhere; in the other columns a number or interval of numbers ("-0.5 to 0",
    a data value that cannot run) is written as it is, anything else guarded the same way."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            guard = spreadsheet_safe if column in USER_TEXT_COLUMNS else _computed_safe
            frame[column] = frame[column].map(guard)
    return frame


def _guard(values, at: list[int]) -> list:
    values = list(values)
    for i in at:
        values[i] = spreadsheet_safe(values[i])
    return values


def _tsv(rows: list, columns: list[str], handle) -> None:
    # lines joined from plain values, not csv.writer (2x slower) or DictWriter on copied
    # dicts: a joint VCF gives ~10^5 rows
    handle.write(_csv_text(columns) + "\n")
    shared = _SharedParts(columns)
    guarded = [i for i, c in enumerate(columns) if c in USER_TEXT_COLUMNS]
    every = operator.itemgetter(*columns) if len(columns) > 1 else lambda r: (r[columns[0]],)
    in_site_rows = None  # the columns' places in a SiteRow's values, when it has them all
    if len(columns) > 1 and set(columns) <= set(SITE_KEYS):
        in_site_rows = operator.itemgetter(*(SITE_KEYS.index(c) for c in columns))
    pending: list[str] = []  # lines, written in batches
    for row in rows:
        kind = type(row)
        if kind is SampleRow:
            line = shared.line(row)
        elif kind is SiteRow and in_site_rows is not None:
            line = _csv_text(_guard(in_site_rows(row.values), guarded)) + "\n"
        else:
            line = None
        if line is None:
            try:
                values = every(row)
            except KeyError:  # a row without some columns (several kinds of input in one table)
                get = row.get
                values = [get(c) for c in columns]
            line = _csv_text(_guard(values, guarded)) + "\n"
        pending.append(line)
        if len(pending) >= 4096:
            handle.write("".join(pending))
            pending.clear()
    handle.write("".join(pending))


def _csv_text(values: list) -> str:
    """Values formatted as csv.writer formats them inside a TSV line (quoted only when they
    hold a tab, newline or quote), without a newline."""
    texts = ["" if v is None else str(v) for v in values]
    joined = "\t".join(texts)
    if joined.count("\t") == len(texts) - 1 and not (
        '"' in joined or "\n" in joined or "\r" in joined
    ):
        return joined
    buffer = io.StringIO()
    # (a trailing field, so that a lone "" is not quoted; csv quotes \n and \r only when
    # they are in the line terminator)
    csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerow(texts + ["x"])
    return buffer.getvalue()[:-4]


_MARK = "\x1f"  # stands for the sample name while a row's line is cached


class _SharedParts:
    """TSV lines of :class:`SampleRow` rows, from text formatted once per shared part.

    In the sample table's layout the sample name is followed by the call's columns, and all
    other columns come from the site and the sample's reading, so a line is
    ``text(site, own) [before] + sample + text(call) + text(site, own) [after]``, each text
    kept per part (a joint VCF has 10^5 rows over a few hundred sites and call patterns).
    Any other layout is written row by row by the caller (``line`` returns None)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.frame_runs: list[tuple[str, object, list[str]]] | None = None  # all but the call
        self.call_runs: list[tuple[str, object, list[str]]] = []
        self.frame_guarded: list[int] = []  # places of user-text columns in each text
        self.call_guarded: list[int] = []
        self.samples: dict[str, str] = {}
        self.frames: dict[tuple[int, int], tuple[str, str]] = {}  # (site, own) -> texts
        self.calls: dict[int, str] = {}

    def _plan(self, row: SampleRow) -> list[tuple[str, object, int]]:
        """The runs of columns around the call's, [] when the layout is not the sample
        table's (a column no part has, or the call's columns not right after the sample)."""
        runs: list[tuple[str, list[str]]] = []
        for column in self.columns:
            if column == "sample":
                name = "sample"
            else:
                name = next((n for n in ("own", "call", "site") if column in getattr(row, n)), "")
                if not name:
                    return []
            if runs and runs[-1][0] == name and name != "sample":
                runs[-1][1].append(column)
            else:
                runs.append((name, [column]))
        names = [name for name, _ in runs]
        if not (
            names.count("sample") == 1
            and names.count("call") == 1
            and names.index("call") == names.index("sample") + 1
        ):
            return []
        plan = [(name, operator.itemgetter(*cols), cols) for name, cols in runs]
        self.call_runs = [run for run in plan if run[0] == "call"]
        return [run for run in plan if run[0] != "call"]

    def _text(self, row: SampleRow, runs, guarded: list[int]) -> str | None:
        values: list = []
        for name, getter, cols in runs:
            if name == "sample":
                values.append(_MARK)
                continue
            try:
                got = getter(getattr(row, name))
            except KeyError:
                return None
            if len(cols) == 1:
                values.append(got)
            else:
                values.extend(got)
        for i in guarded:  # (IDs from the user's files: spreadsheet-safe)
            values[i] = spreadsheet_safe(values[i])
        return _csv_text(values)

    def line(self, row: SampleRow) -> str | None:
        if self.frame_runs is None:
            self.frame_runs = self._plan(row)
            self.frame_guarded = _guarded_places(self.frame_runs)
            self.call_guarded = _guarded_places(self.call_runs)
        if not self.frame_runs:
            return None
        key = (id(row.site), id(row.own))
        frame = self.frames.get(key)
        if frame is None:
            text = self._text(row, self.frame_runs, self.frame_guarded)
            if text is None or text.count(_MARK) != 1:
                return None
            frame = self.frames[key] = tuple(text.split(_MARK))
        call = self.calls.get(id(row.call))
        if call is None:
            call = self._text(row, self.call_runs, self.call_guarded)
            if call is None or _MARK in call:
                return None
            self.calls[id(row.call)] = call
        sample = self.samples.get(row.sample)
        if sample is None:
            sample = self.samples[row.sample] = _csv_text([spreadsheet_safe(row.sample)])
        before, after = frame
        return f"{before}{sample}\t{call}{after}\n"


def _guarded_places(runs: list) -> list[int]:
    """Positions, in a text's values, of the columns that hold user text (spreadsheet-safe)."""
    columns = [c for name, _, cols in runs for c in (["sample"] if name == "sample" else cols)]
    return [i for i, c in enumerate(columns) if c in USER_TEXT_COLUMNS and c != "sample"]


def write_tsv(result: AnnotationResult, path: str | Path | None) -> None:
    columns = table_columns(result.table)
    if path is None:
        _tsv(result.table, columns, sys.stdout)
    else:
        atomic_write(path, lambda h: _tsv(result.table, columns, h))


def write_patients(result: AnnotationResult, path: str | Path) -> None:
    from nlrp3annot.values import SUMMARY_COLUMNS

    atomic_write(path, lambda h: _tsv(result.patients, SUMMARY_COLUMNS, h))


def write_skipped(skipped: list[Skipped], path: str | Path) -> None:
    atomic_write(path, lambda h: _tsv([s.__dict__ for s in skipped], SKIPPED_COLUMNS, h))


def write_json(result: AnnotationResult, path: str | Path | None) -> None:
    document = {
        "summary": result.summary,
        "annotations": [row_dict(row) for row in result.table],
        "patients": result.patients,
        "skipped": [s.__dict__ for s in result.skipped],
        "failures": [{"file": f, "error": e} for f, e in result.failures],
    }
    if path is None:
        json.dump(document, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        atomic_write(path, lambda h: json.dump(document, h, indent=1, default=str))


def csq_header_line() -> str:
    names = "|".join(name for name, _ in CSQ_FIELDS)
    return (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'nlrp3annot. Format: {names}">'
    )


def write_vcf(
    result: AnnotationResult,
    source_vcf: str | Path,
    path: str | Path | None,
    redact=None,
    findings: Findings | None = None,
) -> None:
    """Copy the annotated records of ``source_vcf`` with an INFO/CSQ field added, in
    position order: plain text, or bgzip-compressed and tabix-indexed when ``path`` ends in
    .gz. ``findings``: the tool's own findings, added as INFO and FORMAT fields
    (:mod:`nlrp3annot.io.vcf_findings`).

    A text VCF's records are written from the raw lines the scan read (``result.source``,
    kept when the run was asked to: ``keep_lines``), else re-read as bytes through the locus
    filter, so every byte of a record passes through unchanged (INFO in any encoding) and
    nothing outside the locus is parsed (plain gzip, unsorted files and malformed lines
    elsewhere are fine). BCF records are read back through htslib."""
    by_record: dict[tuple[str, int, str], list[Annotation]] = defaultdict(list)
    for row in result.annotations:
        by_record[(row.chrom, row.pos, row.ref)].append(row)
    if result.source is not None:  # the lines the scan read: no second pass over the input
        header, lines = result.source
    else:
        header, lines = _source_lines(Path(source_vcf), by_record)
    if redact is not None:  # the sample columns' names
        header = redact.vcf_header(header)
    samples = _sample_columns(header)
    kept = []
    for line in lines:
        fields = line.rstrip(b"\r\n").split(b"\t", 8)
        try:
            key = (fields[0].decode(), int(fields[1]), fields[3].decode())
        except (IndexError, ValueError):  # not one of ours: an annotated record parsed
            continue
        rows = by_record.get(key)
        if not rows:
            continue
        values = ["|".join(_csq_escape(str(get(r))) for _, get in CSQ_FIELDS) for r in rows]
        csq = ("CSQ=" + ",".join(values)).encode()
        fields[7] = _with_csq(fields[7], csq)
        if findings is not None:  # every sample column, not just the first nine fields
            fields = add_to_record(b"\t".join(fields).split(b"\t"), findings, samples)
        kept.append((key[1], b"\t".join(fields) + b"\n"))
    kept.sort(key=lambda item: item[0])  # stable: records at one position keep their order
    text = _with_csq_header(header, findings, bool(samples)) + b"".join(line for _, line in kept)
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        return
    path = Path(path)
    if path.suffix == ".gz":
        _write_bgzip_indexed(text, path)
    else:
        atomic_write_bytes(path, text)


def _with_csq(info: bytes, csq: bytes) -> bytes:
    """INFO with ``csq`` as its only CSQ key: one already there (ours from an earlier run, or
    VEP's) is replaced, as its header line is, since a key may appear only once."""
    if info in (b".", b""):
        return csq
    if b"CSQ=" in info:  # (the check keeps the common case to one scan of the bytes)
        kept = [part for part in info.split(b";") if part.split(b"=", 1)[0] != b"CSQ"]
        return b";".join([*kept, csq])
    return info + b";" + csq


def _source_lines(source: Path, by_record) -> tuple[bytes, list[bytes]]:
    """(header, candidate record lines) of the source VCF, as bytes."""
    from nlrp3annot.io.vcf import is_bgzf_bcf

    if is_bgzf_bcf(source):  # binary records: htslib writes them back as text
        import pysam

        pysam.set_verbosity(0)
        with pysam.VariantFile(str(source)) as vin:
            header = str(vin.header).encode()
            return header, [str(rec).encode() for rec in vin]
    from nlrp3annot.io.locus_filter import read_locus_lines

    contigs = {chrom for chrom, _, _ in by_record}
    ends = [(pos, pos + max(len(ref), 1) - 1) for _, pos, ref in by_record] or [(1, 1)]
    window = (min(lo for lo, _ in ends), max(hi for _, hi in ends))
    found = read_locus_lines(source, contigs, [window])
    return found.header, found.lines


def _sample_columns(header: bytes) -> list[str]:
    """The sample names of the #CHROM line (as written: pseudonyms after redaction)."""
    for line in header.splitlines():
        if line.startswith(b"#CHROM"):
            return [c.decode() for c in line.rstrip(b"\r").split(b"\t")[9:]]
    return []


def _with_csq_header(
    header: bytes, findings: Findings | None = None, has_samples: bool = False
) -> bytes:
    """The source header with its CSQ definition (and any field definitions of ours) replaced
    by ours, which go just before the #CHROM line; an earlier run's ``##nlrp3annot`` lines
    stay, so this run's line follows them (one line per run, like bcftools' history)."""
    lines = header.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(b"##INFO=<ID=CSQ,") and not is_ours(line)]
    ours = csq_header_line().encode() + b"\n"
    if findings is not None:
        ours += b"".join(line + b"\n" for line in header_lines(findings, has_samples))
    at = next((i for i, line in enumerate(kept) if line.startswith(b"#CHROM")), len(kept))
    return b"".join(kept[:at]) + ours + b"".join(kept[at:])


def _write_bgzip_indexed(text: bytes, path: Path) -> None:
    """bgzip ``text`` to ``path`` with its .tbi, both through temporary names. The old index
    goes first, so a crash at any point leaves no index that does not match its file."""
    import pysam

    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.gz", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp_index = Path(tmp_name + ".tbi")
    index = path.with_name(path.name + ".tbi")
    from Bio import bgzf

    pysam.set_verbosity(0)  # (htslib's own lines would repeat the one error said below)
    try:
        # Biopython's BGZF writer: a failed write is a plain OSError (pysam's BGZFile
        # printed a second traceback from its destructor)
        with bgzf.BgzfWriter(str(tmp), "wb") as out:
            out.write(text)
        pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index))
        for made in (tmp, tmp_index):
            os.chmod(made, new_file_mode())
        index.unlink(missing_ok=True)
        os.replace(tmp, path)
        os.replace(tmp_index, index)
    except OSError as exc:
        raise naming(exc, path) from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_index.unlink(missing_ok=True)
