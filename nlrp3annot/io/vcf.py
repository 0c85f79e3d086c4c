"""Reading VCF/BCF through htslib: the NLRP3 windows of both builds, split per ALT.

Only the locus is touched. An index is used for a region fetch when it can be trusted (newer
than its file; the contig name is taken from the index, i.e. from the records, so a header
that says ``chr1`` over records that say ``1`` still works). Without one, text VCFs are
pre-filtered on the raw bytes (:mod:`nlrp3annot.io.locus_filter`) and only the candidate
lines are parsed by htslib; BCF is streamed with htslib's decompression threads.

Every record in a window is either returned or listed as skipped with its reason; records
elsewhere are only counted. Files with many samples (joint VCFs) have their genotypes read as
arrays (:mod:`nlrp3annot.io.genotype_arrays`): per-sample calls are built only for samples
that may carry an allele or lack a genotype, with identical results.
"""

from __future__ import annotations

import bisect
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.errors import InputFileError, RecordError
from nlrp3annot.genome.reference import BUILDS, CHR1_LENGTH, locus_window
from nlrp3annot.naming.variant import Variant
from nlrp3annot.patients.zygosity import SampleCall

CHR1_NAMES = ("chr1", "1", "NC_000001.11", "NC_000001.10")
_BASES = frozenset("ACGTNacgtn")
# From this many samples on, genotypes are read as arrays (cyvcf2) instead of one pysam
# object per sample; below it numpy's import (~0.15 s) would cost more than it saves.
ARRAY_SAMPLES = 32


@dataclass(frozen=True)
class Record:
    """One ALT allele of one VCF record inside an NLRP3 window."""

    index: int  # 1-based record number in the file (data lines), or in the fetched region
    variant: Variant
    record_id: str
    filter: str
    allele_index: int  # 1 for the first ALT
    n_alts: int
    calls: tuple[SampleCall, ...] = ()  # samples that may carry it (or lack a genotype)


@dataclass(frozen=True)
class Skipped:
    path: str
    chrom: str
    pos: int
    ref: str
    alt: str
    reason: str


@dataclass
class VcfScan:
    """What a pass over one file found."""

    path: str
    records: dict[str, list[Record]]  # build -> records inside that build's window
    skipped: dict[str, list[Skipped]]  # build -> records of that window not annotated
    chr1_length: int | None  # from the ##contig header line, when present
    records_read: int = 0
    outside: int = 0  # -1: unknown (an index let the rest go unread)
    samples: list[str] = field(default_factory=list)
    # build -> sample -> (lowest depth, its position) over the watched (pathogenic) positions
    lowest_depth: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    gvcf_blocks: int = 0
    warnings: list[str] = field(default_factory=list)

    def header_build(self) -> str | None:
        for build, length in CHR1_LENGTH.items():
            if self.chr1_length == length:
                return build
        return None


class Watch:
    """Positions (1-based, per build) where each sample's depth is recorded: the pathogenic
    positions, where "no variant" means something only with enough reads."""

    def __init__(self, positions: Mapping[str, Sequence[int]] | None = None) -> None:
        self.positions = {b: sorted(positions.get(b, ())) if positions else [] for b in BUILDS}

    def first_hit(self, build: str, start: int, end: int) -> int | None:
        """The first watched position in ``start..end``, or None."""
        pos = self.positions[build]
        i = bisect.bisect_left(pos, start)
        return pos[i] if i < len(pos) and pos[i] <= end else None


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


def _open(path: Path, shown: Path | None = None, threads: int = 0):
    import pysam

    pysam.set_verbosity(0)  # htslib's own warnings would duplicate our one-line messages
    try:
        return pysam.VariantFile(str(path), threads=threads)
    except (ValueError, OSError) as exc:
        text = str(exc)
        if "truncated" in text or "EOF marker" in text:
            raise InputFileError(
                shown or path, "truncated bgzip file", "re-copy or re-compress it"
            ) from None
        raise InputFileError(
            shown or path,
            "not a VCF/BCF file (no valid header)",
            "give a .vcf, .vcf.gz or .bcf starting with ##fileformat=VCF",
        ) from None


def _header_chr1(vf) -> int | None:
    for name in CHR1_NAMES:
        if name in vf.header.contigs:
            length = vf.header.contigs[name].length
            return int(length) if length else None
    return None


def _stale_index(path: Path, warnings: list[str]) -> bool:
    """Is an index beside ``path`` older than the file? (A VCF rewritten after indexing:
    a fetch through the old index can miss every record.)"""
    for suffix in (".tbi", ".csi"):
        idx = path.with_name(path.name + suffix)
        if idx.exists() and idx.stat().st_mtime < path.stat().st_mtime:
            warnings.append(
                f"{path}: index {idx.name} is older than the file, not used (the file is read "
                f"whole); re-index it with 'bcftools index -f' or 'tabix -f -p vcf'"
            )
            return True
    return False


def _index_contig(vf) -> str | None | bool:
    """The chr1 name to fetch by, as the index knows it (i.e. as the records spell it); None
    when the index has no chr1 records; False when there is no usable index."""
    if vf.index is None:
        return False
    try:
        names = {str(k) for k in vf.index}
    except (AttributeError, TypeError, ValueError):
        return False
    return next((name for name in CHR1_NAMES if name in names), None)


def scan_vcf(
    path: str | Path,
    watch: Watch | None = None,
    arrays: bool | None = None,
    min_alt_reads: int = 3,
    samples: list[str] | None = None,
) -> VcfScan:
    """Read the records of ``path`` that fall in the NLRP3 window of either build.

    ``watch``: positions where each sample's depth is recorded. ``arrays``: read genotypes as
    arrays (None: when the file has at least ``ARRAY_SAMPLES`` samples). ``min_alt_reads``:
    ALT reads that make a 0/0 sample worth a call (a possible mosaic). ``samples``: read
    only these samples (a shard of a joint VCF), in this order."""
    path = Path(path)
    head = _check_path(path)
    watch = watch or Watch()
    windows = {b: locus_window(b) for b in BUILDS}
    warnings: list[str] = []
    bcf = head[:3] == b"BCF" or (head[:2] == b"\x1f\x8b" and _is_bgzf_bcf(path))
    indexed = _has_index_file(path) and not _stale_index(path, warnings)
    if not bcf and (_is_plain_gzip(head) or not indexed):
        return _scan_filtered(path, watch, windows, arrays, min_alt_reads, warnings, samples)
    with _open(path) as vf:
        scan = _new_scan(path, vf, warnings, samples=samples)
        contig = _index_contig(vf) if indexed else False
        if contig is False and not bcf:
            return _scan_filtered(path, watch, windows, arrays, min_alt_reads, warnings, samples)
        if contig is False:
            regions = None
        else:
            scan.outside = -1  # unknown: the index lets us skip the rest unread
            regions = [] if contig is None else [(contig, lo, hi) for lo, hi in windows.values()]
        use_arrays = _use_arrays(arrays, scan)
    if use_arrays:
        from nlrp3annot.io.genotype_arrays import scan_arrays

        scan_arrays(path, scan, regions, windows, watch, min_alt_reads, samples=samples)
        return scan
    with _open(path, threads=1 if regions is None else 0) as vf:
        if samples is not None:
            vf.subset_samples(samples)
        sources = (
            [iter(vf)] if regions is None else [vf.fetch(c, lo - 1, hi) for c, lo, hi in regions]
        )
        for source in sources:
            for index, rec in _records(path, source):
                _take(path, index, rec, scan, windows, watch, regions is not None)
    return scan


def _is_bgzf_bcf(path: Path) -> bool:
    """A compressed BCF (the usual kind) starts, once inflated, with 'BCF'."""
    import gzip

    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(3) == b"BCF"
    except (OSError, EOFError):
        return False


def _has_index_file(path: Path) -> bool:
    """Is there an index file beside the VCF (whether to trust it is decided later)?"""
    return any(path.with_name(path.name + s).exists() for s in (".tbi", ".csi"))


def _new_scan(
    path: Path, vf, warnings: list[str], shown: Path | None = None, samples=None
) -> VcfScan:
    scan = VcfScan(
        str(shown or path), {b: [] for b in BUILDS}, {b: [] for b in BUILDS}, _header_chr1(vf)
    )
    scan.samples = list(vf.header.samples)
    if samples is not None:
        unknown = [s for s in samples if s not in set(scan.samples)]
        if unknown:
            raise InputFileError(shown or path, f"has no sample {unknown[0]!r}")
        scan.samples = list(samples)
    scan.lowest_depth = {b: {} for b in BUILDS}
    scan.warnings = warnings
    if len(set(scan.samples)) != len(scan.samples):
        dup = next(s for s in scan.samples if scan.samples.count(s) > 1)
        raise InputFileError(
            shown or path,
            f"sample name {dup!r} appears twice in the #CHROM line",
            "give every sample column its own name (bcftools reheader -s)",
        )
    return scan


def _use_arrays(arrays: bool | None, scan: VcfScan) -> bool:
    if not scan.samples:
        return False
    return len(scan.samples) >= ARRAY_SAMPLES if arrays is None else arrays


def _scan_filtered(path, watch, windows, arrays, min_alt_reads, warnings, samples) -> VcfScan:
    """An unindexed text VCF: candidate lines found on the bytes, parsed by htslib."""
    from nlrp3annot.io.locus_filter import read_locus_lines

    found = read_locus_lines(path, CHR1_NAMES, windows.values())
    if not found.header.startswith(b"##fileformat=VCF"):
        text = found.header.lstrip(b"\xef\xbb\xbf")
        hint = "give a .vcf, .vcf.gz or .bcf starting with ##fileformat=VCF"
        if text.startswith(b"##fileformat=VCF"):
            hint = "the file starts with a byte-order mark; save it as UTF-8 without BOM"
        raise InputFileError(path, "not a VCF/BCF file (no valid header)", hint)
    with tempfile.TemporaryDirectory(prefix="nlrp3annot-") as tmp:
        locus = Path(tmp) / "locus.vcf"
        with locus.open("wb") as out:
            out.write(found.header)
            for line in found.lines:
                out.write(line.rstrip(b"\r") + b"\n")
        with _open(locus, shown=path) as vf:
            scan = _new_scan(locus, vf, warnings, shown=path, samples=samples)
            use_arrays = _use_arrays(arrays, scan)
            if samples is not None and not use_arrays:
                vf.subset_samples(samples)
            if not use_arrays:
                for index, rec in _records(locus, iter(vf), found.numbers, path):
                    _take(path, found.numbers[index - 1], rec, scan, windows, watch, False)
        if use_arrays:
            from nlrp3annot.io.genotype_arrays import scan_arrays

            scan_arrays(locus, scan, None, windows, watch, min_alt_reads, found.numbers, samples)
    scan.path = str(path)
    scan.records_read = found.data_lines
    scan.outside += found.data_lines - len(found.lines)  # lines the byte filter passed over
    return scan


def _take(path, index, rec, scan: VcfScan, windows, watch: Watch, fetched: bool) -> None:
    if fetched:
        scan.records_read += 1
    build = window_of(rec.chrom, rec.pos, len(rec.ref or ""), windows)
    if build is None:
        if not fetched:
            scan.outside += 1
        return
    _split(Path(scan.path), index, rec, build, scan, watch)


def _records(
    path: Path, source, numbers: Sequence[int] | None = None, shown: Path | None = None
) -> Iterator[tuple[int, object]]:
    index = 0
    while True:
        try:
            rec = next(source)
        except StopIteration:
            return
        except (ValueError, OSError) as exc:
            # htslib reports a malformed line as "truncated file"; a truly truncated bgzip
            # file was already refused at open (no EOF marker), so show the line instead.
            number = numbers[index] if numbers and index < len(numbers) else index + 1
            line = _data_line(path, index + 1)
            shown_line = f": {line[:80]!r}" if line else f" ({exc})"
            raise RecordError(
                shown or path,
                f"#{number}",
                f"cannot be parsed{shown_line}; fix or remove that line (8+ tab-separated "
                "columns, numeric POS)",
            ) from None
        index += 1
        yield index, rec


def _data_line(path: Path, number: int) -> str:
    """The ``number``-th data line of a text or gzip/bgzip VCF ('' for BCF or on failure)."""
    import gzip

    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", errors="replace") as handle:
            seen = 0
            for line in handle:
                if line.startswith("#"):
                    continue
                seen += 1
                if seen == number:
                    return line.rstrip("\n")
    except (OSError, EOFError):
        return ""
    return ""


def window_of(chrom: str, pos: int, ref_length: int, windows) -> str | None:
    """The build whose NLRP3 window the record overlaps, or None."""
    if chrom not in CHR1_NAMES:
        return None
    end = pos + max(ref_length, 1) - 1
    for build, (lo, hi) in windows.items():
        if pos <= hi and end >= lo:
            return build
    return None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) else None


def _format(sample, key: str):
    try:
        return sample[key]
    except (KeyError, ValueError, TypeError):
        return None


def sample_calls(rec, allele: int) -> tuple[SampleCall, ...]:
    """Every sample's call for ALT number ``allele`` (1-based), genotype remapped to it."""
    calls = []
    for name, sample in rec.samples.items():
        raw = _format(sample, "GT") or (None,)
        gt = tuple(None if a is None else 1 if a == allele else 0 if a == 0 else -1 for a in raw)
        phased = bool(sample.phased) and len(raw) > 1
        sep = "|" if phased else "/"
        gt_text = sep.join("." if a is None else str(a) for a in raw)
        ad = _format(sample, "AD")
        ref_reads = alt_reads = None
        if isinstance(ad, tuple) and len(ad) > allele:
            ref_reads, alt_reads = _int_or_none(ad[0]), _int_or_none(ad[allele])
        af = _format(sample, "AF")
        if isinstance(af, tuple):
            af = af[allele - 1] if len(af) >= allele else None
        depth = _int_or_none(_format(sample, "DP"))
        calls.append(
            SampleCall(
                sample=name,
                gt=gt,
                gt_text=gt_text,
                phased=phased,
                phase_set=_int_or_none(_format(sample, "PS")),
                ref_reads=ref_reads,
                alt_reads=alt_reads,
                depth=depth,
                af=af if isinstance(af, float) else None,
            )
        )
    return tuple(calls)


def _record_depths(rec, build: str, scan: VcfScan, hit: int) -> None:
    """Each sample's depth at a record covering a watched position: DP, else MIN_DP (gVCF
    blocks), else the sum of AD."""
    lowest = scan.lowest_depth[build]
    for name, sample in rec.samples.items():
        depth = _int_or_none(_format(sample, "DP"))
        if depth is None:
            depth = _int_or_none(_format(sample, "MIN_DP"))
        if depth is None:
            ad = _format(sample, "AD")
            if isinstance(ad, tuple) and all(isinstance(x, int) for x in ad):
                depth = sum(ad)
        if depth is not None and (name not in lowest or depth < lowest[name][0]):
            lowest[name] = (depth, hit)


def skip_reason(ref: str, alt: str) -> str:
    """Why an ALT allele cannot be named ('' when it can)."""
    if alt == "<NON_REF>" or alt == "<*>":
        return "gVCF reference block allele <NON_REF>"
    if alt.startswith("<"):
        return f"symbolic allele {alt} (structural variants are not named)"
    if alt == "*":
        return "spanning deletion allele * (named at the deletion's own record)"
    if "[" in alt or "]" in alt:
        return "breakend allele (structural variants are not named)"
    if not set(alt) <= _BASES:
        return f"ALT {alt} is not a plain sequence of bases"
    if alt.upper() == ref.upper():
        return "ALT equals REF (no change)"
    return ""


def split_alleles(
    path: Path,
    index: int,
    chrom: str,
    pos: int,
    ref: str,
    alts: Sequence[str],
    record_id: str,
    filt: str,
    build: str,
    scan: VcfScan,
    calls_for,
) -> None:
    """One :class:`Record` per usable ALT; the rest go to the skipped list with a reason.
    ``calls_for(i)`` gives the sample calls for ALT number ``i``."""
    if alts and all(a in ("<NON_REF>", "<*>") for a in alts):
        scan.gvcf_blocks += 1
    if not alts:
        scan.skipped[build].append(
            Skipped(str(path), chrom, pos, ref, ".", "no ALT allele (reference call)")
        )
        return
    if not ref or not set(ref) <= _BASES:
        for alt in alts:
            scan.skipped[build].append(
                Skipped(str(path), chrom, pos, ref, alt, "REF is not a plain sequence of bases")
            )
        return
    for i, alt in enumerate(alts, start=1):
        reason = skip_reason(ref, alt)
        if reason:
            scan.skipped[build].append(Skipped(str(path), chrom, pos, ref, alt, reason))
            continue
        scan.records[build].append(
            Record(
                index=index,
                variant=Variant(chrom, pos, ref, alt),
                record_id=record_id,
                filter=filt,
                allele_index=i,
                n_alts=len(alts),
                calls=calls_for(i) if scan.samples else (),
            )
        )


def _split(path: Path, index: int, rec, build: str, scan: VcfScan, watch: Watch) -> None:
    if scan.samples:
        hit = watch.first_hit(build, rec.pos, rec.stop)
        if hit is not None:
            _record_depths(rec, build, scan, hit)
    split_alleles(
        path,
        index,
        rec.chrom,
        rec.pos,
        rec.ref or "",
        rec.alts or (),
        rec.id or ".",
        ";".join(rec.filter.keys()) or ".",
        build,
        scan,
        lambda i: sample_calls(rec, i),
    )


def warn(scan: VcfScan) -> None:
    for text in scan.warnings:
        print(f"nlrp3annot: warning: {text}", file=sys.stderr)
