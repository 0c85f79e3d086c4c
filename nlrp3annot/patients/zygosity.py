"""Sample calls: genotype, depth, allele fraction, zygosity and the mosaic test. Pure.

A :class:`SampleCall` is one sample's call for one ALT allele of a record, with the
genotype already remapped to that allele (other ALTs of a multi-allelic record are
"other"). :func:`classify` turns it into a zygosity with the evidence behind it.

Zygosity rule (documented in the README, options in :class:`MosaicOptions`):
- ``missing``: no genotype (``./.``, ``.``).
- ``hemi``: haploid genotype carrying the allele.
- ``hom_alt``: every called allele is this ALT.
- ``het``: one copy; ``mosaic`` instead when the allele fraction is clearly below 1/2
  (fraction at most ``max_vaf`` and a one-sided exact binomial test against 0.5 below
  ``alpha``) AND the reads show a mosaic rather than noise. A caller's VCF has no error
  model of its own, so from one a mosaic also needs: at least ``min_alt_reads`` ALT reads;
  the ALT count significantly above the ``noise_floor`` (one-sided exact binomial
  P(X >= ALT reads | depth, noise_floor) below ``alpha``); and, where the VCF gives reads
  per strand (FORMAT ADF/ADR or SB), ALT reads on both strands and no extreme strand bias
  (two-sided Fisher exact P >= ``STRAND_BIAS_P``). A het whose low fraction fails these is
  ``het`` with ``mosaic_test`` not_assessable. A genotype of 0/0 meeting all of it is also
  ``mosaic`` (callers often genotype a 5% allele as 0/0); one failing it stays ``ref``. The
  calls of ``nlrp3annot scan`` (``from_reads``) were already tested against the sample's
  own error background with strand and orientation bias tests: only the test against 0.5
  applies.
- ``ref``: no copy.
Where depth is below ``min_depth`` a germline-like fraction cannot rule a mosaic out:
``mosaic_test`` says ``not_assessable (depth ...)``; the patient summary reports a carrier
there as found, with confirmation recommended, but never calls such a sample negative.
``evidence`` says in plain words what the reads show where there is something to say (a
mosaic, a refused mosaic, a carrier at low depth), '' otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from nlrp3annot.patients.binomial import clopper_pearson, fisher_exact, germline_p, noise_p
from nlrp3annot.values import CARRYING, SampleCall


@dataclass(frozen=True)
class MosaicOptions:
    min_depth: int = 20  # reads needed to rule a mosaic in or out
    alpha: float = 0.01  # one-sided binomial tests: against 0.5, and above the noise floor
    max_vaf: float = 0.40  # a mosaic call also needs the fraction at or below this
    # a mosaic from a caller's VCF: the per-base error rate its ALT reads must rise above
    # (1% fits Illumina data), and the ALT reads it needs at least
    noise_floor: float = 0.01
    min_alt_reads: int = 5
    from_reads: bool = False  # the calls of nlrp3annot scan (their own error model)


DEFAULT_OPTIONS = MosaicOptions()
STRAND_BIAS_P = 0.001  # a mosaic with a Fisher strand x allele P below this is refused
# A 0/0 with this many ALT reads and a fraction below 1/2 gets a row saying why it is not a
# mosaic (the old rule called such calls mosaic: each is still shown, with its reason).
NOTED_ALT_READS = 3
CONFIRM_MOSAIC_VAF = 0.10  # a caller's mosaic below this fraction: confirm by deep sequencing


@cache
def scan_options(options: MosaicOptions) -> MosaicOptions:
    """``options`` for the calls of a reads scan (one object per options, for the cache)."""
    from dataclasses import replace

    return replace(options, from_reads=True)


@dataclass(frozen=True)
class Zygosity:
    zygosity: str  # het hom_alt hemi mosaic ref missing
    vaf: float | None
    vaf_ci: tuple[float, float] | None  # 95% exact (Clopper-Pearson) interval
    mosaic_p: float | None  # one-sided binomial P of the ALT fraction against 0.5
    mosaic_test: str  # germline_like, mosaic, not_mosaic, not_assessable (...), no_read_counts
    evidence: str = ""  # plain words on what the reads show ('' when nothing to say)


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
    # the answer depends on nothing else, so it is worked out once per pattern and options.
    # The options are found by id (hashing their fields costs more than the lookup), and
    # each memo holds its options object: while it does, no other object can take that id
    # (a freed one could, and a script making options afresh for each call would have got
    # another threshold's answer).
    held = _CLASSIFIED.get(id(options))
    if held is None or held[0] is not options:
        if len(_CLASSIFIED) >= 64:
            _CLASSIFIED.clear()
        held = _CLASSIFIED[id(options)] = (options, {})
    memo = held[1]
    key = call[1:]  # everything but the sample name (one C-level slice)
    z = memo.get(key)
    if z is None:
        if len(memo) > 100_000:
            memo.clear()
        z = memo[key] = _classify(call, options)
    return z


# id(options) -> (the options, their memo: call without its sample name -> Zygosity)
_CLASSIFIED: dict[int, tuple[MosaicOptions, dict[tuple, Zygosity]]] = {}


def _classify(call: SampleCall, options: MosaicOptions) -> Zygosity:
    called = [a for a in call.gt if a is not None]
    counts = read_counts(call)
    vaf = ci = p = None
    test, refusal = "no_read_counts", ""
    low_depth = ""
    if counts is not None and counts[1] > 0:
        alt, depth = counts
        vaf = alt / depth
        p, low, high = _binomial(alt, depth)
        ci = (low, high)
        if depth < options.min_depth:
            low_depth = f"depth {depth} < {options.min_depth}"
        if alt == 0 and call.alt_copies > 0:  # called, but not one read shows the ALT
            test = "not_assessable (genotype has no ALT reads)"
        elif p < options.alpha and vaf <= options.max_vaf:  # clearly below one copy
            refusal = "" if options.from_reads else _refusal(call, alt, depth, options)
            if not refusal:
                test = "mosaic"
            elif call.alt_copies:  # the caller's het, but its reads show neither
                test = f"not_assessable ({refusal})"
            else:
                test = "not_mosaic"
        elif low_depth:
            test = f"not_assessable ({low_depth})"
        else:
            test = "germline_like"
    elif call.depth is not None and call.depth < options.min_depth:
        low_depth = f"depth {call.depth} < {options.min_depth}"
        test = f"not_assessable ({low_depth})"

    if not called:
        zygosity = "missing"
    elif len(call.gt) == 1:
        zygosity = "hemi" if called[0] == 1 else "ref"
    elif call.alt_copies == 0:
        zygosity = "mosaic" if test == "mosaic" else "ref"
    elif all(a == 1 for a in called) and len(called) == len(call.gt):
        zygosity = "hom_alt"
    else:
        zygosity = "mosaic" if test == "mosaic" else "het"
    evidence = _evidence(call, zygosity, test, refusal, low_depth, counts, ci, options)
    return Zygosity(zygosity, vaf, ci, p, test, evidence)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _refusal(call: SampleCall, alt: int, depth: int, options: MosaicOptions) -> str:
    """Why the reads of a low allele fraction from a caller's VCF do not show a mosaic
    ('' when they do): the noise floor, too few ALT reads, one strand, strand bias."""
    if noise_p(alt, depth, options.noise_floor) >= options.alpha:
        return (
            f"{alt} of {depth} reads ({_pct(alt / depth)}), not above the "
            f"{100 * options.noise_floor:g}% noise floor"
        )
    if alt < options.min_alt_reads:
        return f"{alt} ALT reads, fewer than the {options.min_alt_reads} a mosaic call needs"
    forward, reverse = call.alt_forward, call.alt_reverse
    if forward is None or reverse is None:
        return ""
    if forward < 1 or reverse < 1:
        return f"ALT reads on one strand only ({forward} forward, {reverse} reverse)"
    if call.ref_forward is not None and call.ref_reverse is not None:
        bias = fisher_exact(call.ref_forward, call.ref_reverse, forward, reverse)
        if bias < STRAND_BIAS_P:
            return (
                f"strand bias (Fisher P = {bias:.2g}: ALT {forward} forward, {reverse} "
                f"reverse; REF {call.ref_forward} forward, {call.ref_reverse} reverse)"
            )
    return ""


def _evidence(call, zygosity, test, refusal, low_depth, counts, ci, options) -> str:
    """Plain words on what the reads show, for the ``evidence`` column ('' when nothing)."""
    if zygosity == "mosaic":
        if options.from_reads:
            return ""
        alt, depth = counts
        words = [f"{alt} of {depth} reads, {_pct(alt / depth)} (95% CI "
                 f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%)"]  # fmt: skip
        if call.alt_copies == 0:
            words.insert(0, "genotyped as reference by the caller")
        if low_depth:
            words.insert(0, low_depth)
        if call.alt_copies == 0 or alt / depth < CONFIRM_MOSAIC_VAF or low_depth:
            words.append("confirm by deep sequencing")
        return "; ".join(words)
    if zygosity == "ref":  # a refused mosaic worth showing (see NOTED_ALT_READS)
        noted = test == "not_mosaic" and counts is not None and counts[0] >= NOTED_ALT_READS
        return f"genotyped as reference by the caller; {refusal}" if noted else ""
    if zygosity not in CARRYING:
        return ""
    if test == "not_assessable (genotype has no ALT reads)":
        return f"genotyped {call.gt_text} by the caller, but the genotype has no ALT reads"
    if refusal:
        return "; ".join(x for x in (low_depth, refusal) if x)
    if low_depth:
        return f"{low_depth}: confirm by an independent method"
    return ""


def carries(z: Zygosity) -> bool:
    return z.zygosity in CARRYING
