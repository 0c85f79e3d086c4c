"""Text VCFs: records decoded from their raw lines, a call built only where it can matter.

A lab's VCF.gz is read as bytes: the locus lines come from the byte-level filter
(:mod:`nlrp3annot.io.locus_filter`) or, for a large file with a trustworthy index, from
tabix. Each line is split into its columns here, without htslib's full decoding of every
FORMAT value of every sample: at 20,000 samples a locus record is a 500 kB line of which 98%
reads ``0/0:30,0:30:90:0,90,1350``, a hom-reference call with no ALT reads that says nothing
a patient summary needs. For joint VCFs the line is viewed as a numpy byte array, the sample
columns are located from the tab positions, and a vectorised test finds the samples whose
genotype is exactly ``0/0`` (or ``0|0``, or haploid ``0``) with every ALT count of AD equal
to 0; only the others (carriers, missing genotypes, ALT reads under 0/0, anything unusual)
are decoded, with pysam's conventions for missing values and short vectors, into the same
:class:`~nlrp3annot.values.SampleCall` values the htslib reader gives (tested on
every genotype shape, against :mod:`nlrp3annot.io.pysam_reader`). Each sample's depth at the
watched (pathogenic) positions is read from every sample at the few records covering them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from pathlib import Path

from nlrp3annot.errors import RecordError
from nlrp3annot.io.evidence import is_gvcf_record
from nlrp3annot.io.format_bytes import Fields, bulk_depths
from nlrp3annot.io.site_reader import fixed_columns, id_and_filter, read_sites
from nlrp3annot.io.tabix_index import seek_locus
from nlrp3annot.io.vcf import (
    ARRAY_SAMPLES,
    CHR1_NAMES,
    VcfScan,
    Watch,
    new_scan,
    parse_header,
    split_alleles,
    window_of,
)
from nlrp3annot.values import SampleCall

_TAB, _COLON, _COMMA, _SLASH, _PIPE = 9, 58, 44, 47, 124
_ZERO = 48
_END = re.compile(r"(?:^|;)END=(\d+)(?:;|$)")
_FLOAT32 = struct.Struct("f")
_DP, _MIN_DP = ("DP", "MIN_DP"), ("MIN_DP", "DP")  # depth keys in order, for a variant / a block


def scan_text(
    path: Path,
    windows: dict[str, tuple[int, int]],
    watch: Watch,
    warnings: list[str],
    use_index: bool,
    arrays: bool | None,
    min_alt_reads: int,
    samples: list[str] | None,
    keep_lines: bool = False,
    min_depth: int = 20,
) -> VcfScan:
    """Fill a scan of the text VCF ``path``: the locus lines through its index (a .tbi read
    here, a .csi through htslib's tabix), else found on the bytes of the whole file."""
    source = None
    if use_index:
        source = seek_locus(path, windows) or _tabix_locus(path, windows)
    found = None
    if source is None:
        from nlrp3annot.io.locus_filter import read_locus_lines

        found = read_locus_lines(path, CHR1_NAMES, windows.values())
        source = found.header, zip(found.numbers, found.lines, strict=True)
    header_bytes, lines = source
    header = parse_header(header_bytes, path)
    scan = new_scan(path, header.samples, header.declared, warnings, samples, min_depth)
    scan.scan_limits = header.scan_limits
    scan.strand = header.strand
    if found is None:
        scan.outside = -1  # unknown: the index lets us skip the rest unread
    if keep_lines:
        lines = list(lines)
        scan.source = (header_bytes, [line for _, line in lines])
    read_records(scan, lines, windows, watch, min_alt_reads, header, arrays, found is None)
    if found is not None:
        scan.records_read = found.data_lines
        scan.outside += found.data_lines - len(found.lines)  # lines the filter passed over
    return scan


def _tabix_locus(path: Path, windows: dict[str, tuple[int, int]]):
    """(header bytes, numbered locus lines) through htslib's tabix (for a .csi), or None
    when the index cannot be used (then the file is read whole)."""
    import pysam

    pysam.set_verbosity(0)
    try:
        tabix = pysam.TabixFile(str(path))
    except (OSError, ValueError):
        return None
    header = ("\n".join(tabix.header) + "\n").encode()
    contig = next((n for n in CHR1_NAMES if n in tabix.contigs), None)
    regions = [(contig, lo, hi) for lo, hi in windows.values()] if contig else []
    return header, _fetched(tabix, regions)


def _fetched(tabix, regions: list[tuple[str, int, int]]):
    """(number, raw line) of the records in ``regions``, through the tabix index."""
    with tabix:
        number = 0
        for contig, lo, hi in regions:
            for line in tabix.fetch(contig, lo - 1, hi):
                number += 1
                yield number, line


def read_records(
    scan: VcfScan,
    lines: Iterable[tuple[int, bytes | str]],
    windows: dict[str, tuple[int, int]],
    watch: Watch,
    min_alt_reads: int,
    header,
    arrays: bool | None,
    fetched: bool,
) -> None:
    """Fill ``scan`` from numbered raw data lines. ``header.samples``: the file's sample
    columns; ``scan.samples``: those to report on (all, or a shard). ``arrays``: locate and
    pre-screen the sample columns with numpy (None: from ``ARRAY_SAMPLES`` samples on)."""
    if not scan.samples:  # sites only (or no sample asked for): the loop without calls
        return read_sites(scan, lines, windows, fetched, _END.search)
    all_samples = header.samples
    column = {name: j for j, name in enumerate(all_samples)}
    wanted = [column[s] for s in scan.samples]
    use_numpy = arrays if arrays is not None else len(all_samples) >= ARRAY_SAMPLES
    np = subset = None
    if use_numpy:
        import numpy as np

        if len(wanted) != len(all_samples):
            subset = np.array(sorted(wanted), dtype=np.int64)
    decoder = _Decoder(header.af_number, header.strand)
    shown = Path(scan.path)
    for number, raw in lines:
        if fetched:
            scan.records_read += 1
        line, head, chrom, pos, ref = fixed_columns(raw, number, shown, 9)
        info = head[7].decode(errors="replace")
        end_match = _END.search(info)
        end = int(end_match.group(1)) if end_match else pos + max(len(ref), 1) - 1
        # a gVCF block reaches as far as its END: one starting before the window can cover it
        build = window_of(chrom, pos, max(len(ref), end - pos + 1), windows)
        if build is None:
            if not fetched:
                scan.outside += 1
            continue
        alts = [] if head[4] in (b".", b"") else head[4].decode(errors="replace").split(",")
        if len(head) < 10:
            raise RecordError(shown, f"#{number}", "has no sample columns")
        keys = head[8].decode(errors="replace").split(":")
        if use_numpy:
            starts, ends = _sample_fields(np, line, len(all_samples), shown, number)
            fields = _Slices(line, starts, ends)
            if subset is None:
                rows = _undecided(np, line, starts, ends, keys, len(alts), min_alt_reads)
            else:  # a shard: screen only its columns
                sub = _undecided(
                    np, line, starts[subset], ends[subset], keys, len(alts), min_alt_reads
                )
                rows = subset[sub]
            rows = rows.tolist()
        else:
            fields = head[9].split(b"\t")
            if len(fields) != len(all_samples):
                raise RecordError(
                    shown,
                    f"#{number}",
                    f"has {len(fields)} sample columns where the header names {len(all_samples)}",
                )
            rows = wanted
        hit = watch.first_hit(build, pos, end)
        if hit is not None:
            known = None
            if use_numpy:  # DP/MIN_DP of every sample read as numbers in bulk
                columns = subset if subset is not None else np.arange(len(all_samples))
                known = bulk_depths(np, line, starts[columns], ends[columns], keys)
                if subset is not None:  # back to the order of scan.samples
                    at = {int(j): i for i, j in enumerate(subset.tolist())}
                    known = (
                        known[0][[at[j] for j in wanted]],
                        known[1][[at[j] for j in wanted]],
                    )
            _depths(fields, keys, wanted, scan, build, hit, decoder, known)
        calls_by_allele = decoder.calls(fields, keys, rows, all_samples, len(alts), shown, number)
        evidence = scan.evidence
        block = is_gvcf_record(alts, end_match is not None)
        if evidence.pending[build] or block:
            bulk = (np, line, starts, ends) if use_numpy else None
            _note_evidence(evidence, build, pos, end, block, fields, keys, wanted, bulk, decoder)
        split_alleles(
            shown,
            number,
            chrom,
            pos,
            ref,
            alts,
            *id_and_filter(head),
            build,
            scan,
            lambda i, c=calls_by_allele: c.get(i, ()),
        )


class _Slices:
    """Sample column j of a raw line, by offsets (no list of 20,000 byte strings)."""

    def __init__(self, line: bytes, starts, ends) -> None:
        self.line, self.starts, self.ends = line, starts, ends

    def __getitem__(self, j: int) -> bytes:
        return self.line[int(self.starts[j]) : int(self.ends[j])]


def _sample_fields(np, line: bytes, n: int, shown: Path, number: int):
    """Start and end offsets of the n sample columns."""
    data = np.frombuffer(line, dtype=np.uint8)
    tabs = np.flatnonzero(data == _TAB)
    if len(tabs) != 8 + n:
        raise RecordError(
            shown,
            f"#{number}",
            f"has {max(len(tabs) - 8, 0)} sample columns where the header names {n}",
        )
    starts = tabs[8:] + 1
    ends = np.append(tabs[9:], len(line))
    return starts, ends


def _undecided(np, line: bytes, starts, ends, keys: list[str], n_alts: int, min_alt: int):
    """Indices of the samples that are not plainly hom-reference with no ALT reads."""
    if not keys or keys[0] != "GT":
        return np.arange(len(starts))  # no genotype first: let the decoder read each one
    data = np.frombuffer(line, dtype=np.uint8)
    size = len(data)
    length = ends - starts

    def at(offset: int):
        return data[np.minimum(starts + offset, size - 1)]

    boundary3 = (length == 3) | (at(3) == _COLON)
    diploid_ref = (
        (length >= 3)
        & (at(0) == _ZERO)
        & ((at(1) == _SLASH) | (at(1) == _PIPE))
        & (at(2) == _ZERO)
        & boundary3
    )
    haploid_ref = (at(0) == _ZERO) & ((length == 1) | (at(1) == _COLON))
    quiet = diploid_ref.copy()
    if "AF" in keys:
        quiet[:] = False  # allele fractions under 0/0: decode them all
    elif "AD" in keys and n_alts and len(starts):
        ad_start, ad_end, present = Fields(np, data, starts, ends).bounds(keys.index("AD"))
        ok = present & diploid_ref  # a 0/0 without an AD value is decoded, to be sure
        # every ALT count is one digit below min_alt (too few reads for a mosaic call):
        # the AD text ends in ",d" once per ALT
        few = np.zeros(256, dtype=bool)
        few[_ZERO : _ZERO + max(min(min_alt, 10), 1)] = True
        for j in range(n_alts):
            tail = ad_end - 2 * (j + 1)
            ok &= tail >= ad_start
            safe = np.clip(tail, 0, size - 2)
            ok &= (data[safe] == _COMMA) & few[data[safe + 1]]
        quiet &= ok
    undecided = ~(quiet | haploid_ref)
    return np.flatnonzero(undecided)


# Parsed sample columns, kept for the process's life: a batch of single-sample files repeats
# a few thousand call texts across the files (a worker reads hundreds of them). Keyed by
# everything _parse reads: per the header's AF Number and strand keys, a memo by the text,
# FORMAT, the allele and the ALT count.
_PARSED: dict[tuple[bool, str], dict[tuple[bytes, str, int, int], tuple]] = {}
_PARSED_MAX = 200_000


class _Decoder:
    """One sample column's text -> pysam-like values -> SampleCalls (memoised per text)."""

    def __init__(self, af_number: str, strand: str = "") -> None:
        self.af_scalar = af_number == "1"
        self.strand = strand  # "ADF", "SB" or "": which per-strand counts to read
        self.memo = _PARSED.setdefault((self.af_scalar, strand), {})

    def values(self, text: bytes, keys: list[str]) -> dict[str, object]:
        fields = text.decode(errors="replace").split(":")
        out: dict[str, object] = {}
        for key, value in zip(keys, fields, strict=False):
            out[key] = value
        return out

    def calls(self, fields, keys, rows, names, n_alts, shown, number):
        if not rows or not n_alts:
            return {}
        fmt = ":".join(keys)
        by_allele: dict[int, list[SampleCall]] = {a: [] for a in range(1, n_alts + 1)}
        memo = self.memo
        for j in rows:
            text = fields[j]
            for allele in range(1, n_alts + 1):
                key = (text, fmt, allele, n_alts)
                parsed = memo.get(key)
                if parsed is None:
                    try:
                        parsed = self._parse(text, keys, allele, n_alts)
                    except ValueError as exc:
                        raise RecordError(
                            shown,
                            f"#{number}",
                            f"sample {names[j]!r}: {exc}; fix or remove that record",
                        ) from None
                    if len(memo) > _PARSED_MAX:
                        memo.clear()
                    memo[key] = parsed
                by_allele[allele].append(SampleCall(names[j], *parsed))
        return {a: tuple(c) for a, c in by_allele.items()}

    def _parse(self, text: bytes, keys: list[str], allele: int, n_alts: int) -> tuple:
        v = self.values(text, keys)
        gt_text_raw = str(v.get("GT", "."))
        phased_bit = "|" in gt_text_raw
        raw = [None if a in (".", "") else _int(a, "GT") for a in re.split(r"[/|]", gt_text_raw)]
        beyond = [a for a in raw if a is not None and (a > n_alts or a < 0)]
        if beyond:
            raise ValueError(
                f"genotype {gt_text_raw} names allele {beyond[0]} but the record has "
                f"{n_alts} ALT allele(s)"
            )
        gt = tuple(None if a is None else 1 if a == allele else 0 if a == 0 else -1 for a in raw)
        phased = phased_bit and len(raw) > 1
        gt_text = ("|" if phased else "/").join("." if a is None else str(a) for a in raw)
        ad = _vector(v.get("AD"), int, "AD")
        ref_reads = alt_reads = None
        if len(ad) > allele:
            ref_reads, alt_reads = ad[0], ad[allele]
        af_values = _vector(v.get("AF"), _float32, "AF")
        if self.af_scalar:
            af = af_values[0] if af_values else None
        else:
            af = af_values[allele - 1] if len(af_values) >= allele else None
        depth = _scalar(v.get("DP"), "DP")
        phase_set = _scalar(v.get("PS"), "PS")
        strands = _strands(v, self.strand, allele, n_alts) if self.strand else _NO_STRANDS
        return (gt, gt_text, phased, phase_set, ref_reads, alt_reads, depth, af, *strands)


_NO_STRANDS = (None, None, None, None)


def _strands(v: dict, strand: str, allele: int, n_alts: int) -> tuple:
    """(ref forward, ref reverse, alt forward, alt reverse) reads from ADF+ADR or SB, as
    pysam reads them (SB only for a single ALT: GATK sums every ALT into its counts)."""
    if strand == "ADF":
        forward, reverse = _vector(v.get("ADF"), int, "ADF"), _vector(v.get("ADR"), int, "ADR")
        if len(forward) > allele and len(reverse) > allele:
            return forward[0], reverse[0], forward[allele], reverse[allele]
    elif n_alts == 1:
        counts = _vector(v.get("SB"), int, "SB")
        if len(counts) == 4:
            return counts
    return _NO_STRANDS


def _int(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{key} value {text!r} is not an integer") from None


def _float32(text: str) -> float:
    """As htslib stores FORMAT floats: rounded to single precision."""
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(float(text)))[0]
    except (ValueError, OverflowError):
        raise ValueError(f"AF value {text!r} is not a number") from None


def _vector(text, convert, key: str) -> tuple:
    """pysam's reading of a Number=R/A field: '.' -> (None,), '3,.' -> (3, None)."""
    if text is None or text == "":
        return (None,)
    out = []
    for item in str(text).split(","):
        if item == ".":
            out.append(None)
        elif convert is int:
            out.append(_int(item, key))
        else:
            out.append(convert(item))
    return tuple(out)


def _scalar(text, key: str) -> int | None:
    if text is None or text in ("", "."):
        return None
    return _int(str(text), key)


def _depth_of(values: dict[str, object], keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` that is an integer, else the sum of AD (all present)."""
    for key in keys:
        text = values.get(key)
        if text not in (None, "", "."):
            try:
                return int(str(text))
            except ValueError:
                pass
    if values.get("AD") not in (None, "", "."):
        try:
            return sum(int(x) for x in str(values["AD"]).split(","))
        except ValueError:
            return None
    return None


def _note_evidence(evidence, build, pos, end, block, fields, keys, wanted, bulk, decoder) -> None:
    """Tell ``evidence`` which samples this record genotyped (pending ones only; in bulk
    with numpy for a joint VCF) and, for a gVCF record, what it covered."""
    pending = evidence.pending[build]
    if bulk is not None and pending and keys and keys[0] == "GT":
        np, line, starts, ends = bulk
        columns = np.array([wanted[k] for k in pending], dtype=np.int64)
        depth, known = bulk_depths(np, line, starts[columns], ends[columns], keys)
        first = np.frombuffer(line, dtype=np.uint8)[starts[columns]]
        called = (first >= _ZERO) & (first <= _ZERO + 9)
        good = called & known & (depth >= evidence.min_depth)
        evidence.found(build, [pending[i] for i in np.flatnonzero(good).tolist()])
        # the rest: read one by one only where no plain DP/MIN_DP was found (AD alone)
        pending = [pending[i] for i in np.flatnonzero(called & ~known).tolist()]
    if pending:
        values = [(k, decoder.values(fields[wanted[k]], keys)) for k in pending]
        evidence.note(build, [(k, str(v.get("GT", "")), _depth_of(v, _DP)) for k, v in values])
    if block:
        values = [(k, decoder.values(fields[j], keys)) for k, j in enumerate(wanted)]
        evidence.block(
            build, pos, end, [(k, str(v.get("GT", "")), _depth_of(v, _MIN_DP)) for k, v in values]
        )


def _depths(fields, keys, wanted, scan: VcfScan, build: str, hit: int, decoder, known=None) -> None:
    """Each reported sample's depth at a record over a watched position: DP, else MIN_DP,
    else the sum of AD when every entry is present (as the htslib reader). ``known``:
    depths already read in bulk, (values, found) in the order of ``wanted``."""
    lowest = scan.lowest_depth[build]
    names = scan.samples
    values, found = (known[0].tolist(), known[1].tolist()) if known is not None else (None, None)
    for k, j in enumerate(wanted):
        if found is not None and found[k]:
            depth = values[k]
            name = names[k]
            if name not in lowest or depth < lowest[name][0]:
                lowest[name] = (depth, hit)
            continue
        depth = _depth_of(decoder.values(fields[j], keys), _DP)
        name = names[k]
        if depth is not None and (name not in lowest or depth < lowest[name][0]):
            lowest[name] = (depth, hit)
