"""Alignment files as labs keep them: what is wrong with one, in one line naming it.

htslib reports a SAM text file, another file's index, a damaged block or a CRAM without
its reference as "truncated file" or "Closing failed: Success", naming nothing. These
checks run before the reads are read (cheap: the file's first bytes, the index's
modification time and, for a BAI, where it says the reads end) or after a read failed
(the CRAM's reference checksums, the byte where reading stopped).
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from nlrp3annot.errors import InputFileError

BGZF_EOF_SIZE = 28  # the empty block that ends every BGZF file
_PSEUDO_BIN = 37450  # the BAI bin holding a reference's first and last virtual offsets


def check_is_alignment_file(path: Path) -> None:
    """Refuse, by their first bytes, what cannot be an indexed BAM/CRAM: a directory, an
    empty file, a SAM text file (which ``samtools index`` refuses)."""
    if path.is_dir():
        raise InputFileError(path, "is a directory, not a BAM or CRAM file",
                             "give the alignment file inside it")  # fmt: skip
    if not path.exists():
        raise InputFileError(path, "no such file", "give a BAM or CRAM file")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] == b"\x1f\x8b" or head == b"CRAM":
        return
    if head[:1] == b"@" or b"\t" in head:
        stem = path.with_suffix("")
        raise InputFileError(
            path, "is a SAM text file, which cannot be indexed or read by region",
            f"convert it: 'samtools view -b -o {stem}.bam {path}' then "
            f"'samtools index {stem}.bam'",
        )  # fmt: skip
    what = "is empty" if not head else "is not a BAM or CRAM file (not BGZF or CRAM data)"
    raise InputFileError(path, what, "give a BAM or CRAM file")


def index_path(path: Path) -> Path | None:
    """The index htslib would use beside ``path`` (x.bam.bai, x.bai, x.bam.csi, x.cram.crai)."""
    candidates = (
        [path.with_name(path.name + ".crai"), path.with_suffix(".crai")]
        if path.suffix == ".cram"
        else [path.with_name(path.name + ".bai"), path.with_suffix(".bai"),
              path.with_name(path.name + ".csi")]
    )  # fmt: skip
    return next((p for p in candidates if p.is_file()), None)


def check_index(path: Path) -> None:
    """Refuse an index made before its file was last written (htslib only warns, then
    reads where the old index points: reads of the rewritten file go missing), and a BAI
    that does not end where the file's reads end (another file's index)."""
    index = index_path(path)
    if index is None:
        return  # pysam's has_index() then says so
    if int(index.stat().st_mtime) < int(path.stat().st_mtime):
        raise InputFileError(
            path, f"its index {index.name} is older than the file (made before the file "
            "was rewritten: reads would go missing)", f"index it again: 'samtools index {path}'",
        )  # fmt: skip
    if index.suffix == ".bai":
        _check_bai_end(path, index)


def _check_bai_end(path: Path, index: Path) -> None:
    """A BAI records where each reference's reads end. With no unplaced reads after them,
    the file must end there (the block holding the last read, then the EOF block); an
    index that points beyond the file or ends short of it is another file's."""
    ends = _bai_read_ends(index)
    if ends is None:
        return  # not a BAI we can read: htslib will say
    last, unplaced = ends
    size = path.stat().st_size
    block, within = last >> 16, last & 0xFFFF
    if block > size:
        raise _not_its_index(path, index, f"points to byte {block:,} of a {size:,}-byte file")
    if unplaced or last == 0:
        return
    end = block
    if within:
        with path.open("rb") as handle:  # the length of the block holding the last read
            handle.seek(block)
            header = handle.read(18)
        if len(header) < 18 or header[:2] != b"\x1f\x8b":
            raise _not_its_index(path, index, f"points to byte {block:,}, not a block start")
        end = block + struct.unpack_from("<H", header, 16)[0] + 1
    if end not in (size, size - BGZF_EOF_SIZE):
        raise _not_its_index(
            path, index, f"says the reads end at byte {end:,} but the file has {size:,} bytes"
        )


def _not_its_index(path: Path, index: Path, detail: str) -> InputFileError:
    return InputFileError(
        path, f"its index {index.name} is not this file's ({detail}): another file's index, "
        "or one made before the file was rewritten", f"index it again: 'samtools index {path}'",
    )  # fmt: skip


def _bai_read_ends(index: Path) -> tuple[int, int] | None:
    """(the largest virtual offset where a reference's reads end, unplaced reads) of a
    BAI; None when it is not one."""
    data = index.read_bytes()
    if data[:4] != b"BAI\x01":
        return None
    try:
        (n_ref,), at, last = struct.unpack_from("<i", data, 4), 8, 0
        for _ in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, at)
            at += 4
            for _ in range(n_bin):
                bin_id, n_chunk = struct.unpack_from("<Ii", data, at)
                if bin_id == _PSEUDO_BIN:
                    last = max(last, struct.unpack_from("<Q", data, at + 16)[0])
                at += 8 + 16 * n_chunk
            (n_intv,) = struct.unpack_from("<i", data, at)
            at += 4 + 8 * n_intv
        unplaced = struct.unpack_from("<Q", data, at)[0] if at + 8 <= len(data) else 0
    except struct.error:
        return None
    return last, unplaced


def read_failure(path: Path, handle, exc: OSError) -> InputFileError:
    """What went wrong when reading ``path`` failed part way (htslib: "truncated file")."""
    if path.suffix == ".cram":
        return _cram_failure(path)
    try:
        where = handle.tell() >> 16
    except (OSError, ValueError):
        where = None
    at = f" near byte {where:,}" if where is not None else ""
    return InputFileError(
        path, f"corrupt BGZF block{at} ({exc}): the file is damaged or cut short",
        "copy it again from the source, or check it with 'samtools quickcheck'",
    )  # fmt: skip


def check_cram_reference(path: Path, handle, fasta: Path, contig: str) -> None:
    """A CRAM stores the reads as differences from its reference: the FASTA must hold the
    header's contig, with the same bases (the @SQ M5 checksum). htslib decodes a CRAM
    against whatever FASTA it is given, so a CRAM of another reference gives other bases."""
    import pysam

    sq = next((s for s in handle.header.to_dict().get("SQ", []) if s.get("SN") == contig), {})
    with pysam.FastaFile(str(fasta)) as genome:
        if contig not in genome.references:
            raise InputFileError(
                path, f"its reference cannot be found: it was encoded against contig "
                f"{contig!r}, which {fasta.name} does not hold",
                "give with --fasta the FASTA the CRAM was made with",
            )  # fmt: skip
        wanted = sq.get("M5", "").lower()
        if not wanted:
            return
        md5 = fasta_contig_md5(genome, contig, str(fasta))
    if md5 != wanted:
        raise InputFileError(
            path, f"was encoded against another reference: its @SQ M5 for {contig} is "
            f"{wanted}, but {contig} of {fasta.name} has MD5 {md5}",
            "give with --fasta the FASTA the CRAM was made with",
        )  # fmt: skip


def _cram_failure(path: Path) -> InputFileError:
    return InputFileError(
        path, "could not be decoded with its reference (a damaged or cut-short CRAM)",
        "copy it again from the source, or check it with 'samtools quickcheck'",
    )  # fmt: skip


_MD5: dict[tuple[str, str], str] = {}


def fasta_contig_md5(genome, contig: str, key: str) -> str:
    """The MD5 of a contig of an open FASTA as the SAM spec computes @SQ M5 (upper case),
    in 8 Mb pieces (a chromosome 1 is 250 MB); once per FASTA and contig."""
    if (key, contig) not in _MD5:
        md5, length, step = hashlib.md5(), genome.get_reference_length(contig), 1 << 23
        for start in range(0, length, step):
            md5.update(genome.fetch(contig, start, start + step).upper().encode("ascii"))
        _MD5[key, contig] = md5.hexdigest()
    return _MD5[key, contig]
