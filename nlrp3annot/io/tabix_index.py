"""Where a region starts in a bgzip file, from its tabix (.tbi) index.

pysam's tabix fetch decompresses with htslib and hands every line over as a Python string;
for the 500 kB lines of a 20,000-sample joint VCF that costs four times what python-isal
needs to inflate the same bytes. Reading the index's linear part (the smallest virtual
offset of any record overlapping each 16 kb window) is enough to seek straight to the
locus and inflate from there with isal. Format: the SAM/BAM specification, "Tabix index".
CSI indexes are left to htslib.
"""

from __future__ import annotations

import struct
from pathlib import Path

from nlrp3annot.io.vcf import CHR1_NAMES

_WINDOW_SHIFT = 14  # the linear index has one offset per 16 kb window


def contig_offsets(index: Path) -> dict[str, list[int]]:
    """Each contig's linear index (virtual file offsets per 16 kb window) from a .tbi.
    ValueError when the file is not a tabix index."""
    import gzip  # (here: a plain-text VCF's run does not load it)

    data = gzip.decompress(index.read_bytes())
    if data[:4] != b"TBI\x01":
        raise ValueError(f"{index}: not a tabix index")
    n_ref = struct.unpack_from("<i", data, 4)[0]
    l_nm = struct.unpack_from("<i", data, 32)[0]
    names = [n.decode() for n in data[36 : 36 + l_nm].split(b"\0")[:n_ref]]
    at = 36 + l_nm
    out: dict[str, list[int]] = {}
    for name in names:
        (n_bin,) = struct.unpack_from("<i", data, at)
        at += 4
        for _ in range(n_bin):
            _bin, n_chunk = struct.unpack_from("<Ii", data, at)
            at += 8 + 16 * n_chunk
        (n_intv,) = struct.unpack_from("<i", data, at)
        at += 4
        out[name] = list(struct.unpack_from(f"<{n_intv}Q", data, at))
        at += 8 * n_intv
    return out


def start_offset(linear: list[int], position: int) -> int | None:
    """The virtual offset to read from to meet every record overlapping ``position``
    (1-based) or later on a contig; None when the contig has no records that far."""
    if not linear:
        return None
    window = (position - 1) >> _WINDOW_SHIFT
    if window >= len(linear):
        window = len(linear) - 1  # records may still start in the last window
    offsets = [off for off in linear[: window + 1] if off]
    return linear[window] or (offsets[-1] if offsets else linear[0])


def seek_locus(path: Path, windows: dict[str, tuple[int, int]]):
    """(header bytes, numbered locus lines) of a bgzip VCF with a .tbi, read from the
    index's offset for the locus on; None when there is no usable .tbi."""
    import struct

    from nlrp3annot.io.locus_filter import SPAN_MARGIN, read_header

    tbi = path.with_name(path.name + ".tbi")
    try:
        linear = contig_offsets(tbi) if tbi.exists() else None
    except (OSError, ValueError, EOFError, struct.error):
        linear = None  # unreadable index: htslib's turn (or the whole file)
    if linear is None:
        return None
    from isal import igzip_threaded

    with igzip_threaded.open(path, "rb", threads=1) as stream:
        header, _ = read_header(stream)
    contig = next((n for n in CHR1_NAMES if n in linear), None)
    spans = [(max(lo - SPAN_MARGIN, 1), hi) for lo, hi in windows.values()]
    offset = start_offset(linear[contig], min(s for s, _ in spans)) if contig else None
    if offset is None:
        return header, iter(())
    return header, _lines_from(path, offset, contig, spans)


def _lines_from(path: Path, offset: int, contig: str, spans: list[tuple[int, int]]):
    """Numbered lines of ``contig`` overlapping ``spans``, from virtual ``offset`` on, until
    the contig ends or the last span is passed (the file is sorted: it is indexed)."""
    from isal import igzip_threaded

    name, last = contig.encode() + b"\t", max(hi for _, hi in spans)
    number = 0
    with path.open("rb") as raw:
        raw.seek(offset >> 16)
        with igzip_threaded.open(raw, "rb", threads=1) as stream:
            stream.read(offset & 0xFFFF)
            tail = b""
            while True:
                chunk = stream.read(1 << 22)
                data = tail + chunk
                cut = len(data) if not chunk else data.rfind(b"\n") + 1
                block, tail = data[:cut], data[cut:]
                for line in block.split(b"\n"):
                    if not line:
                        continue
                    if not line.startswith(name):
                        return  # the next contig
                    end = line.find(b"\t", len(name))
                    try:
                        pos = int(line[len(name) : end])
                    except ValueError:
                        pos = None  # malformed: the parser names it
                    if pos is not None and pos > last:
                        return
                    if pos is None or any(lo <= pos <= hi for lo, hi in spans):
                        number += 1
                        yield number, line
                if not chunk:
                    return
