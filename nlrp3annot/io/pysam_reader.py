"""The htslib reader (pysam): BCF files, and the reference every faster path is tested
against. One pysam record per locus record, one call per sample, through the index when it
can be trusted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from nlrp3annot.errors import InputFileError, RecordError
from nlrp3annot.genome.reference import declared_build
from nlrp3annot.io.evidence import is_gvcf_record
from nlrp3annot.io.vcf import (
    ARRAY_SAMPLES,
    CHR1_NAMES,
    VcfScan,
    Watch,
    new_scan,
    scan_limit,
    split_alleles,
    strand_fields,
    window_of,
)
from nlrp3annot.values import SampleCall


def scan_with_htslib(
    path: Path,
    windows: dict[str, tuple[int, int]],
    watch: Watch,
    warnings: list[str],
    indexed: bool,
    arrays: bool | None,
    min_alt_reads: int,
    samples: list[str] | None,
    min_depth: int = 20,
) -> VcfScan:
    """Fill a scan of ``path`` through pysam, with the genotypes as cyvcf2 arrays when
    ``arrays`` (None: when the file has at least ``ARRAY_SAMPLES`` samples)."""
    with _open(path) as vf:
        all_samples = list(vf.header.samples)
        scan = new_scan(path, all_samples, _declared(vf), warnings, samples, min_depth)
        reads_scan = False
        for record in vf.header.records:
            if record.key == "NLRP3_SCAN":
                scan.scan_limits.update(scan_limit(dict(record.items())))
            reads_scan |= record.key == "source" and str(record.value).startswith("nlrp3annot scan")
        formats = vf.header.formats
        numbers = {key: formats[key].number for key in ("ADF", "ADR", "SB") if key in formats}
        scan.strand = strand_fields(numbers, reads_scan or bool(scan.scan_limits))
        contig = _index_contig(vf) if indexed else False
    if arrays is None:
        arrays = len(all_samples) >= ARRAY_SAMPLES
    if contig is False:
        regions = None
    else:
        scan.outside = -1  # unknown: the index lets us skip the rest unread
        regions = [] if contig is None else [(contig, lo, hi) for lo, hi in windows.values()]
    if arrays and scan.samples:
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


def _open(path: Path, threads: int = 0):
    import pysam

    pysam.set_verbosity(0)  # htslib's own warnings would duplicate our one-line messages
    try:
        return pysam.VariantFile(str(path), threads=threads)
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


def _declared(vf) -> tuple[str, str, int] | None:
    contigs = vf.header.contigs
    return declared_build({name: contigs[name].length for name in contigs})


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


def _take(path, index, rec, scan: VcfScan, windows, watch: Watch, fetched: bool) -> None:
    scan.records_read += 1
    build = window_of(rec.chrom, rec.pos, max(len(rec.ref or ""), rec.stop - rec.pos + 1), windows)
    if build is None:
        if not fetched:
            scan.outside += 1
        return
    _split(Path(scan.path), index, rec, build, scan, watch)


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
            shown_line = f": {line[:80]!r}" if line else f" ({exc})"
            raise RecordError(
                path,
                f"#{index + 1}",
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


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) else None


def _format(sample, key: str):
    try:
        return sample[key]
    except (KeyError, ValueError, TypeError):
        return None


def sample_calls(rec, allele: int, strand: str = "") -> tuple[SampleCall, ...]:
    """Every sample's call for ALT number ``allele`` (1-based), genotype remapped to it,
    with the per-strand reads of ``strand`` (:func:`nlrp3annot.io.vcf.strand_fields`).
    ValueError for a genotype naming an allele the record does not have."""
    single = len(rec.alts or ()) == 1
    calls = []
    samples = list(rec.samples.items())
    genotypes = [_format(sample, "GT") or (None,) for _, sample in samples]
    if any(None in raw for raw in genotypes):  # (one text form of the record for them all)
        _check_missing_alleles(rec, [name for name, _ in samples])
    for (name, sample), raw in zip(samples, genotypes, strict=True):
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
        strands = _strands(sample, strand, allele, single) if strand else _NO_STRANDS
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
                ref_forward=strands[0],
                ref_reverse=strands[1],
                alt_forward=strands[2],
                alt_reverse=strands[3],
            )
        )
    return tuple(calls)


_NO_STRANDS = (None, None, None, None)


def _strands(sample, strand: str, allele: int, single: bool) -> tuple:
    """(ref forward, ref reverse, alt forward, alt reverse) reads from ADF+ADR, or from SB
    for a single ALT (GATK sums every ALT into its counts)."""
    if strand == "ADF":
        forward, reverse = _format(sample, "ADF"), _format(sample, "ADR")
        if (
            isinstance(forward, tuple)
            and isinstance(reverse, tuple)
            and len(forward) > allele
            and len(reverse) > allele
        ):
            return tuple(_int_or_none(x) for x in (forward[0], reverse[0], forward[allele],
                                                    reverse[allele]))  # fmt: skip
    elif single:
        counts = _format(sample, "SB")
        if isinstance(counts, tuple) and len(counts) == 4:
            return tuple(_int_or_none(x) for x in counts)
    return _NO_STRANDS


def _check_missing_alleles(rec, names: list[str]) -> None:
    """htslib reads an allele index beyond the ALT count (0/3 with one ALT, which a BCF can
    hold) as missing; its text form keeps the index, so that is where it is checked."""
    fields = str(rec).rstrip("\n").split("\t")
    keys = fields[8].split(":") if len(fields) > 8 else []
    if "GT" not in keys:
        return
    at = keys.index("GT")
    n_alts = len(rec.alts or ())
    for name, column in zip(names, fields[9:], strict=False):
        values = column.split(":")
        text = values[at] if at < len(values) else "."
        for allele in text.replace("|", "/").split("/"):
            if allele.isdigit() and int(allele) > n_alts:
                raise ValueError(
                    f"sample {name!r}: genotype {text} names allele {allele} but the record "
                    f"has {n_alts} ALT allele(s)"
                )


def _record_depths(rec, build: str, scan: VcfScan, hit: int) -> None:
    """Each sample's depth at a record covering a watched position: DP, else MIN_DP (gVCF
    blocks), else the sum of AD."""
    lowest = scan.lowest_depth[build]
    for name, sample in rec.samples.items():
        depth = _sample_depth(sample, ("DP", "MIN_DP"))
        if depth is not None and (name not in lowest or depth < lowest[name][0]):
            lowest[name] = (depth, hit)


def _sample_depth(sample, keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` that is an integer, else the sum of AD (all present)."""
    for key in keys:
        depth = _int_or_none(_format(sample, key))
        if depth is not None:
            return depth
    ad = _format(sample, "AD")
    if isinstance(ad, tuple) and all(isinstance(x, int) for x in ad):
        return sum(ad)
    return None


def _gt_text(sample) -> str:
    raw = _format(sample, "GT") or ()
    return "/".join("." if a is None else str(a) for a in raw)


def _note_evidence(rec, build: str, scan: VcfScan) -> None:
    """Which samples this record genotyped, and a gVCF record's coverage
    (:class:`nlrp3annot.io.evidence.LocusEvidence`)."""
    evidence = scan.evidence
    block = is_gvcf_record(rec.alts or (), rec.stop > rec.pos + max(len(rec.ref or ""), 1) - 1)
    if not (evidence.pending[build] or block):
        return
    samples = rec.samples
    names = scan.samples
    evidence.note(
        build,
        [(k, _gt_text(samples[names[k]]), _sample_depth(samples[names[k]], ("DP", "MIN_DP")))
         for k in evidence.pending[build]],
    )  # fmt: skip
    if block:
        evidence.block(
            build,
            rec.pos,
            rec.stop,
            [(k, _gt_text(samples[n]), _sample_depth(samples[n], ("MIN_DP", "DP")))
             for k, n in enumerate(names)],
        )  # fmt: skip


def _split(path: Path, index: int, rec, build: str, scan: VcfScan, watch: Watch) -> None:
    if scan.samples:
        hit = watch.first_hit(build, rec.pos, rec.stop)
        if hit is not None:
            _record_depths(rec, build, scan, hit)
        _note_evidence(rec, build, scan)
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
        lambda i: _calls_or_error(path, index, rec, i, scan),
    )


def _calls_or_error(path: Path, index: int, rec, allele: int, scan: VcfScan):
    try:
        return sample_calls(rec, allele, scan.strand)
    except ValueError as exc:
        raise RecordError(path, f"#{index}", f"{exc}; fix or remove that record") from None
