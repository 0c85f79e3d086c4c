"""The VCF output: the input's records with an INFO/CSQ field (VEP's layout) and the tool's
findings (:mod:`nlrp3annot.io.vcf_findings`) added to those it annotated.

Every record of the input is kept, in input order, as VEP and SnpEff keep them: a record the
tool has nothing to say about (outside the NLRP3 locus, or an allele it cannot name) passes
through byte for byte. The text is streamed: the lines are found as bytes, the way
:mod:`nlrp3annot.io.locus_filter` finds them (one ``bytes.find`` per chunk for the locus
positions' leading digits), so a whole-genome VCF costs about its decompression, and no
record outside the locus is parsed. ``locus_only`` gives the annotated records alone.
The header says how many records came in, were annotated and passed through
(``##nlrp3annot_records``), and the input's name as the TSV's ``file`` column gives it
(``##nlrp3annot_file``). The CSQ layout, and where each TSV column is in the VCF:
:mod:`nlrp3annot.io.vcf_columns`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nlrp3annot.io.atomic import atomic_write_binary, atomic_write_bytes, naming, new_file_mode
from nlrp3annot.io.vcf_columns import CSQ_FIELDS, csq_entry, csq_header_line  # noqa: F401
from nlrp3annot.io.vcf_findings import Findings, add_to_record, header_lines, is_ours
from nlrp3annot.values import Annotation, AnnotationResult

COUNTS_LINE = b"##nlrp3annot_records="
FILE_LINE = b"##nlrp3annot_file="  # the TSV's file column (pseudonymised with --redact)
BLOCK_RECORDS = 4096  # BCF records turned into text per block


@dataclass(frozen=True)
class VcfCounts:
    """What a VCF output holds: ``records_in`` (None with ``locus_only``: the records outside
    the locus were not read), the records annotated and those passed through unchanged;
    ``indexed``: False when a .vcf.gz could not be tabix-indexed (``note`` says why)."""

    records_in: int | None
    annotated: int
    passed_through: int
    indexed: bool = True
    note: str = ""


def write_vcf(
    result: AnnotationResult,
    source_vcf: str | Path,
    path: str | Path | None,
    redact=None,
    findings: Findings | None = None,
    locus_only: bool = False,
) -> VcfCounts:
    """Write ``source_vcf``'s records with an INFO/CSQ field added to those annotated: plain
    text, or bgzip-compressed and tabix-indexed when ``path`` ends in .gz (stdout when
    None). ``findings``: the tool's own findings, added as INFO and FORMAT fields.

    Records pass through byte for byte (INFO in any encoding). An annotated record is
    rewritten from its raw line. BCF records are read through htslib and written as text.
    With ``locus_only`` only the annotated records are written, sorted by position, from the
    lines the scan read (``result.source``, kept when asked: ``keep_lines``) or re-read
    through the locus filter (plain gzip, unsorted files and malformed lines elsewhere are
    fine there)."""
    by_record: dict[tuple[str, int, str], list[Annotation]] = defaultdict(list)
    for row in result.annotations:
        by_record[(row.chrom, row.pos, row.ref)].append(row)
    if locus_only:
        return _write_locus_only(result, Path(source_vcf), path, redact, findings, by_record)
    folder = Path(path).parent if path is not None and str(Path(path).parent) else Path(".")
    if path is not None:
        folder.mkdir(parents=True, exist_ok=True)
    shown = path if path is not None else "stdout"
    try:
        # unbuffered: a full disk fails in write() (named below), not again on close
        body = tempfile.TemporaryFile(buffering=0, dir=folder if path is not None else None)  # noqa: SIM115
    except OSError as exc:
        raise naming(exc, shown) from None

    def write(data: bytes) -> None:
        try:
            body.write(data)
        except OSError as exc:  # the output's disk (the input's errors are the reader's)
            raise naming(exc, shown) from None

    with body, _records(Path(source_vcf)) as (header, blocks):
        if redact is not None:  # the sample columns' names
            header = redact.vcf_header(header)
        samples = _sample_columns(header)
        copy = _BlockCopy(by_record, _line_annotator(by_record, findings, samples))
        for block in blocks:
            copy.block(block, write)
        counts = VcfCounts(copy.lines, copy.annotated, copy.lines - copy.annotated)
        head = _with_csq_header(header, findings, bool(samples), counts, _file_of(result))
        body.seek(0)
        return _put(head, body, path, counts)


def _write_locus_only(result, source: Path, path, redact, findings, by_record) -> VcfCounts:
    if result.source is not None:  # the lines the scan read: no second pass over the input
        header, lines = result.source
    else:
        header, lines = _source_lines(source, by_record)
    if redact is not None:
        header = redact.vcf_header(header)
    annotate = _line_annotator(by_record, findings, _sample_columns(header))
    kept = []
    for line in lines:
        new = annotate(line)
        if new is not None:
            kept.append((int(line.split(b"\t", 2)[1]), new + b"\n"))
    kept.sort(key=lambda item: item[0])  # stable: records at one position keep their order
    counts = VcfCounts(None, len(kept), 0)
    has_samples = bool(_sample_columns(header))
    head = _with_csq_header(header, findings, has_samples, counts, _file_of(result))
    text = head + b"".join(line for _, line in kept)
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        return counts
    path = Path(path)
    if path.suffix == ".gz":
        _write_bgzip_indexed(_bytes_source(text), path)
    else:
        atomic_write_bytes(path, text)
    return counts


def _line_annotator(
    by_record, findings: Findings | None, samples: list[str]
) -> Callable[[bytes], bytes | None]:
    """A function from a record's line to its annotated line (no newline), None when the
    tool has nothing to say about the record."""
    known = findings.transcripts if findings is not None else {}
    # a line's CSQ text, made once per (site, ALT field): a sites-only VCF writes each ALT of
    # a position on its own line, and a split multi-allelic file repeats a site per ALT
    csq_of: dict[tuple[str, int, str, bytes], bytes] = {}

    def annotate(line: bytes) -> bytes | None:
        fields = line.rstrip(b"\r\n").split(b"\t", 8)
        try:
            key = (fields[0].decode(), int(fields[1]), fields[3].decode())
        except (IndexError, ValueError):  # not one of ours: an annotated record parsed
            return None
        rows = by_record.get(key)
        if not rows:
            return None
        csq = csq_of.get((*key, fields[4]))
        if csq is None:
            # only this line's ALT alleles: the rows are kept per site, and a record written
            # with another record's consequences (a pathogenic G>A on the line of a benign
            # G>C) would be read by split-vep or a filter as its own
            alts = fields[4].decode().upper().split(",")
            rows = [r for r in rows if r.alt.upper() in alts]
            if not rows:
                return None
            values = [csq_entry(r, known.get(((r.chrom, r.pos, r.ref, r.alt), r.transcript)))
                      for r in rows]  # fmt: skip
            csq = csq_of[(*key, fields[4])] = ("CSQ=" + ",".join(values)).encode()
        fields[7] = _with_csq(fields[7], csq)
        if findings is not None:  # every sample column, not just the first nine fields
            fields = add_to_record(b"\t".join(fields).split(b"\t"), findings, samples)
        return b"\t".join(fields)

    return annotate


class _BlockCopy:
    """Copies blocks of whole record lines, each annotated record's line replaced: the lines
    that may be annotated are found as bytes (a tab, then the leading digits of the
    annotated positions, after one of their contig names), all others are copied in runs."""

    def __init__(self, by_record, annotate: Callable[[bytes], bytes | None]) -> None:
        from nlrp3annot.io.locus_filter import decimal_prefixes

        self.annotate = annotate
        self.names = {chrom.encode() for chrom, _, _ in by_record}
        positions = [pos for _, pos, _ in by_record if pos > 0]
        prefixes = decimal_prefixes(min(positions), max(positions)) if positions else []
        self.patterns = sorted({b"\t" + p.encode() for p in prefixes})
        self.lines = 0
        self.annotated = 0

    def block(self, block: bytes, write: Callable[[bytes], object]) -> None:
        self.lines += block.count(b"\n")
        hits = []
        for pattern in self.patterns:
            i = block.find(pattern)
            while i >= 0:
                hits.append(i)
                i = block.find(pattern, i + 1)
        hits.sort()
        copied = 0
        last_start = -1
        for i in hits:
            start = block.rfind(b"\n", 0, i) + 1
            if start == last_start or block[start:i] not in self.names:
                continue  # same line again, or not the POS column of an annotated contig
            last_start = start
            end = block.find(b"\n", i)
            new = self.annotate(block[start:end])
            if new is None:
                continue
            write(block[copied:start])
            write(new + b"\n")
            copied = end + 1
            self.annotated += 1
        write(block[copied:])


@contextmanager
def _records(source: Path) -> Iterator[tuple[bytes, Iterator[bytes]]]:
    """(header, blocks of whole record lines, each ending in a newline) of a text VCF (plain,
    gzip or bgzip) or, through htslib, a BCF."""
    from nlrp3annot.io.vcf import is_bgzf_bcf

    if is_bgzf_bcf(source):
        import pysam

        pysam.set_verbosity(0)
        with pysam.VariantFile(str(source)) as vin:
            yield str(vin.header).encode(), _bcf_blocks(vin)
        return
    from nlrp3annot.errors import InputFileError
    from nlrp3annot.io.locus_filter import open_text, read_header

    try:
        with open_text(source) as stream:
            header, rest = read_header(stream)
            yield header, _text_blocks(stream, rest)
    except (OSError, EOFError) as exc:
        if getattr(exc, "filename", None) not in (None, str(source)):
            raise  # the output's (a full disk), named by the writer
        raise InputFileError(
            source, f"truncated or corrupt compressed file ({exc})", "re-copy or re-compress it"
        ) from None


def _text_blocks(stream, rest: bytes) -> Iterator[bytes]:
    from nlrp3annot.io.locus_filter import CHUNK

    tail = rest
    while True:
        chunk = stream.read(CHUNK)
        data = tail + chunk
        if not chunk:
            if data:
                yield data if data.endswith(b"\n") else data + b"\n"
            return
        cut = data.rfind(b"\n") + 1
        block, tail = data[:cut], data[cut:]
        if block:
            yield block


def _bcf_blocks(vin) -> Iterator[bytes]:
    lines: list[bytes] = []
    for rec in vin:
        lines.append(str(rec).encode())
        if len(lines) >= BLOCK_RECORDS:
            yield b"".join(lines)
            lines.clear()
    if lines:
        yield b"".join(lines)


def _put(head: bytes, body, path: str | Path | None, counts: VcfCounts) -> VcfCounts:
    """Write ``head`` and then the ``body`` file to ``path`` (stdout when None)."""
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(head)
        shutil.copyfileobj(body, sys.stdout.buffer, 1 << 20)
        return counts
    path = Path(path)
    parts = _Parts(head, body)
    if path.suffix == ".gz":
        note = _write_bgzip_indexed(parts, path)
        if note:
            return VcfCounts(
                counts.records_in, counts.annotated, counts.passed_through, False, note
            )
        return counts
    atomic_write_binary(path, parts.write_to)
    return counts


@dataclass
class _Parts:
    """A header and a body file, written one after the other."""

    head: bytes
    body: object

    def write_to(self, out) -> None:
        out.write(self.head)
        self.body.seek(0)
        shutil.copyfileobj(self.body, out, 1 << 20)


def _bytes_source(text: bytes) -> _Parts:
    import io

    return _Parts(text, io.BytesIO())


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
    header: bytes,
    findings: Findings | None = None,
    has_samples: bool = False,
    counts: VcfCounts | None = None,
    file: str = "",
) -> bytes:
    """The source header with its CSQ definition (and any field definitions of ours) replaced
    by ours, which go just before the #CHROM line with this file's record counts (an earlier
    run's counts line goes: it counted another file); an earlier run's ``##nlrp3annot``
    lines stay, so this run's line follows them (one line per run, like bcftools' history)."""
    lines = header.splitlines(keepends=True)
    kept = [
        line
        for line in lines
        if not line.startswith((b"##INFO=<ID=CSQ,", COUNTS_LINE, FILE_LINE)) and not is_ours(line)
    ]
    ours = csq_header_line().encode() + b"\n"
    if findings is not None:
        ours += b"".join(line + b"\n" for line in header_lines(findings, has_samples))
    if counts is not None:
        ours += counts_line(counts) + b"\n"
    if file:
        ours += FILE_LINE + " ".join(file.split()).encode() + b"\n"
    at = next((i for i, line in enumerate(kept) if line.startswith(b"#CHROM")), len(kept))
    return b"".join(kept[:at]) + ours + b"".join(kept[at:])


def _file_of(result: AnnotationResult) -> str:
    """The input's name as the table's ``file`` column gives it ("" without rows)."""
    first = next(iter(result.table), None)
    return str(first.get("file") or "") if first is not None else ""


def counts_line(counts: VcfCounts) -> bytes:
    """``##nlrp3annot_records=<in=9,annotated=8,passed_through=1>`` (``in`` left out with
    --locus-only, which does not read the records outside the locus)."""
    parts = [] if counts.records_in is None else [f"in={counts.records_in}"]
    parts += [f"annotated={counts.annotated}", f"passed_through={counts.passed_through}"]
    return COUNTS_LINE + ("<" + ",".join(parts) + ">").encode()


def _write_bgzip_indexed(parts: _Parts, path: Path) -> str:
    """bgzip ``parts`` to ``path`` with its .tbi, both through temporary names. The old index
    goes first, so a crash at any point leaves no index that does not match its file.
    Records out of order (an unsorted input) are sorted so that the file can be indexed;
    a file that cannot be indexed even so (a malformed record passed through) is written
    without an index: the reason is returned ("" when indexed)."""
    import pysam

    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.gz", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp_index = Path(tmp_name + ".tbi")
    index = path.with_name(path.name + ".tbi")
    pysam.set_verbosity(0)  # (htslib's own lines would repeat the one error said below)
    note = ""
    try:
        _bgzip(parts, tmp)
        try:
            pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index))
        except (OSError, ValueError):
            tmp_index.unlink(missing_ok=True)
            note = _sort_and_index(parts, tmp, tmp_index)
        made = [tmp] if note else [tmp, tmp_index]
        for file in made:
            os.chmod(file, new_file_mode())
        index.unlink(missing_ok=True)
        os.replace(tmp, path)
        if not note:
            os.replace(tmp_index, index)
    except OSError as exc:
        raise naming(exc, path) from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_index.unlink(missing_ok=True)
    return note


def _bgzip(parts: _Parts, target: Path) -> None:
    from Bio import bgzf

    # Biopython's BGZF writer: a failed write is a plain OSError (pysam's BGZFile printed a
    # second traceback from its destructor)
    with bgzf.BgzfWriter(str(target), "wb") as out:
        parts.write_to(out)


def _sort_and_index(parts: _Parts, tmp: Path, tmp_index: Path) -> str:
    """Sort the records (contigs in ##contig order, then as first seen; positions) and index
    again; the reason when they cannot be (a POS that is not a number)."""
    import io

    import pysam

    parts.body.seek(0)
    lines = parts.body.read().splitlines(keepends=True)
    order = {}
    for line in parts.head.splitlines():
        if line.startswith(b"##contig=<ID="):
            order.setdefault(line[13:].split(b",")[0].split(b">")[0], len(order))
    keyed = []
    for line in lines:
        fields = line.split(b"\t", 2)
        try:
            keyed.append(((order.setdefault(fields[0], len(order)), int(fields[1])), line))
        except (IndexError, ValueError):
            return f"not indexed: record {line[:40]!r}... has no number as POS"
    keyed.sort(key=lambda item: item[0])
    _bgzip(_Parts(parts.head, io.BytesIO(b"".join(line for _, line in keyed))), tmp)
    try:
        pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index))
    except (OSError, ValueError) as exc:
        tmp_index.unlink(missing_ok=True)
        return f"not indexed: tabix could not index it ({exc})"
    return ""
