"""Joint BCFs: every sample's genotype, depth and allele reads read as numpy arrays.

A joint VCF of 20,000 samples has 10 million genotypes over the NLRP3 locus, of which a few
percent carry an ALT allele or lack a call. One Python object per genotype (pysam's sample
proxies) costs minutes; cyvcf2 hands htslib's decoded FORMAT fields over as arrays (measured
on 1,000 samples x 500 records: pysam per-sample access 37% of a 24 s run, cyvcf2 arrays
~7 s CPU for the whole run), so the per-sample work is done in bulk and a
:class:`~nlrp3annot.values.SampleCall` is built only for samples that may carry the
allele (any non-reference or missing genotype, or enough ALT reads under 0/0 to be a mosaic).
Everything else a patient needs (depth at pathogenic positions) is kept as one number per
sample. Results are identical to the per-sample reader in :mod:`nlrp3annot.io.pysam_reader`
(tested). Text VCFs have a faster way, on their raw lines (:mod:`nlrp3annot.io.text_reader`).
"""

from __future__ import annotations

from pathlib import Path

from nlrp3annot.errors import RecordError
from nlrp3annot.io.evidence import is_gvcf_record
from nlrp3annot.io.vcf import VcfScan, Watch, skip_reason, split_alleles, window_of
from nlrp3annot.values import SampleCall

_MISSING = -(2**31)  # htslib's int32 missing value
_END = -(2**31) + 1  # htslib's int32 vector end (a shorter vector than declared)
_GT_MISSING, _GT_END = -1, -2  # cyvcf2 genotype array codes


def scan_arrays(
    path: Path,
    scan: VcfScan,
    regions: list[tuple[str, int, int]] | None,
    windows: dict[str, tuple[int, int]],
    watch: Watch,
    min_alt_reads: int,
    samples: list[str] | None = None,
) -> None:
    """Fill ``scan`` from ``path`` (whole, or the ``regions`` through its index)."""
    import numpy as np
    from cyvcf2 import VCF

    vcf = VCF(str(path), lazy=True, threads=1, samples=samples)
    af_number = (vcf.get_header_type("AF") or {}).get("Number") if _has_format(vcf, "AF") else ""
    names = scan.samples
    fetched = regions is not None
    sources = [vcf] if regions is None else [vcf(f"{c}:{lo}-{hi}") for c, lo, hi in regions]
    shown = Path(scan.path)
    index = 0
    for source in sources:
        iterator = iter(source)
        while True:
            try:
                v = next(iterator)
            except StopIteration:
                break
            except Exception as exc:  # cyvcf2 raises bare Exceptions for htslib parse errors
                raise RecordError(
                    shown, f"#{index + 1}", f"cannot be parsed ({exc}); fix or remove that line"
                ) from None
            index += 1
            number = index
            scan.records_read += 1
            build = window_of(v.CHROM, v.POS, max(len(v.REF or ""), v.end - v.POS + 1), windows)
            if build is None:
                if not fetched:
                    scan.outside += 1
                continue
            _record(np, v, build, number, scan, watch, names, af_number, min_alt_reads)
    vcf.close()


def _has_format(vcf, key: str) -> bool:
    try:
        vcf.get_header_type(key)
    except KeyError:
        return False
    return True


def _format(v, key: str):
    try:
        return v.format(key)
    except KeyError:
        return None


def _record(np, v, build, number, scan: VcfScan, watch, names, af_number, min_alt_reads) -> None:
    alts = list(v.ALT or ())
    ref = v.REF or ""
    hit = watch.first_hit(build, v.POS, v.end) if names else None
    calls_by_allele: dict[int, tuple[SampleCall, ...]] = {}
    if names:
        gt = v.genotype.array() if v.genotype is not None else None
        if gt is not None and len(gt) and int(gt[:, :-1].max()) > len(alts):
            j = int(np.flatnonzero((gt[:, :-1] > len(alts)).any(axis=1))[0])
            alleles = ["." if a < 0 else str(a) for a in gt[j, :-1].tolist() if a != -2]
            text = ("|" if gt[j, -1] else "/").join(alleles)  # (-2: a shorter ploidy's pad)
            raise RecordError(
                Path(scan.path),
                f"#{number}",
                f"sample {names[j]!r}: genotype {text} names allele {int(gt[j, :-1].max())} "
                f"but the record has {len(alts)} ALT allele(s); fix or remove that record",
            )
        ad = _format(v, "AD")
        if hit is not None:
            _record_depths(np, v, ad, build, scan, hit, names)
        block = is_gvcf_record(alts, v.end > v.POS + max(len(ref), 1) - 1)
        if scan.evidence.pending[build] or block:
            _note_evidence(np, v, gt, ad, build, scan, block)
        # alleles that become records: only those need calls
        usable = [i for i, alt in enumerate(alts, start=1) if not skip_reason(ref, alt)]
        if usable:
            calls_by_allele = _calls(
                np, v, gt, ad, usable, names, af_number, min_alt_reads, scan.strand
            )
    split_alleles(
        Path(scan.path),
        number,
        v.CHROM,
        v.POS,
        ref,
        alts,
        v.ID or ".",
        ";".join(v.FILTERS) or ".",
        build,
        scan,
        lambda i: calls_by_allele.get(i, ()),
    )


def _ints(column) -> list[int | None]:
    return [None if x in (_MISSING, _END) else x for x in column.tolist()]


def _calls(np, v, gt, ad, alleles, names, af_number, min_alt_reads, strand=""):
    """SampleCalls per ALT, for the samples that may carry it or have no genotype, with the
    per-strand reads of ``strand`` (:func:`nlrp3annot.io.vcf.strand_fields`)."""
    n = len(names)
    if gt is None:  # no GT in FORMAT: every sample is "missing" (as pysam reads it)
        codes = np.full((n, 1), _GT_MISSING, dtype=np.int16)
        phase_bits = np.zeros(n, dtype=bool)
    else:
        codes, phase_bits = gt[:, :-1], gt[:, -1].astype(bool)
    interesting = ((codes != 0) & (codes != _GT_END)).any(axis=1)
    if ad is not None and ad.shape[1] > 1:
        interesting |= (ad[:, 1:] >= min_alt_reads).any(axis=1)
    af = _format(v, "AF")
    dp = _format(v, "DP")
    if af is not None and dp is not None:
        with np.errstate(invalid="ignore"):
            reads = np.nan_to_num(af, nan=0.0) * np.where(dp[:, :1] > 0, dp[:, :1], 0)
        interesting |= (reads >= min_alt_reads - 0.5).any(axis=1)
    rows = np.flatnonzero(interesting)
    if rows.size == 0:
        return {}
    sub_codes = codes[rows].tolist()
    sub_phased = phase_bits[rows].tolist()
    sub_ad = ad[rows].tolist() if ad is not None else None
    sub_dp = _ints(dp[rows, 0]) if dp is not None else [None] * rows.size
    sub_af = af[rows].tolist() if af is not None else None
    ps = _format(v, "PS")
    sub_ps = _ints(ps[rows, 0]) if ps is not None else [None] * rows.size
    sample_names = [names[j] for j in rows.tolist()]
    strands = _strand_rows(np, v, strand, rows) if strand else None
    out = {}
    for allele in alleles:
        calls = []
        for k, name in enumerate(sample_names):
            raw = [None if a == _GT_MISSING else a for a in sub_codes[k] if a != _GT_END]
            phased = sub_phased[k] and len(raw) > 1
            ref_reads = alt_reads = None
            if sub_ad is not None:
                entries = sub_ad[k]
                if len(entries) > allele and entries[allele] != _END:
                    ref_reads = None if entries[0] in (_MISSING, _END) else entries[0]
                    alt_reads = None if entries[allele] == _MISSING else entries[allele]
            af_value = None
            if sub_af is not None:
                column = 0 if af_number == "1" else allele - 1
                values = sub_af[k]
                if column < len(values) and values[column] == values[column]:  # not NaN
                    af_value = float(values[column])
            calls.append(
                SampleCall(
                    sample=name,
                    gt=tuple(
                        None if a is None else 1 if a == allele else 0 if a == 0 else -1
                        for a in raw
                    ),
                    gt_text=("|" if phased else "/").join(
                        "." if a is None else str(a) for a in raw
                    ),
                    phased=phased,
                    phase_set=sub_ps[k],
                    ref_reads=ref_reads,
                    alt_reads=alt_reads,
                    depth=sub_dp[k],
                    af=af_value,
                    **(_strand_counts(strands, k, allele, len(v.ALT or ())) if strands else {}),
                )
            )
        out[allele] = tuple(calls)
    return out


def _strand_rows(np, v, strand: str, rows):
    """("ADF", forward, reverse) or ("SB", counts): the chosen samples' lists of entries."""
    if strand == "ADF":
        forward, reverse = _format(v, "ADF"), _format(v, "ADR")
        if forward is None or reverse is None:
            return None
        return "ADF", forward[rows].tolist(), reverse[rows].tolist()
    counts = _format(v, "SB")
    return None if counts is None else ("SB", counts[rows].tolist())


def _strand_counts(strands, k: int, allele: int, n_alts: int) -> dict[str, int | None]:
    """One sample's per-strand reads as SampleCall fields (as the pysam reader gives them)."""
    if strands[0] == "ADF":
        forward, reverse = strands[1][k], strands[2][k]
        if (
            len(forward) > allele
            and len(reverse) > allele
            and _END not in (forward[allele], reverse[allele])
        ):
            values = (forward[0], reverse[0], forward[allele], reverse[allele])
            return dict(zip(_STRAND_NAMES, _ints_of(values), strict=True))
        return {}
    counts = strands[1][k]
    if n_alts == 1 and len(counts) == 4 and _END not in counts:
        return dict(zip(_STRAND_NAMES, _ints_of(counts), strict=True))
    return {}


_STRAND_NAMES = ("ref_forward", "ref_reverse", "alt_forward", "alt_reverse")


def _ints_of(values) -> list[int | None]:
    return [None if x in (_MISSING, _END) else x for x in values]


def _record_depths(np, v, ad, build: str, scan: VcfScan, hit: int, names) -> None:
    """Each sample's depth at a record over a watched position: DP, else MIN_DP, else the
    sum of AD (when every AD entry is present), as :func:`nlrp3annot.io.vcf._record_depths`."""
    depth, known = _depth_array(np, v, ad, len(names), ("DP", "MIN_DP"))
    lowest = scan.lowest_depth[build]
    for j in np.flatnonzero(known).tolist():
        d = int(depth[j])
        name = names[j]
        if name not in lowest or d < lowest[name][0]:
            lowest[name] = (d, hit)


def _note_evidence(np, v, gt, ad, build: str, scan: VcfScan, block: bool) -> None:
    """Which samples this record genotyped, and a gVCF record's coverage, in bulk."""
    evidence = scan.evidence
    n = len(scan.samples)
    called = (
        (gt[:, :-1] >= 0).any(axis=1) if gt is not None and len(gt) else np.zeros(n, dtype=bool)
    )
    pending = np.array(evidence.pending[build], dtype=np.int64)
    if len(pending):
        depth, known = _depth_array(np, v, ad, n, ("DP", "MIN_DP"))
        good = called & known & (depth >= evidence.min_depth)
        evidence.found(build, pending[good[pending]].tolist())
    if block:
        depth, known = _depth_array(np, v, ad, n, ("MIN_DP", "DP"))
        good = called & known & (depth >= evidence.min_depth)
        evidence.cover(build, v.POS, v.end, np.flatnonzero(good).tolist())


def _depth_array(np, v, ad, n: int, keys: tuple[str, ...]):
    """(depth, known) per sample: the first of ``keys`` present, else the sum of AD."""
    depth = np.full(n, -1, dtype=np.int64)
    known = np.zeros(n, dtype=bool)
    for key in keys:
        values = _format(v, key)
        if values is not None:
            column = values[:, 0].astype(np.int64)
            take = ~known & (column != _MISSING) & (column != _END)
            depth[take] = column[take]
            known |= take
    if ad is not None:
        present = ad != _END
        complete = ~((ad == _MISSING) & present).any(axis=1)
        sums = np.where(present, ad, 0).sum(axis=1)
        take = ~known & complete
        depth[take] = sums[take]
        known |= take
    return depth, known
