"""What the VCF/BCF readers share: the scan a pass over a file gives (:class:`VcfScan`), the
watched positions, the header, and splitting a record into the ALT alleles of the NLRP3
windows of both builds (every allele in a window is either returned or listed as skipped
with its reason; records elsewhere are only counted).

The readers (:mod:`nlrp3annot.io.text_reader`, :mod:`nlrp3annot.io.pysam_reader`,
:mod:`nlrp3annot.io.genotype_arrays`) import from here; which one reads a file is decided
above them, in :mod:`nlrp3annot.io.read`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlrp3annot.errors import InputFileError
from nlrp3annot.genome.reference import BUILDS, declared_build
from nlrp3annot.io.evidence import LocusEvidence
from nlrp3annot.values import Record, ScanLimits, Skipped, Variant

CHR1_NAMES = ("chr1", "1", "NC_000001.11", "NC_000001.10")
PLAIN_BASES = _BASES = frozenset("ACGTNacgtn")  # (a one-base allele: one lookup)
_GVCF_ALTS = ("<NON_REF>", "<*>")
# From this many samples on, the text reader finds the samples worth decoding with numpy
# (cyvcf2 arrays for BCF); below it numpy's import (~0.1 s) would cost more than it saves.
ARRAY_SAMPLES = 32


@dataclass
class VcfScan:
    """What a pass over one file found."""

    path: str
    records: dict[str, list[Record]]  # build -> records inside that build's window
    skipped: dict[str, list[Skipped]]  # build -> records of that window not annotated
    # (build, contig, length) from the first ##contig line whose length names a build
    declared: tuple[str, str, int] | None
    records_read: int = 0
    outside: int = 0  # -1: unknown (an index let the rest go unread)
    samples: list[str] = field(default_factory=list)
    # build -> sample -> (lowest depth, its position) over the watched (pathogenic) positions
    lowest_depth: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    gvcf_blocks: int = 0
    evidence: LocusEvidence | None = None  # who was genotyped in the locus (with samples)
    # a scan of the reads (nlrp3annot scan): sample -> what the scan could have missed
    scan_limits: dict[str, ScanLimits] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # the per-strand read counts its calls carry: "ADF" (ADF + ADR), "SB" or "" (none)
    strand: str = ""
    # with keep_lines (a VCF output is wanted): the header and the locus lines as read, so
    # that the output is written from them without reading the input again
    source: tuple[bytes, list[bytes]] | None = None

    def header_build(self) -> str | None:
        return self.declared[0] if self.declared else None


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


@dataclass(frozen=True)
class Header:
    """What the annotation needs from a VCF header."""

    samples: list[str]
    declared: tuple[str, str, int] | None  # see VcfScan.declared
    af_number: str  # FORMAT/AF's declared Number ('A', '1', ...), '' when not declared
    scan_limits: dict[str, ScanLimits] = field(default_factory=dict)
    strand: str = ""  # see strand_fields


def strand_fields(numbers: Mapping[str, object], reads_scan: bool) -> str:
    """Which per-strand read counts the calls carry, by the header's FORMAT Numbers: "ADF"
    (ADF and ADR, Number=R: bcftools, GATK), else "SB" (GATK's 4 counts ref-forward,
    ref-reverse, alt-forward, alt-reverse; not in the VCF of ``nlrp3annot scan``, whose SB
    counts the ALT first), else "" (none read: a joint VCF pays nothing for them)."""
    if str(numbers.get("ADF")) == "R" and str(numbers.get("ADR")) == "R":
        return "ADF"
    if str(numbers.get("SB")) == "4" and not reads_scan:
        return "SB"
    return ""


_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
_ATTR = re.compile(r'(\w+)=("[^"]*"|[^,]*)')
_NUMBERED = tuple(f"##FORMAT=<ID={key}," for key in ("AF", "ADF", "ADR", "SB"))


ALIGNMENT_HINT = (
    "annotate reads VCFs; to call variants from reads use 'nlrp3annot scan {path} "
    "--fasta GENOME.fa', or give VCFs and BAM/CRAMs together to 'nlrp3annot run'"
)
SAM_HINT = (
    "annotate reads VCFs; to call variants from reads make an indexed BAM (samtools sort, "
    "samtools index), then use 'nlrp3annot scan' or 'nlrp3annot run'"
)


def alignment_kind(start: bytes) -> str:
    """The kind of alignment file (BAM, CRAM or SAM) whose first bytes (inflated) these
    are, else ''."""
    if start.startswith(b"BAM\x01"):
        return "BAM"
    if start.startswith(b"CRAM"):
        return "CRAM"
    if start[:4] in (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"):
        return "SAM"
    return ""


def parse_header(text: bytes, path: Path) -> Header:
    """The header of a text VCF (its lines up to #CHROM), checked as htslib would refuse
    it: ##fileformat first, and a #CHROM line with the eight fixed columns."""
    hint = "give a .vcf, .vcf.gz or .bcf starting with ##fileformat=VCF"
    if text.startswith(b"\xef\xbb\xbf##fileformat=VCF"):
        raise InputFileError(
            path,
            "starts with a UTF-8 byte-order mark before ##fileformat",
            "save it as UTF-8 without BOM; htslib and bcftools refuse it too",
        )
    if not text.startswith(b"##fileformat=VCF"):
        alignment = alignment_kind(text)
        if alignment:
            raise InputFileError(
                path,
                f"is a {alignment} alignment file (reads), not a VCF",
                (SAM_HINT if alignment == "SAM" else ALIGNMENT_HINT).format(path=path),
            )
        raise InputFileError(path, "not a VCF/BCF file (no valid header)", hint)
    # A lab's batch repeats one header, but for its #CHROM line (the sample): its meta
    # lines are read once per distinct text, not once per file (issue 28)
    body = text[:-1] if text.endswith(b"\n") else text
    cut = body.rfind(b"\n") + 1
    meta, last = text[:cut], text[cut:]
    known = _META.get(meta)
    try:
        chrom_lines = last.decode().splitlines() if known is not None else []
        if len(chrom_lines) == 1:  # meta + last split as the whole text would
            lines = [chrom_lines[0]]
        else:
            known, lines = None, text.decode().splitlines()
    except UnicodeDecodeError:
        raise InputFileError(path, "header is not UTF-8 text", hint) from None
    columns = lines[-1].split("\t") if lines else []
    fixed = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if columns[:8] != fixed and lines and lines[-1].split()[:8] == fixed:
        raise InputFileError(
            path,
            "its #CHROM line is separated by spaces, not tabs",
            "a VCF's columns are tab-separated: replace the spaces of that line with tabs",
        )
    if columns[:8] != fixed:
        raise InputFileError(
            path,
            "has no #CHROM line with the 8 fixed columns before its records",
            "a VCF header ends with #CHROM POS ID REF ALT QUAL FILTER INFO (tab-separated)",
        )
    if known is None:
        known = _meta_lines(lines[:-1])
        if meta and len(meta) < 1 << 20:
            if len(_META) >= 64:
                _META.clear()
            _META[meta] = known
    declared, af_number, limits, strand = known
    samples = columns[9:] if len(columns) > 9 else []
    return Header(samples, declared, af_number, dict(limits), strand)


_META: dict[bytes, tuple] = {}  # a header's lines before #CHROM -> what _meta_lines read


def _meta_lines(lines: list[str]) -> tuple:
    """(declared build, FORMAT/AF Number, scan limits, strand fields) from a header's lines
    before #CHROM."""
    lengths: dict[str, int | None] = {}
    limits: dict[str, tuple[float | None, float, int]] = {}
    af_number = ""
    numbers: dict[str, str] = {}
    for line in lines:
        if line.startswith("##contig=<"):
            match = _CONTIG.match(line)
            attrs = dict(_ATTR.findall(match.group(1))) if match else {}
            if "ID" in attrs:
                length = attrs.get("length", "")
                lengths[attrs["ID"]] = int(length) if length.isdigit() else None
        elif line.startswith(_NUMBERED):
            attrs = dict(_ATTR.findall(line[len("##FORMAT=<") : -1]))
            numbers[attrs.get("ID", "")] = attrs.get("Number", "")
            af_number = numbers.get("AF", "")
        elif line.startswith("##NLRP3_SCAN=<"):
            limits.update(scan_limit(dict(_ATTR.findall(line[len("##NLRP3_SCAN=<") : -1]))))
    reads_scan = bool(limits) or any(x.startswith("##source=nlrp3annot scan") for x in lines)
    strand = strand_fields(numbers, reads_scan)
    return declared_build(lengths), af_number, limits, strand


def scan_limit(attrs: Mapping[str, str]) -> dict[str, ScanLimits]:
    """A ``##NLRP3_SCAN`` header line's sample and limits (nlrp3annot.reads.scan_output)."""
    limits = ScanLimits.from_header(attrs) if attrs.get("ID") else None
    return {attrs["ID"]: limits} if limits is not None else {}


def sample_names(path: str | Path) -> list[str]:
    """The sample columns of a VCF/BCF header ([] when it cannot be read: the scan will
    say why). A text header is read here (htslib's import alone cost 30 ms)."""
    path = Path(path)
    try:
        if is_bgzf_bcf(path):
            import pysam

            pysam.set_verbosity(0)
            with pysam.VariantFile(str(path)) as vf:
                return list(vf.header.samples)
        from nlrp3annot.io.locus_filter import open_text, read_header

        with open_text(path) as stream:
            header, _ = read_header(stream)  # through the #CHROM line, however long
        if not header.endswith(b"\n"):
            return []  # no complete header: the scan will say why
        return parse_header(header, path).samples
    except (OSError, EOFError, ValueError, NotImplementedError, InputFileError):
        return []


def is_bgzf_bcf(path: Path) -> bool:
    """A compressed BCF (the usual kind) starts, once inflated, with 'BCF'."""
    import zlib

    # the first bytes of the first gzip member, inflated from the file's first block (a
    # tenth of opening it through the gzip module, which every small VCF.gz paid)
    try:
        with path.open("rb") as handle:
            block = handle.read(1 << 16)
    except OSError:
        return False  # (so would the gzip module be: the scan will say why)
    if not block.startswith(b"\x1f\x8b"):
        return False  # not gzip (a plain-text VCF): the gzip module would refuse it too
    try:
        first = zlib.decompressobj(31).decompress(block, 3)
    except zlib.error:
        first = b""
    if len(first) == 3:
        return first == b"BCF"
    import gzip  # (rarely needed: not loaded for the usual files)

    try:  # a first member shorter than 3 bytes, or damaged: as the gzip module reads it
        with gzip.open(path, "rb") as handle:
            return handle.read(3) == b"BCF"
    except (OSError, EOFError):
        return False


def new_scan(
    path: Path,
    all_samples: list[str],
    declared: tuple[str, str, int] | None,
    warnings: list[str],
    samples: list[str] | None = None,
    min_depth: int = 20,
) -> VcfScan:
    """An empty scan of ``path`` reporting on ``samples`` (default: all of the file's)."""
    scan = VcfScan(str(path), {b: [] for b in BUILDS}, {b: [] for b in BUILDS}, declared)
    scan.samples = list(all_samples)
    scan.lowest_depth = {b: {} for b in BUILDS}
    scan.warnings = warnings
    if len(set(scan.samples)) != len(scan.samples):
        raise duplicate_sample_error(path, scan.samples)
    if samples is not None:
        present = set(scan.samples)
        unknown = [s for s in samples if s not in present]
        if unknown:
            raise InputFileError(path, f"has no sample {unknown[0]!r}")
        scan.samples = list(samples)
    scan.evidence = LocusEvidence(scan.samples, min_depth)
    return scan


def duplicate_sample_error(path: Path, samples: Sequence[str]) -> InputFileError:
    """The error for a #CHROM line naming one sample twice: the name and its columns
    (1-based, as ``cut`` and a spreadsheet count them: the first sample is column 10)."""
    seen: set[str] = set()
    dup = next(s for s in samples if s in seen or seen.add(s))
    columns = [str(10 + i) for i, s in enumerate(samples) if s == dup]
    return InputFileError(
        path,
        f"sample name {dup!r} is in the #CHROM line {len(columns)} times "
        f"(columns {', '.join(columns)})",
        "give every sample column its own name (bcftools reheader -s)",
    )


def window_of(chrom: str, pos: int, ref_length: int, windows) -> str | None:
    """The build whose NLRP3 window the record overlaps, or None."""
    if chrom not in CHR1_NAMES:
        return None
    end = pos + max(ref_length, 1) - 1
    for build, (lo, hi) in windows.items():
        if pos <= hi and end >= lo:
            return build
    return None


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
    if alts and alts[0] in _GVCF_ALTS and all(a in _GVCF_ALTS for a in alts):
        scan.gvcf_blocks += 1
    if not alts:
        scan.skipped[build].append(
            Skipped(str(path), chrom, pos, ref, ".", "no ALT allele (reference call)")
        )
        return
    # (a one-base REF or ALT is tested by one lookup: this runs once per locus record)
    if not ref or not (ref in _BASES or set(ref) <= _BASES):
        for alt in alts:
            scan.skipped[build].append(
                Skipped(str(path), chrom, pos, ref, alt, "REF is not a plain sequence of bases")
            )
        return
    records = scan.records[build]
    with_calls = bool(scan.samples)
    for i, alt in enumerate(alts, start=1):
        if alt not in _BASES or alt.upper() == ref.upper():
            reason = skip_reason(ref, alt)
            if reason:
                scan.skipped[build].append(Skipped(str(path), chrom, pos, ref, alt, reason))
                continue
        records.append(
            new_record(
                index,
                new_variant(chrom, pos, ref, alt),
                record_id,
                filt,
                i,
                len(alts),
                calls_for(i) if with_calls else (),
            )
        )


# Records and variants made without their dataclass __init__ (which sets each field of a
# frozen dataclass through object.__setattr__: 2.5 us of the ~5 us a sites-only record cost
# in all). The same objects: tests/test_site_reader.py checks the fields against __init__'s.
_new, _set = object.__new__, object.__setattr__


def new_variant(chrom: str, pos: int, ref: str, alt: str) -> Variant:
    variant = _new(Variant)
    _set(variant, "__dict__", {"chrom": chrom, "pos": pos, "ref": ref, "alt": alt})
    return variant


def new_record(
    index: int,
    variant: Variant,
    record_id: str,
    filt: str,
    allele_index: int,
    n_alts: int,
    calls: tuple,
) -> Record:
    record = _new(Record)
    _set(
        record,
        "__dict__",
        {
            "index": index,
            "variant": variant,
            "record_id": record_id,
            "filter": filt,
            "allele_index": allele_index,
            "n_alts": n_alts,
            "calls": calls,
        },
    )
    return record
