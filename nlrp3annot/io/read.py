"""Which reader reads a VCF/BCF: the dispatch above the readers (:func:`scan_vcf`).

BCF goes through htslib (:mod:`nlrp3annot.io.pysam_reader`); text VCFs (plain, gzip, bgzip)
through :mod:`nlrp3annot.io.text_reader`, by their tabix index when the file is large and
the index belongs to it (:mod:`nlrp3annot.io.index_check` judges by content, not by clock).
The readers share the values and helpers of :mod:`nlrp3annot.io.vcf`; this module sits above
them so that nothing below imports it back.
"""

from __future__ import annotations

from pathlib import Path

from nlrp3annot.errors import InputFileError
from nlrp3annot.genome.reference import BUILDS, locus_window
from nlrp3annot.io.vcf import VcfScan, Watch, is_bgzf_bcf

# An indexed text VCF smaller than this is read whole (decompressing 256 KiB costs less
# than opening the file and its index through htslib, ~2-4 ms).
INDEX_MIN_BYTES = 256 * 1024


def _is_plain_gzip(head: bytes) -> bool:
    """gzip but not bgzip (no BGZF 'BC' extra field): htslib cannot seek in it."""
    return head[:2] == b"\x1f\x8b" and not (head[3] & 4 and head[12:14] == b"BC")


def _check_path(path: Path) -> bytes:
    if not path.exists():
        raise InputFileError(path, "no such file", "check the path")
    if not path.is_file():
        raise InputFileError(path, "is not a file", "give a VCF, VCF.gz or BCF file")
    try:
        with path.open("rb") as handle:
            return handle.read(18)
    except OSError as exc:
        raise InputFileError(
            path, f"cannot be read ({exc.strerror})", "check its permissions"
        ) from None


def _stale_index(path: Path, warnings: list[str]) -> bool:
    """Does the index beside ``path`` not belong to it? Judged by content
    (io.index_check), not by modification times: a copy's index may be older than its file
    and still right, and a rewritten file's index is wrong whatever its time."""
    from nlrp3annot.io.index_check import index_of, mismatch

    index = index_of(path)
    if index is None:
        return False
    problem = mismatch(path, index)
    if problem is None:
        return False
    warnings.append(
        f"{path}: index {index.name} does not match the file ({problem}), not used (the file "
        f"is read whole); re-index it with 'bcftools index -f' or 'tabix -f -p vcf'"
    )
    return True


def _has_index_file(path: Path) -> bool:
    """Is there an index file beside the VCF (whether to trust it is decided later)?"""
    return any(path.with_name(path.name + s).exists() for s in (".tbi", ".csi"))


def scan_vcf(
    path: str | Path,
    watch: Watch | None = None,
    arrays: bool | None = None,
    min_alt_reads: int = 3,
    samples: list[str] | None = None,
    reader: str = "auto",
    keep_lines: bool = False,
    min_depth: int = 20,
) -> VcfScan:
    """Read the records of ``path`` that fall in the NLRP3 window of either build.

    ``watch``: positions where each sample's depth is recorded. ``arrays``: find the samples
    worth decoding with numpy (None: when the file has at least ``ARRAY_SAMPLES`` samples).
    ``min_alt_reads``: ALT reads that make a 0/0 sample worth a call (a possible mosaic).
    ``samples``: read only these samples (a shard of a joint VCF). ``reader``: "auto", or
    "htslib" to read even a text VCF through pysam (the reference implementation).
    ``keep_lines``: keep a text VCF's header and locus lines in ``VcfScan.source``.
    ``min_depth``: the reads a reference call needs to count as evidence of absence."""
    path = Path(path)
    head = _check_path(path)
    watch = watch or Watch()
    windows = {b: locus_window(b) for b in BUILDS}
    warnings: list[str] = []
    bcf = head[:3] == b"BCF" or (head[:2] == b"\x1f\x8b" and is_bgzf_bcf(path))
    has_index = _has_index_file(path)
    if bcf or reader == "htslib":
        indexed = has_index and not _stale_index(path, warnings)
        from nlrp3annot.io.pysam_reader import scan_with_htslib

        return scan_with_htslib(  # genotype arrays (cyvcf2) are for BCF only
            path,
            windows,
            watch,
            warnings,
            indexed,
            arrays if bcf else False,
            min_alt_reads,
            samples,
            min_depth,
        )
    from nlrp3annot.io.text_reader import scan_text

    big = path.stat().st_size >= INDEX_MIN_BYTES
    # (checked only where it would be used: the check costs ~5 ms, a small file's whole read)
    use_index = has_index and big and not _is_plain_gzip(head)
    use_index = use_index and not _stale_index(path, warnings)
    return scan_text(
        path,
        windows,
        watch,
        warnings,
        use_index,
        arrays,
        min_alt_reads,
        samples,
        keep_lines,
        min_depth,
    )
