"""The NLRP3 lines of an unindexed text VCF, found on the raw bytes.

NLRP3 is 43 kb of a 3 Gb genome: a whole-genome VCF without an index holds a million records
of which a few hundred matter. Building a record object for each costs more than
decompressing the file, so the lines are tested as bytes first: a record can only be in a
window if its POS column starts with the window's leading digits, which one ``bytes.find``
per chunk locates (``\\t247`` for both builds at this locus). Only those candidate lines are
checked further (contig name, POS in range) and handed to htslib; every other line is only
counted, so an unindexed whole-genome VCF costs about what decompressing it costs.

Decompression is multi-threaded where the library offers it (python-isal's threaded gzip
reader decompresses in a second thread while this one scans), for bgzip and plain gzip alike.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nlrp3annot.errors import InputFileError

CHUNK = 1 << 22  # 4 MiB of decompressed text per scan step
WHOLE = 1 << 20  # a compressed file up to 1 MiB is inflated at once (no reader thread)
# Records starting this far before a window are kept as candidates: a deletion or gVCF block
# that starts before the window can still reach into it (the exact test happens on parsing).
SPAN_MARGIN = 1_000


@dataclass
class LocusLines:
    """The header and the candidate data lines of one text VCF."""

    header: bytes
    lines: list[bytes] = field(default_factory=list)  # candidate data lines, file order
    numbers: list[int] = field(default_factory=list)  # their 1-based data-line numbers
    data_lines: int = 0  # every data line of the file


def decimal_prefixes(lo: int, hi: int) -> list[str]:
    """Leading-digit strings that every integer in ``lo..hi`` (both > 0) starts with, one per
    run of equal digit count: 247401173..247617119 -> ['247']."""
    out = []
    while lo <= hi:
        top = min(hi, 10 ** len(str(lo)) - 1)  # stay within one digit count
        a, b = str(lo), str(top)
        common = 0
        while common < len(a) and a[common] == b[common]:
            common += 1
        out.append(a[:common])
        lo = top + 1
    return out


def open_text(path: Path):
    """A binary stream of the text of a plain, gzip or bgzip file (isal inflates)."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic != b"\x1f\x8b":
        return path.open("rb")
    if path.stat().st_size <= WHOLE:
        from isal import igzip

        return io.BytesIO(igzip.decompress(path.read_bytes()))
    from isal import igzip_threaded

    return igzip_threaded.open(path, "rb", threads=1)


def read_locus_lines(
    path: Path, contigs: Iterable[str], windows: Iterable[tuple[int, int]]
) -> LocusLines:
    """Header and the lines of ``path`` whose contig is one of ``contigs`` and whose record
    may overlap one of ``windows`` (1-based inclusive), read as bytes."""
    names = {c.encode() for c in contigs}
    spans = [(max(lo - SPAN_MARGIN, 1), hi) for lo, hi in windows]
    patterns = _shortest(b"\t" + p.encode() for lo, hi in spans for p in decimal_prefixes(lo, hi))
    try:
        with open_text(path) as stream:
            return _scan(stream, names, spans, patterns)
    except (OSError, EOFError) as exc:
        raise InputFileError(
            path, f"truncated or corrupt compressed file ({exc})", "re-copy or re-compress it"
        ) from None


def _shortest(patterns: Iterable[bytes]) -> list[bytes]:
    """The patterns, sorted, without those that extend another (every place b"\\t2474"
    is found, b"\\t247" is found too: the line would be looked at twice)."""
    kept: list[bytes] = []
    for pattern in sorted(set(patterns)):  # (a prefix sorts before what extends it)
        if not any(pattern.startswith(shorter) for shorter in kept):
            kept.append(pattern)
    return kept


def read_header(stream) -> tuple[bytes, bytes]:
    """(header bytes through the #CHROM line, the rest of the chunk it was read with)."""
    data = b""
    while True:
        chunk = stream.read(CHUNK)
        data += chunk
        start = 0 if data.startswith(b"#CHROM") else data.find(b"\n#CHROM")
        if start >= 0:
            end = data.find(b"\n", start + 1)
            if end >= 0:
                return data[: end + 1], data[end + 1 :]
        if not chunk:
            return data, b""


def _scan(stream, names: set[bytes], spans, patterns: list[bytes]) -> LocusLines:
    header, rest = read_header(stream)
    found = LocusLines(header)
    state = _WindowState()
    numbered = 0  # data lines before the current block
    tail = rest
    while True:
        chunk = stream.read(CHUNK)
        data = tail + chunk
        if not chunk:
            block, tail = data, b""
            if block and not block.endswith(b"\n"):
                block += b"\n"
        else:
            cut = data.rfind(b"\n") + 1
            block, tail = data[:cut], data[cut:]
        if block:
            _candidates(block, numbered, names, spans, patterns, found, state)
            numbered += block.count(b"\n")
        if not chunk:
            break
    found.data_lines = numbered
    return found


@dataclass
class _WindowState:
    before: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # last line before
    entered: set[int] = field(default_factory=set)  # windows whose first line was seen
    numbers: set[int] = field(default_factory=set)  # line numbers already taken


def _candidates(block: bytes, numbered: int, names, spans, patterns, found, state) -> None:
    hits = []
    for pattern in patterns:
        i = block.find(pattern)
        while i >= 0:
            hits.append(i)
            i = block.find(pattern, i + 1)
    hits += _unplaceable(block, names)
    hits.sort()
    counted_to, lines_before = 0, numbered  # newline count up to counted_to, incrementally
    last_start = -1
    for i in hits:
        start = block.rfind(b"\n", 0, i) + 1
        if start == last_start or block[start:i] not in names:
            continue  # same line again, or the hit is not the POS column of a chr1 line
        last_start = start
        end = block.find(b"\n", i)
        pos_end = block.find(b"\t", i + 1, end)
        try:
            pos = int(block[i + 1 : pos_end if pos_end >= 0 else end])
        except ValueError:
            pos = None  # malformed: keep it, so that the parser names the line
        lines_before += block.count(b"\n", counted_to, start)
        counted_to = start
        number = lines_before + 1
        line = block[start:end]
        for w, (lo, hi) in enumerate(spans):
            if pos is None or lo <= pos <= hi:
                if w not in state.entered and w in state.before:
                    _take(found, state, *state.before[w])
                state.entered.add(w)
                _take(found, state, line, number)
                break
            if pos < lo and w not in state.entered:
                state.before[w] = (line, number)


def _unplaceable(block: bytes, names) -> list[int]:
    """Tab positions of chr1 lines whose POS is not a number: such a line could be a locus
    record, so it is handed to the parser, which names it in its error. (One regular
    expression that starts with a newline: the engine jumps from newline to newline.)"""
    pattern = _unplaceable_pattern(tuple(sorted(names)))
    out = [m.start(1) for m in pattern.finditer(block)]
    for name in names:  # the block's first line has no newline before it
        if block.startswith(name + b"\t"):
            start = len(name) + 1
            end = min(
                i
                for i in (block.find(b"\t", start), block.find(b"\n", start), len(block))
                if i >= 0
            )
            if not block[start:end].isdigit():
                out.append(len(name))
    return out


@cache
def _unplaceable_pattern(names: tuple[bytes, ...]) -> re.Pattern:
    """A chr1 line whose POS does not start with a digit, or has a non-digit after its
    digits (2.47e8, 1234x)."""
    alternatives = b"|".join(re.escape(n) for n in names)
    return re.compile(b"\n(?:" + alternatives + b")(\t)(?:[^0-9]|[0-9]+[^0-9\t])")


def _take(found: LocusLines, state: _WindowState, line: bytes, number: int) -> None:
    if number not in state.numbers:
        state.numbers.add(number)
        found.lines.append(line)
        found.numbers.append(number)
