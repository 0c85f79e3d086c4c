"""Sample calls: genotype, depth, allele fraction, zygosity and the mosaic test. Pure.

A :class:`SampleCall` is one sample's call for one ALT allele of a record, with the
genotype already remapped to that allele (other ALTs of a multi-allelic record are
"other"). :func:`classify` turns it into a zygosity with the evidence behind it.

Zygosity rule (documented in the README, options in :class:`MosaicOptions`):
- ``missing``: no genotype (``./.``, ``.``).
- ``hemi``: haploid genotype carrying the allele.
- ``hom_alt``: every called allele is this ALT.
- ``het``: one copy; ``mosaic`` instead when the allele fraction is clearly below 1/2: depth
  at least ``min_depth``, fraction at most ``max_vaf`` and a one-sided exact binomial test
  against 0.5 below ``alpha``. A genotype of 0/0 with at least ``min_alt_reads`` ALT reads
  and the same evidence is also ``mosaic`` (callers often genotype a 10% allele as 0/0).
- ``ref``: no copy.
Where depth is below ``min_depth`` the mosaic question cannot be answered either way:
``mosaic_test`` says ``not_assessable`` and the patient summary does not call it negative.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlrp3annot.patients.binomial import clopper_pearson, germline_p
from nlrp3annot.values import SampleCall


@dataclass(frozen=True)
class MosaicOptions:
    min_depth: int = 20  # reads needed to rule a mosaic in or out
    alpha: float = 0.01  # one-sided binomial test of the ALT fraction against 0.5
    max_vaf: float = 0.40  # a mosaic call also needs the fraction at or below this
    min_alt_reads: int = 3  # ALT reads needed to call a mosaic under a 0/0 genotype


DEFAULT_OPTIONS = MosaicOptions()


@dataclass(frozen=True)
class Zygosity:
    zygosity: str  # het hom_alt hemi mosaic ref missing
    vaf: float | None
    vaf_ci: tuple[float, float] | None  # 95% exact (Clopper-Pearson) interval
    mosaic_p: float | None  # one-sided binomial P of the ALT fraction against 0.5
    mosaic_test: str  # germline_like, mosaic, not_assessable (depth ...), no_read_counts


def _binomial(k: int, n: int) -> tuple[float, float, float]:
    """One-sided exact binomial P(X <= k | n, 1/2) and the Clopper-Pearson 95% interval
    (pure Python, :mod:`nlrp3annot.patients.binomial`: scipy's import costs more than a
    patient's whole VCF)."""
    low, high = clopper_pearson(k, n)
    return germline_p(k, n), low, high


def read_counts(call: SampleCall) -> tuple[int, int] | None:
    """(ALT reads, depth) from AD, else from AF x DP (Mutect2 writes both), else None."""
    if call.alt_reads is not None and call.ref_reads is not None:
        depth = call.ref_reads + call.alt_reads
        if call.depth is not None and call.depth > depth and call.alt_reads == 0:
            depth = call.depth
        return call.alt_reads, depth
    if call.af is not None and call.depth:
        return round(call.af * call.depth), call.depth
    return None


def classify(call: SampleCall, options: MosaicOptions = DEFAULT_OPTIONS) -> Zygosity:
    """Zygosity of ``call`` with its allele fraction, 95% CI and mosaic test."""
    # A joint VCF repeats a few thousand genotype/read-count patterns across 10^5 carriers:
    # the answer depends on nothing else, so it is worked out once per pattern.
    key = (call[1:], id(options))  # everything but the sample name (one C-level slice)
    z = _CLASSIFIED.get(key)
    if z is None:
        if len(_CLASSIFIED) > 100_000:
            _CLASSIFIED.clear()
        z = _CLASSIFIED[key] = _classify(call, options)
    return z


_CLASSIFIED: dict[tuple, Zygosity] = {}  # options by id: callers keep theirs alive


def _classify(call: SampleCall, options: MosaicOptions) -> Zygosity:
    called = [a for a in call.gt if a is not None]
    counts = read_counts(call)
    vaf = ci = p = None
    test = "no_read_counts"
    if counts is not None and counts[1] > 0:
        alt, depth = counts
        vaf = alt / depth
        p, low, high = _binomial(alt, depth)
        ci = (low, high)
        if alt == 0 and call.alt_copies > 0:  # called, but not one read shows the ALT
            test = "not_assessable (genotype has no ALT reads)"
        elif depth < options.min_depth:
            test = f"not_assessable (depth {depth} < {options.min_depth})"
        elif p < options.alpha and vaf <= options.max_vaf:
            test = "mosaic"
        else:
            test = "germline_like"
    elif call.depth is not None and call.depth < options.min_depth:
        test = f"not_assessable (depth {call.depth} < {options.min_depth})"

    if not called:
        zygosity = "missing"
    elif len(call.gt) == 1:
        zygosity = "hemi" if called[0] == 1 else "ref"
    elif call.alt_copies == 0:
        low_level = test == "mosaic" and counts is not None and counts[0] >= options.min_alt_reads
        zygosity = "mosaic" if low_level else "ref"
    elif all(a == 1 for a in called) and len(called) == len(call.gt):
        zygosity = "hom_alt"
    else:
        zygosity = "mosaic" if test == "mosaic" else "het"
    return Zygosity(zygosity, vaf, ci, p, test)


CARRYING = frozenset({"het", "hom_alt", "hemi", "mosaic"})  # zygosities that carry the ALT


def carries(z: Zygosity) -> bool:
    return z.zygosity in CARRYING
