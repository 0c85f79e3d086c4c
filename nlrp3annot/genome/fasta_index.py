"""A stretch of an indexed FASTA read without htslib: the ``.fai`` says where the bases lie,
the ``.gzi`` (bgzip) which compressed block holds them.

The locus is ~47 kb of one contig: a seek, a few 64 kB blocks inflated, the newlines taken
out. Importing pysam for it cost more (12 ms of every annotate run's start-up) than the
reading. Anything this does not read as expected (no index, a line layout other than the
.fai's, a damaged block) gives None, and htslib reads the file and says what is wrong.
"""

from __future__ import annotations

import struct
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

_READ = 1 << 16  # compressed bytes read at a time (a BGZF block is at most 64 kB)


def fetch_indexed(path: Path, names: Sequence[str], start: int, end: int) -> str | None:
    """Bases ``start .. end - 1`` (0-based, ``end`` clipped to the contig's length) of the
    first of ``names`` the ``.fai`` lists, as written; None when htslib should read it."""
    try:
        return _fetch(path, names, start, end)
    except (OSError, ValueError, EOFError, zlib.error, struct.error):
        return None


def _fetch(path: Path, names: Sequence[str], start: int, end: int) -> str | None:
    fai = path.with_name(path.name + ".fai")
    if not fai.is_file():
        return None
    index: dict[str, tuple[int, ...]] = {}
    for line in fai.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) < 5:
            return None
        index[fields[0]] = tuple(int(x) for x in fields[1:5])
    name = next((n for n in names if n in index), None)
    if name is None:
        return None
    length, offset, line_bases, line_width = index[name]
    end = min(end, length)
    if start < 0 or start >= end or line_bases <= 0 or line_width < line_bases:
        return None
    first = offset + start // line_bases * line_width + start % line_bases
    last = offset + (end - 1) // line_bases * line_width + (end - 1) % line_bases + 1
    with path.open("rb") as handle:
        if handle.read(2) == b"\x1f\x8b":
            raw = _bgzf_range(path, handle, first, last)
        else:
            handle.seek(first)
            raw = handle.read(last - first)
    if raw is None:
        return None
    bases = _lines_joined(raw, start % line_bases, end - start, line_bases, line_width)
    return None if bases is None else bases.decode("ascii")


def _lines_joined(raw: bytes, column: int, size: int, line_bases: int, line_width: int):
    """The ``size`` bases of ``raw`` (which starts at ``column`` of a line), their line
    ends taken out; None unless every line end is where the .fai puts it."""
    parts, at, gap = [], 0, line_width - line_bases
    while size > 0:
        take = min(line_bases - column, size)
        parts.append(raw[at : at + take])
        at, size, column = at + take, size - take, 0
        if size > 0:
            if len(raw[at : at + gap].strip(b"\r\n")) or len(raw[at : at + gap]) != gap:
                return None
            at += gap
    bases = b"".join(parts)
    if b"\n" in bases or b"\r" in bases or len(raw) != at:
        return None  # a shorter line than the .fai says
    return bases


def _bgzf_range(path: Path, handle, first: int, last: int) -> bytes | None:
    """Uncompressed bytes ``first .. last - 1`` of a bgzip file, from the block the .gzi
    places at or before ``first``."""
    gzi = path.with_name(path.name + ".gzi")
    if not gzi.is_file():
        return None
    data = gzi.read_bytes()
    (count,) = struct.unpack_from("<Q", data, 0)
    if len(data) != 8 + 16 * count:
        return None
    blocks = [(0, 0), *struct.iter_unpack("<QQ", data[8:])]  # (compressed, uncompressed)
    compressed, uncompressed = blocks[bisect_right([u for _, u in blocks], first) - 1]
    handle.seek(compressed)
    out = bytearray()
    member = zlib.decompressobj(31)
    while len(out) < last - uncompressed:
        chunk = handle.read(_READ)
        if not chunk:
            break
        while chunk:
            out += member.decompress(chunk)
            if member.eof:  # the next BGZF block is the next gzip member
                chunk, member = member.unused_data, zlib.decompressobj(31)
            else:
                chunk = b""
    raw = bytes(out[first - uncompressed : last - uncompressed])
    return raw if len(raw) == last - first else None
