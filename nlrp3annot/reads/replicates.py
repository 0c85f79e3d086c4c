"""Replicate libraries: two or more files of one sample (same SM) from independent PCRs
(different LB in their @RG lines), or one file holding several (split by its reads' RG:
:mod:`nlrp3annot.reads.read_groups`). Each library is counted and judged on its own; the
sample's allele is called only where EVERY library calls it (a PCR error copied early in
one library, a "jackpot", is then never called), and is reported with the pooled counts
and the libraries that called it. Pure, but for :func:`library_names` (a file header).

The set's limit of detection: an allele at fraction f is found only when every library
finds it, so the chance of missing it is at most the sum of the libraries' chances. Each
library's limits are taken at power 1 - (1 - power) / k (k libraries), and the set's limit
at each allele or position is the highest of them: at that fraction each library misses
with chance at most (1 - power) / k, the set with at most 1 - power.

Amplicon pools (:mod:`nlrp3annot.reads.pools`) are judged the same way, but a pool has a
say only where it reads the position (:func:`voting`); replicate libraries keep theirs
everywhere (a library without reads at a position vetoes the call there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from nlrp3annot.reads.calling import Allele, Candidate
from nlrp3annot.reads.pileup import BASES, Counts
from nlrp3annot.reads.settings import CallSettings


def library_names(handle) -> frozenset[str]:
    """The LB tags of a file's read groups (empty when none is set)."""
    groups = handle.header.to_dict().get("RG", [])
    return frozenset(g["LB"] for g in groups if g.get("LB"))


def library_label(libraries: frozenset[str], path: str) -> str:
    """A library's name in the outputs (VCF INFO and header values: no ',;=| ' in it)."""
    text = "+".join(sorted(libraries)) or path
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text)


def replicate_settings(settings: CallSettings, libraries: int) -> CallSettings:
    """The settings whose limits, taken at every library, bound the set's miss chance."""
    if libraries <= 1:
        return settings
    return replace(settings, power=1 - (1 - settings.power) / libraries)


def pooled_counts(counts: list[Counts]) -> Counts:
    """One sample's counts over its libraries (for the reference blocks and coverage)."""
    first = counts[0]
    indels: dict[Allele, np.ndarray] = {}
    for c in counts:
        for allele, cells in c.indels.items():
            indels[allele] = indels.get(allele, 0) + cells
    dropped: Counter = Counter()
    for c in counts:
        dropped.update(c.dropped)
    return replace(
        first,
        path=",".join(dict.fromkeys(c.path for c in counts)),  # a file's pools: one path
        pool="",
        bases=sum(c.bases for c in counts),
        near_end=sum(c.near_end for c in counts),
        indel_depth=sum(c.indel_depth for c in counts),
        indels=indels,
        reads=sum(c.reads for c in counts),
        overlapping_pairs=sum(c.overlapping_pairs for c in counts),
        mate_disagreements=sum(c.mate_disagreements for c in counts),
        families=sum(c.families for c in counts),
        dropped=dropped,
    )


def voting(depth: np.ndarray, groups: list[str], min_depth: int) -> np.ndarray:
    """(libraries, positions) bool: the libraries whose verdict counts at each position.
    Amplicon pools (:mod:`nlrp3annot.reads.pools`) each read only their amplicons' bases:
    a pool without ``min_depth`` fragments at a position does not read it and has no say
    there. ``groups`` names each one's replicate library: where no pool of a library
    reads the position, every pool of it has its say (and none calls: below the depth),
    as a replicate library without reads there keeps today's veto."""
    depth = np.asarray(depth)
    covers = depth >= min_depth
    out = covers.copy()
    for group in set(groups):
        rows = [i for i, g in enumerate(groups) if g == group]
        out[rows] = covers[rows] | ~covers[rows].any(axis=0)
    return out


def pooled_candidates(
    counts: list[Counts],
    found: list[list[Candidate]],
    labels: list[str],
    report_p: float,
    groups: list[str] | None = None,
    min_depth: int = 0,
    read_by: dict[Allele, tuple[int, ...]] | None = None,
) -> list[Candidate]:
    """The sample's candidates: every allele any library reports, with the counts of all
    its libraries (from the library's counts where it did not report the allele), called
    only where every library called it, and ``called_in`` naming the libraries that did.
    Not called: the verdict of the first library that did not call it ("not_significant"
    where it was not even reported, P >= ``report_p``).

    With ``groups`` (amplicon pools: each one's replicate library) only the libraries that
    read the allele's position have a say (:func:`voting`); ``read_by`` then receives,
    per allele, the indices of those."""
    by_allele: dict[Allele, list[Candidate | None]] = {}
    for i, candidates in enumerate(found):
        for c in candidates:
            by_allele.setdefault((c.pos, c.ref, c.alt), [None] * len(found))[i] = c
    pooled = []
    for allele, per_library in sorted(by_allele.items()):
        present = [c for c in per_library if c is not None]
        cells = [_cells(c, x, allele) for c, x in zip(counts, per_library, strict=True)]
        if groups is None:
            voters = list(range(len(per_library)))
        else:
            depths = np.array([[int(np.sum(d))] for _, d, _ in cells])
            voters = np.flatnonzero(voting(depths, groups, min_depth)[:, 0]).tolist()
            if read_by is not None:
                read_by[allele] = tuple(voters)
        voting_present = [per_library[i] for i in voters if per_library[i] is not None]
        alt_cells = tuple(int(v) for v in sum(np.array(a) for a, _, _ in cells))
        depth_cells = tuple(int(v) for v in sum(np.array(d) for _, d, _ in cells))
        near = tuple(int(v) for v in sum(np.array(n) for _, _, n in cells))
        weights = np.array([x.depth_cells for x in present], float)  # (L, 4)
        rates = np.array([x.cell_background for x in present])
        background = (weights * rates).sum(axis=0) / np.maximum(weights.sum(axis=0), 1)
        background = np.where(weights.sum(axis=0) > 0, background, rates.max(axis=0))
        verdicts = [
            per_library[i].verdict if per_library[i] is not None else "not_significant"
            for i in voters
        ]  # fmt: skip
        missing = len(voting_present) < len(voters)
        first = present[0]
        pooled.append(
            replace(
                first,
                alt_cells=alt_cells,
                depth_cells=depth_cells,
                cell_background=tuple(float(v) for v in background),
                rho=max(x.rho for x in present),
                trusted=tuple(bool(t) for t in np.all([x.trusted for x in present], axis=0)),
                p=max([x.p for x in voting_present] + ([report_p] if missing else [])),
                threshold=min(x.threshold for x in present),
                known=any(x.known for x in present),
                near_end=near if first.is_snv else first.near_end,
                untrusted="; ".join(sorted({x.untrusted for x in present if x.untrusted})),
                verdict=next((v for v in verdicts if v != "called"), "called"),
                lod=set_limit([per_library[i].lod if per_library[i] else None for i in voters])
                if first.known
                else None,
                called_in=tuple(
                    labels[i] for i, v in zip(voters, verdicts, strict=True) if v == "called"
                ),
            )
        )
    return pooled


def _cells(counts: Counts, c: Candidate | None, allele: Allele):
    """(ALT per cell, depth per cell, near-end counts) of one library at an allele."""
    if c is not None:
        return c.alt_cells, c.depth_cells, c.near_end
    pos, ref, alt = allele
    i = int(np.flatnonzero(counts.positions == pos)[0])
    if len(ref) == len(alt) == 1:
        a = BASES.index(alt)
        other = [b for b in range(4) if b != a]
        x = counts.bases[:, :, i]
        near = (
            int(counts.near_end[a, i]), int(x[:, a].sum()),
            int(counts.near_end[other, i].sum()), int(x[:, other].sum()),
        )  # fmt: skip
        return x[:, a], x.sum(axis=1), near
    alt_cells = counts.indels.get(allele, np.zeros(4, dtype=np.int64))
    return alt_cells, counts.indel_depth[:, i], (0, 0, 0, 0)


def set_limit(limits: list[float | None]) -> float | None:
    """One allele's limit over the libraries (each at the replicate power): the highest;
    None (below the minimum depth) where any library is."""
    return None if any(v is None for v in limits) else max(limits)  # type: ignore[type-var]
