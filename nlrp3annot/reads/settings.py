"""The scan's statistical settings, in one frozen value (the command line sets some)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallSettings:
    # significance: family-wise per sample, Bonferroni over every allele tested, with a
    # stronger prior at the known pathogenic alleles (alpha over their number instead)
    alpha: float = 0.05
    known_alpha: float = 0.005
    min_alt_reads: int = 3
    min_depth: int = 20
    error_floor: float = 1e-4  # no background below this rate per read
    # backgrounds: a sample carries an allele (and leaves its background) where its count
    # is this improbable against the other samples; with no other sample, above a fraction
    carrier_alpha: float = 1e-6
    variant_fraction: float = 0.02
    germline_fraction: float = 0.25  # carriers from the start: plainly not errors
    # robust backgrounds: a sample whose count at a position is this improbable against
    # the other samples' (beta-binomial, leave-one-out) is left out of their background,
    # up to this share of them (low-level alleles below the carrier rule would otherwise
    # lift everyone's spread); a sample's own rates leave out up to own_trim_share of its
    # positions of a type the same way (its own mosaics)
    outlier_alpha: float = 1e-3
    tight_outlier_alpha: float = 1e-2  # where the usual samples show next to no error
    trim_share: float = 0.25
    own_trim_share: float = 0.05
    # a position's own overdispersion is used (where above its type's, pooled over the
    # positions) only where its counts spread more than the type's would (chi-square P)
    overdispersion_p: float = 0.05
    # orientation screen: a sample's substitution type seen at this many times the rate
    # in one orientation as in the other (and significantly) is an artefact of that
    # orientation: its reads of that type are not evidence in that sample
    orientation_ratio: float = 3.0
    orientation_alpha: float = 1e-6
    orientation_min_excess: int = 10
    # strand and orientation bias: an allele is refused where its fragments split between
    # forward/reverse (or F1R2/F2R1) unlike the other fragments at its position (two-sided
    # Fisher P below this). A real allele's split follows the others', so this refuses one
    # with chance at most bias_alpha a test (Fisher is conservative): 0.2% of the 5% miss
    # budget of the limits for both tests. An artefact all in one half of a 50/50 position
    # is refused from 11 ALT fragments (2 * 0.5**11 < 1e-3).
    bias_alpha: float = 1e-3
    # read ends (SNVs): most ALT reads within 10 bases of an end, unlike the other reads
    read_end_share: float = 0.9
    artefact_p: float = 1e-3
    # beside an indel: an SNV within this many bases of an indel the sample shows at this
    # many times its fraction is the indel's misaligned reads (bcftools filter --SnpGap)
    indel_gap: int = 5
    indel_gap_ratio: float = 5.0
    # limits of detection: the allele fraction found with this power; a sample is
    # "negative" only where a mosaic of max_lod at the known pathogenic alleles is found
    power: float = 0.95
    max_lod: float = 0.10
    report_p: float = 1e-3  # candidates reported (called or not) below this nominal P
