"""Does a tabix (.tbi) or CSI index belong to the file beside it? Judged by content, not by
the clock.

An index older than its file was once refused outright, but copies without ``-p``, a
workflow's staging and object stores give a matching index an older mtime, and refusing it
reads a large joint VCF whole: a silent slowdown. An index of another file (or of this file
before it was rewritten) must still be refused: a fetch through it can miss every record.
So: every reference's first and last indexed offsets must lie inside the file, a BGZF block
must start at the first, and (for text VCF) the line found there must be a record of that
reference. A rewritten file fails one of these almost surely; a copy passes.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def index_of(path: Path) -> Path | None:
    for suffix in (".tbi", ".csi"):
        index = path.with_name(path.name + suffix)
        if index.exists():
            return index
    return None


def mismatch(path: Path, index: Path) -> str | None:
    """Why ``index`` does not describe ``path`` (None: it does, as far as content shows)."""
    try:
        data = gzip.decompress(index.read_bytes())
        names, refs = _parse(data)
    except (OSError, EOFError, ValueError, struct.error, zlib.error) as exc:
        return f"cannot be read as an index ({exc})"
    size = path.stat().st_size
    with path.open("rb") as handle:
        for name, (first, last) in zip(names or [None] * len(refs), refs, strict=False):
            if first is None:
                continue  # a reference with no records
            if first >> 16 >= size or last >> 16 > size:
                return "points past the end of the file"
            handle.seek(first >> 16)
            block = handle.read(65536 + 1024)
            if block[:4] != BGZF_MAGIC:
                return "points where no compressed block starts"
            if name is not None:
                try:
                    text = zlib.decompressobj(-15).decompress(block[18:])
                except zlib.error:
                    return "points where no compressed block starts"
                line = text[first & 0xFFFF :].split(b"\n", 1)[0]
                if line.split(b"\t", 1)[0].decode("latin-1") != name:
                    return f"says {name} starts where the file has another record"
    return None


def _parse(data: bytes) -> tuple[list[str] | None, list[tuple[int | None, int]]]:
    """(reference names or None, per reference the lowest and highest virtual offsets of its
    chunks) from a decompressed .tbi or .csi."""
    magic = data[:4]
    if magic == b"TBI\x01":
        (n_ref,) = struct.unpack_from("<i", data, 4)
        l_nm = struct.unpack_from("<7i", data, 8)[6]
        names = _names(data[36 : 36 + l_nm])
        return names, _refs(data, 36 + l_nm, n_ref, csi=False)
    if magic == b"CSI\x01":
        _, _, l_aux = struct.unpack_from("<3i", data, 4)
        aux = data[16 : 16 + l_aux]
        names = None
        if l_aux >= 28:  # tabix-style meta: format, columns, meta char, skip, names
            l_nm = struct.unpack_from("<i", aux, 24)[0]
            names = _names(aux[28 : 28 + l_nm])
        (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
        return names, _refs(data, 20 + l_aux, n_ref, csi=True)
    raise ValueError("not a tabix or CSI index")


def _names(raw: bytes) -> list[str]:
    return [n.decode("latin-1") for n in raw.split(b"\x00") if n]


def _refs(data: bytes, at: int, n_ref: int, csi: bool) -> list[tuple[int | None, int]]:
    # the pseudo-bin (offsets range and record counts, not a chunk of records)
    pseudo = _csi_pseudo_bin(data) if csi else 37450
    out = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, at)
        at += 4
        low, high = None, 0
        for _ in range(n_bin):
            (bin_id,) = struct.unpack_from("<I", data, at)
            at += 4 + (8 if csi else 0)  # CSI: the bin's loffset
            (n_chunk,) = struct.unpack_from("<i", data, at)
            at += 4
            chunks = struct.unpack_from(f"<{2 * n_chunk}Q", data, at)
            at += 16 * n_chunk
            if bin_id == pseudo and n_chunk == 2:
                continue
            for beg, end in zip(chunks[::2], chunks[1::2], strict=True):
                low = beg if low is None else min(low, beg)
                high = max(high, end)
        if not csi:
            (n_intv,) = struct.unpack_from("<i", data, at)
            at += 4 + 8 * n_intv
        out.append((low, high))
    return out


def _csi_pseudo_bin(data: bytes) -> int:
    _, depth = struct.unpack_from("<2i", data, 4)
    return ((1 << ((depth + 1) * 3)) - 1) // 7 + 1
