"""Reading VCF/BCF through pysam (htslib): the NLRP3 windows of both builds, split per ALT.

Uses the tabix/CSI index for a region fetch when there is one and streams otherwise.
Every record in a window is either returned or listed as skipped with its reason; records
elsewhere are only counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.errors import InputFileError, RecordError
from nlrp3annot.genome.reference import BUILDS, CHR1_LENGTH, locus_window
from nlrp3annot.naming.variant import Variant
from nlrp3annot.patients.zygosity import SampleCall

CHR1_NAMES = ("chr1", "1", "NC_000001.11", "NC_000001.10")
_BASES = set("ACGTNacgtn")


@dataclass(frozen=True)
class Record:
    """One ALT allele of one VCF record inside an NLRP3 window."""

    index: int  # 1-based record number in the file (data lines)
    variant: Variant
    record_id: str
    filter: str
    allele_index: int  # 1 for the first ALT
    n_alts: int
    calls: tuple[SampleCall, ...] = ()  # one per sample, genotype remapped to this ALT


@dataclass(frozen=True)
class Coverage:
    """A sample's read depth over ``start..end`` from any record (variant, reference call or
    gVCF block): what tells "no variant here" from "not looked at"."""

    start: int
    end: int
    sample: str
    depth: int | None


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
    outside: int = 0
    samples: list[str] = field(default_factory=list)
    coverage: dict[str, list[Coverage]] = field(default_factory=dict)  # build -> observations
    gvcf_blocks: int = 0

    def header_build(self) -> str | None:
        for build, length in CHR1_LENGTH.items():
            if self.chr1_length == length:
                return build
        return None


def _is_plain_gzip(path: Path) -> bool:
    """gzip but not bgzip (no BGZF 'BC' extra field): htslib cannot seek in it."""
    with path.open("rb") as handle:
        head = handle.read(18)
    return head[:2] == b"\x1f\x8b" and not (head[3] & 4 and head[12:14] == b"BC")


def _open(path: Path):
    import pysam

    if not path.exists():
        raise InputFileError(path, "no such file", "check the path")
    if not path.is_file():
        raise InputFileError(path, "is not a file")
    pysam.set_verbosity(0)  # htslib's own warnings would duplicate our one-line messages
    try:
        return pysam.VariantFile(str(path))
    except (ValueError, OSError) as exc:
        text = str(exc)
        if "truncated" in text or "EOF marker" in text:
            raise InputFileError(
                path, "truncated bgzip file", "re-copy or re-compress it"
            ) from None
        raise InputFileError(
            path,
            "not a VCF/BCF file (no valid header)",
            "give a .vcf, .vcf.gz or .bcf starting with ##fileformat=VCF",
        ) from None


def _chr1_contig(vf) -> tuple[str | None, int | None]:
    for name in CHR1_NAMES:
        if name in vf.header.contigs:
            length = vf.header.contigs[name].length
            return name, int(length) if length else None
    return None, None


def scan_vcf(path: str | Path) -> VcfScan:
    """Read the records of ``path`` that fall in the NLRP3 window of either build."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file", "check the path")
    if _is_plain_gzip(path):
        return _scan_plain_gzip(path)
    vf = _open(path)
    windows = {b: locus_window(b) for b in BUILDS}
    contig, length = _chr1_contig(vf)
    scan = VcfScan(str(path), {b: [] for b in BUILDS}, {b: [] for b in BUILDS}, length)
    scan.samples = list(vf.header.samples)
    scan.coverage = {b: [] for b in BUILDS}
    with vf:
        indexed = contig is not None and vf.index is not None
        if indexed:
            scan.outside = -1  # unknown: the index lets us skip the rest unread
            sources = [vf.fetch(contig, lo - 1, hi) for lo, hi in windows.values()]
        else:
            sources = [iter(vf)]
        # The two builds' windows do not overlap, so no record is seen twice.
        for source in sources:
            for index, rec in _records(path, source):
                scan.records_read += 1
                build = _window_of(rec, windows)
                if build is None:
                    if not indexed:
                        scan.outside += 1
                    continue
                _split(path, index, rec, build, scan)
    return scan


def _scan_plain_gzip(path: Path) -> VcfScan:
    """Plain gzip (as written by ``gzip``) cannot be read in place by htslib: stream it to a
    temporary file and read that, reporting the user's file name."""
    import gzip
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nlrp3annot-") as tmp:
        plain = Path(tmp) / (path.name.removesuffix(".gz") or "input.vcf")
        try:
            with gzip.open(path, "rb") as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError):
            raise InputFileError(
                path, "truncated or corrupt gzip file", "re-copy it, or compress with bgzip"
            ) from None
        scan = scan_vcf(plain)
    scan.path = str(path)
    for skipped in scan.skipped.values():
        skipped[:] = [
            Skipped(str(path), *(s.chrom, s.pos, s.ref, s.alt, s.reason)) for s in skipped
        ]
    return scan


def _records(path: Path, source) -> Iterator[tuple[int, object]]:
    index = 0
    while True:
        try:
            rec = next(source)
        except StopIteration:
            return
        except (ValueError, OSError) as exc:
            # htslib reports a malformed line as "truncated file"; a truly truncated bgzip
            # file was already refused at open (no EOF marker), so show the line instead.
            line = _data_line(path, index + 1)
            shown = f": {line[:80]!r}" if line else f" ({exc})"
            raise RecordError(
                path,
                f"#{index + 1}",
                f"cannot be parsed{shown}; fix or remove that line (8+ tab-separated columns, "
                "numeric POS)",
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


def _window_of(rec, windows: dict[str, tuple[int, int]]) -> str | None:
    if rec.chrom not in CHR1_NAMES:
        return None
    end = rec.pos + max(len(rec.ref or ""), 1) - 1
    for build, (lo, hi) in windows.items():
        if rec.pos <= hi and end >= lo:
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


def _coverage(rec, build: str, scan: VcfScan) -> None:
    end = rec.stop  # pysam: INFO/END for gVCF blocks, else POS + len(REF) - 1
    for name, sample in rec.samples.items():
        depth = _int_or_none(_format(sample, "DP"))
        if depth is None:
            depth = _int_or_none(_format(sample, "MIN_DP"))
        if depth is None:
            ad = _format(sample, "AD")
            if isinstance(ad, tuple) and all(isinstance(x, int) for x in ad):
                depth = sum(ad)
        scan.coverage[build].append(Coverage(rec.pos, end, name, depth))


def _split(path: Path, index: int, rec, build: str, scan: VcfScan) -> None:
    """One :class:`Record` per usable ALT; the rest go to the skipped list with a reason."""
    ref = rec.ref or ""
    alts = rec.alts or ()
    filt = ";".join(rec.filter.keys()) or "."
    if scan.samples:
        _coverage(rec, build, scan)
    if alts and all(a in ("<NON_REF>", "<*>") for a in alts):
        scan.gvcf_blocks += 1
    if not alts:
        scan.skipped[build].append(
            Skipped(str(path), rec.chrom, rec.pos, ref, ".", "no ALT allele (reference call)")
        )
        return
    if not ref or not set(ref) <= _BASES:
        for alt in alts:
            scan.skipped[build].append(
                Skipped(
                    str(path), rec.chrom, rec.pos, ref, alt, "REF is not a plain sequence of bases"
                )
            )
        return
    for i, alt in enumerate(alts, start=1):
        reason = ""
        if alt == "<NON_REF>" or alt == "<*>":
            reason = "gVCF reference block allele <NON_REF>"
        elif alt.startswith("<"):
            reason = f"symbolic allele {alt} (structural variants are not named)"
        elif alt == "*":
            reason = "spanning deletion allele * (named at the deletion's own record)"
        elif "[" in alt or "]" in alt:
            reason = "breakend allele (structural variants are not named)"
        elif not set(alt) <= _BASES:
            reason = f"ALT {alt} is not a plain sequence of bases"
        elif alt.upper() == ref.upper():
            reason = "ALT equals REF (no change)"
        if reason:
            scan.skipped[build].append(Skipped(str(path), rec.chrom, rec.pos, ref, alt, reason))
            continue
        scan.records[build].append(
            Record(
                index=index,
                variant=Variant(rec.chrom, rec.pos, ref, alt),
                record_id=rec.id or ".",
                filter=filt,
                allele_index=i,
                n_alts=len(alts),
                calls=sample_calls(rec, i) if scan.samples else (),
            )
        )
