"""The patient summary: one row per sample with its NLRP3 status. Pure.

Status rule (first that applies):
1. ``positive_germline``: carries a ClinVar pathogenic/likely pathogenic change (judged on
   the sample's own protein change first, e.g. p.Arg260Trp, then the site) as het, hom_alt
   or hemi with an allele fraction not significantly below 1/2, or without read counts at
   all (the caller's genotype is all there is). At a depth below the minimum (with ALT
   reads) it is still reported as found: ``confirm`` says so.
2. ``positive_mosaic``: carries such a change at a low allele fraction that the reads show
   as a mosaic (zygosity mosaic, see :mod:`nlrp3annot.patients.zygosity`).
3. ``not_assessable``: carries such a change but no read shows the ALT, or its low fraction
   does not rise above the noise (floor, ALT reads, strands), or the call is doubtful (its
   REF differs from the reference, or it failed the caller's FILTER): such evidence is
   reported but never makes a patient positive on its own; or carries none, but a
   pathogenic position was seen with too little depth (or a missing genotype) in this
   sample, so a mosaic there could be missed. The ``note`` says which.
4. ``vus_only``: carries only changes of uncertain weight: ClinVar VUS or conflicting,
   low-penetrance CAPS variants (p.Val198Met, p.Gln703Lys), or protein-altering/splice
   changes not in ClinVar.
5. ``negative``: none of the above, and the sample was genotyped in the locus (a called
   genotype there, gVCF blocks or coverage: :mod:`nlrp3annot.patients.coverage`); without
   that evidence ``not_assessable`` with "no calls in the NLRP3 locus". When the VCF says
   nothing about depth at the pathogenic positions (a variants-only VCF), ``note`` says
   coverage was not shown.
``confirm`` says why a positive should be confirmed ('' when it need not): found at low
depth, a mosaic under the caller's reference genotype, or any mosaic below 10% from a
caller's VCF (a reads scan has its own error model).
Benign/likely benign changes never make a sample positive or VUS.
"""

from __future__ import annotations

from collections.abc import Mapping

from nlrp3annot.patients.coverage import NO_CALLS, coverage_columns
from nlrp3annot.patients.zygosity import CONFIRM_MOSAIC_VAF
from nlrp3annot.values import SampleRow, ScanLimits

STATUS_ORDER = ["positive_germline", "positive_mosaic", "not_assessable", "vus_only", "negative"]


def is_pathogenic(significance: str) -> bool:
    s = significance.lower()
    return "pathogenic" in s and "conflicting" not in s and "benign" not in s


def is_benign(significance: str) -> bool:
    s = significance.lower()
    return "benign" in s and "pathogenic" not in s and "conflicting" not in s


def _significance(row: dict) -> str:
    return str(row.get("clinvar_significance_sample") or row.get("clinvar_significance") or "")


def _weight(row: dict) -> str:
    """pathogenic, uncertain, benign or none for one carried allele."""
    sig = _significance(row)
    if row.get("penetrance") == "low":
        return "uncertain"
    if is_pathogenic(sig):
        return "pathogenic"
    if is_benign(sig):
        return "benign"
    if sig:
        return "uncertain"
    if row.get("impact") in ("HIGH", "MODERATE"):
        return "uncertain"
    return "none"


def summarise(
    file: str,
    samples: list[str],
    rows: list[dict],
    lowest_depth: Mapping[str, tuple[int, int]],
    min_depth: int,
    genotyped: set[str] | None = None,
    covered: Mapping[str, list[tuple[int, int]]] | None = None,
    targets: list[tuple[int, int]] | None = None,
    scan_limits: Mapping[str, ScanLimits] | None = None,
) -> list[dict[str, object]]:
    """One summary row per sample in ``samples`` (every sample, with or without variants).

    ``rows``: the sample rows of the status-deciding transcript; ``lowest_depth``: per
    sample, the lowest depth the file shows at a pathogenic position, and that position;
    ``genotyped``: the samples with a called genotype of enough depth in the locus (None:
    not known, every sample counts as genotyped); ``covered``: per sample, the intervals
    called at ``min_depth`` (gVCF blocks, coverage; None when the input shows none);
    ``targets``: the coding bases and splice sites; ``scan_limits``: per sample scanned from
    its reads, what the scan could have missed."""
    weights = _WEIGHTS
    weights.bound()
    by_sample: dict[str, list[tuple[dict, str, str]]] = {}
    known = weights.known
    for r in rows:  # (row, zygosity, weight), each looked up once
        if type(r) is SampleRow:  # the sample table's rows: read their parts directly
            sample, zygosity = r.sample, r.call["zygosity"]
            entry = known.get(id(r.own))
            weight = entry[1] if entry is not None else weights(r)
        else:
            sample, zygosity, weight = r.get("sample"), r.get("zygosity"), weights(r)
        by_sample.setdefault(str(sample), []).append((r, str(zygosity), weight))
    out = []
    for sample in samples:
        mine = by_sample.get(sample, [])
        carried = [r for r, z, _ in mine if z not in ("missing", "ref")]
        missing_at = [r for r, z, w in mine if z == "missing" and w == "pathogenic"]
        low = lowest_depth.get(sample)
        low_cover = (
            f"depth {low[0]} < {min_depth} at pathogenic position {low[1]}"
            if low is not None and low[0] < min_depth
            else None
        )
        if any(w in ("pathogenic", "uncertain") for _, z, w in mine if z not in ("missing", "ref")):
            status, best, note = _status(carried, missing_at, low_cover, weights)
        else:  # only benign or unweighted alleles (most samples of a joint VCF): no ranking
            status, best, note = _status([], missing_at, low_cover, weights)
        cover = None if covered is None else covered.get(sample, [])
        seen = genotyped is None or sample in genotyped or bool(carried) or bool(cover)
        scanned = scan_limits.get(sample) if scan_limits else None
        if scanned is not None and scanned.unusable and not carried:  # why, not the depth
            status, note = "not_assessable", f"scan: {scanned.unusable}"
        elif status == "negative" and not seen:
            status, note = "not_assessable", NO_CALLS
        elif status == "negative" and scan_limits and sample in scan_limits:
            status, note = _scan_negative(scan_limits[sample])
        elif status == "negative" and low is None:
            note = "VCF shows no depth at the pathogenic positions for this sample"
        if best and str(best.get("clinvar_match", "")).startswith("protein change"):
            note = "; ".join(x for x in (note, _protein_match(best)) if x)
        weighted = {
            r.get("hgvs_c_sample")
            for r, z, w in mine
            if z not in ("missing", "ref") and w in ("pathogenic", "uncertain")
        }
        out.append(
            {
                "file": file,
                "sample": sample,
                "status": status,
                "best_variant": best.get("hgvs_c_sample", "") if best else "",
                "hgvs_p_sample": best.get("hgvs_p_sample", "") if best else "",
                "zygosity": best.get("zygosity", "") if best else "",
                "vaf": best.get("vaf", "") if best else "",
                "clinvar_significance": _significance(best) if best else "",
                "caps_phenotype": best.get("caps_phenotype", "") if best else "",
                "penetrance": best.get("penetrance", "") if best else "",
                "variants": len(weighted),
                **coverage_columns(cover, targets or [], low),
                "note": note,
                "confirm": confirm_reason(best, scanned=bool(scan_limits and sample in scan_limits))
                if best and status.startswith("positive")
                else "",
            }
        )
    return out


def _protein_match(row) -> str:
    """The note where a change's ClinVar class comes from another change of the same
    protein (c.1218G>T classed as ClinVar's c.1218G>A: both p.Met406Ile)."""
    own = row.get("hgvs_c_sample") or row.get("hgvs_c") or "this change"
    protein = (row.get("hgvs_p_sample") or row.get("hgvs_p") or "").split(":")[-1]
    matched = str(row.get("clinvar_match", "")).removeprefix("protein change of ")
    return (
        f"{str(own).split(':')[-1]} ({protein}) is not itself in ClinVar: classed "
        f"{_significance(row)} by its protein change, as {matched}"
    )


def _scan_negative(limits: ScanLimits) -> tuple[str, str]:
    """negative with the limits of detection the reads reached (every class of allele
    they cover), or not_assessable where a mosaic of the size that matters could have
    been missed at a known pathogenic allele."""
    lod = limits.known
    if limits.unusable:
        return "not_assessable", f"scan: {limits.unusable}"
    if limits.known_below_depth:
        return "not_assessable", (
            f"scan: {limits.known_below_depth} known pathogenic allele(s) below the minimum "
            f"depth, so a mosaic there could be missed; {limits.describe()}"
        )
    if limits.known_damaged:
        return "not_assessable", (
            f"scan: {limits.known_damaged} known pathogenic allele(s) of a substitution type "
            "this library's damage (oxidation or deamination, in its only read orientation) "
            "makes no evidence, so a mosaic there could be missed (a library of the other "
            f"orientation, or without the damage, is needed); {limits.describe()}"
        )
    if lod is None or lod > limits.max_lod:
        shown = "unknown" if lod is None else f"{lod:.1%}"
        return "not_assessable", (
            f"scan: limit of detection {shown} at the known pathogenic alleles, above "
            f"{limits.max_lod:.1%}: a smaller mosaic could be missed (deeper sequencing "
            f"needed); {limits.describe()}"
        )
    return "negative", f"scan: no allele called; {limits.describe()}"


class _Weights:
    """:func:`_weight` of rows, once per own part for the sample table's rows. An own part
    (the sample's reading and its known-variant columns) belongs to one annotation, whose
    impact is the only other thing the weight reads, so the part stands for the pair; the
    parts live as long as a session (patients.haplotypes.RowParts), and so do their
    weights here, each entry holding its part so that its id stays its own."""

    LIMIT = 100_000  # entries, then it starts again (a bound on memory)

    def __init__(self) -> None:
        self.known: dict[int, tuple[dict, str]] = {}

    def bound(self) -> None:
        if len(self.known) > self.LIMIT:
            self.known.clear()

    def __call__(self, row) -> str:
        own, site = getattr(row, "own", None), getattr(row, "site", None)
        if own is None or site is None:
            return _weight(row)
        entry = self.known.get(id(own))
        if entry is None:
            entry = self.known[id(own)] = (own, _weight(row))
        return entry[1]


_WEIGHTS = _Weights()


def doubt(row) -> str:
    """Why a call cannot decide a status on its own ('' when it can): its REF differs from
    the reference (wrong build or FASTA?), or the caller's own filters failed it."""
    if row.get("ref_mismatch") in (True, "True", "1"):
        return (
            f"REF {row.get('ref')} at {row.get('pos')} differs from the reference; check the build"
        )
    filt = str(row.get("filter") or ".")
    if filt not in ("PASS", "."):
        return f"call at {row.get('pos')} failed the caller's filters ({filt})"
    return ""


def _status(carried: list[dict], missing_at: list[dict], low_cover: str | None, weights):
    pathogenic = [r for r in carried if weights(r) == "pathogenic"]
    doubtful = [r for r in pathogenic if doubt(r)]
    pathogenic = [r for r in pathogenic if not doubt(r)]
    germline = [r for r in pathogenic if r.get("zygosity") in ("het", "hom_alt", "hemi")]
    assessed = [r for r in germline if not str(r.get("mosaic_test", "")).startswith(NA)]
    if assessed:
        return "positive_germline", assessed[0], ""
    shallow = [r for r in germline if _low_depth(r) and str(r.get("mosaic_test")) == _na(r)]
    mosaic = [r for r in pathogenic if r.get("zygosity") == "mosaic"]
    if shallow and not mosaic:  # found, at too few reads to tell more: confirm it
        return "positive_germline", shallow[0], f"{_low_depth(shallow[0])}: {INDEPENDENT}"
    if mosaic:
        depth = _low_depth(mosaic[0])
        return "positive_mosaic", mosaic[0], f"{depth}: {DEEP}" if depth else ""
    if pathogenic:
        row = pathogenic[0]
        return "not_assessable", row, str(row.get("evidence") or row.get("mosaic_test", ""))
    if doubtful:  # reported, but doubtful evidence never makes a patient positive
        return "not_assessable", doubtful[0], doubt(doubtful[0])
    uncertain = [r for r in carried if weights(r) == "uncertain"]
    if missing_at:
        return "not_assessable", missing_at[0], "missing genotype at a pathogenic variant site"
    if low_cover:
        return "not_assessable", uncertain[0] if uncertain else None, low_cover
    if uncertain:
        note = "low-penetrance variant" if uncertain[0].get("penetrance") == "low" else ""
        return "vus_only", uncertain[0], note
    return "negative", None, ""


NA = "not_assessable"
INDEPENDENT = "confirm by an independent method"
DEEP = "confirm by deep sequencing"


def _na(row) -> str:
    return f"{NA} ({_low_depth(row)})"


def _low_depth(row) -> str:
    """'depth 12 < 20' where the row's reads were too few for the mosaic test, else ''."""
    test = str(row.get("mosaic_test") or "")
    if test.startswith(f"{NA} (depth "):
        return test[len(NA) + 2 : -1]
    evidence = str(row.get("evidence") or "")  # a mosaic seen at low depth says so first
    if row.get("zygosity") == "mosaic" and evidence.startswith("depth "):
        return evidence.split(";")[0]
    return ""


def confirm_reason(row, scanned: bool = False) -> str:
    """Why the finding of ``row`` should be confirmed ('' when it need not): found at low
    depth, a mosaic under the caller's reference genotype, a mosaic below 10% (from a
    caller's VCF, or from a reads scan: ``scanned``; the scan's error model called it, but
    a low-level mosaic is confirmed by an independent method before clinical use, as
    ACMG/CAP reporting asks). The patient page and Phenopacket state this reason and no
    other, so that every view of the finding agrees."""
    reasons = []
    depth = _low_depth(row)
    if depth:
        reasons.append(f"{depth}: {INDEPENDENT}")
    if row.get("zygosity") == "mosaic":
        alleles = str(row.get("gt") or "").replace("|", "/").split("/")
        if all(a == "0" for a in alleles) and not scanned:
            reasons.append(f"mosaic under the caller's reference genotype: {DEEP}")
        else:
            vaf = _number(row.get("vaf"))
            if vaf is not None and vaf < CONFIRM_MOSAIC_VAF:
                source = "the scan of the reads" if scanned else "a caller's VCF"
                way = INDEPENDENT if scanned else DEEP
                reasons.append(f"mosaic at {100 * vaf:.1f}% from {source}: {way}")
    return "; ".join(reasons)


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
