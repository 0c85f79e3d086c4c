"""The statistics: pure functions, frames in and frames out. Rank tests with their estimates
and the intervals that invert them, censored values as bounds, time to flare, the plan's
primary family and its multiplicity, the secondary analyses, and the comparison job that
runs them (compare.run_comparison)."""
