"""Amplicon pools as independent evidence (``scan --primers`` with a BED of two or more
pools, column 5).

A tiled panel splits its amplicons into pools so that neighbours, amplified in separate
reactions, can overlap: a position in an overlap is read by two independent PCRs, and an
early PCR error (a "jackpot" that copies on into a large share of one amplicon's reads)
arises in one of them only. So each pool is counted as a library of its own (``Counts.pool``
and ``Counts.library`` = ``pool 1``) and judged as replicate libraries are
(:mod:`nlrp3annot.reads.replicates`), with one difference: a pool has a say only where it
reads the position (``min_depth`` fragments or more). Where two pools read it, both must
call the allele; where one does, it decides alone. Each pool is tested against the same
pool's reads in the other samples: another amplicon reads the position at other read
cycles, with other error rates.

**Which amplicon a fragment is.** From the reads as given, before the primers are clipped:
the 5' end of each primary read as sequenced (aligned start of a forward read, end of a
reverse one, counting soft- and hard-clipped bases back in) lies in a primer of the
amplicon, the forward read's in its LEFT primer, the reverse read's in its RIGHT one
(within :data:`~nlrp3annot.reads.primers.TOLERANCE` bases outside it, as ampliconclip
allows). A pair is of the amplicons both mates name; its reads (secondary and
supplementary ones too) go to that amplicon's pool. A fragment that names no amplicon, or
amplicons of two pools, is no pool's evidence: its reads are dropped (``no_amplicon`` in
``dropped``). Each pool's reads are then clipped (:mod:`nlrp3annot.reads.primers`) and
counted as the file's reads are without pools, so the pools' counts add up to the file's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlrp3annot.reads.amplicons import PRIMER_NAME
from nlrp3annot.reads.background import indel_background, snv_background
from nlrp3annot.reads.calling import Allele, Candidate
from nlrp3annot.reads.flags import SECONDARY, SUPPLEMENTARY
from nlrp3annot.reads.pileup import Counts
from nlrp3annot.reads.primers import TOLERANCE
from nlrp3annot.reads.replicates import pooled_candidates, set_limit, voting
from nlrp3annot.reads.sample_limits import per_position, scan_limits
from nlrp3annot.reads.settings import CallSettings

NO_AMPLICON = "no_amplicon"  # the ``dropped`` key of reads of no amplicon (or of two pools)
_HARD_OR_SOFT = (4, 5)


@dataclass(frozen=True)
class Primers:
    """Where a read's 5' end names amplicons: 0-based position -> amplicon names."""

    left: dict[int, frozenset[str]]  # forward reads: their first base (clips counted back)
    right: dict[int, frozenset[str]]  # reverse reads: their end (exclusive, clips back)
    pools: dict[str, str]  # amplicon -> pool ('' where column 5 is absent)

    @property
    def pool_names(self) -> list[str]:
        return sorted(set(self.pools.values()), key=_natural)


def primer_index(bed: Path, contig: str) -> Primers:
    """The primers of the amplicons of ``bed`` on ``contig`` that have both a LEFT and a
    RIGHT primer (:func:`~nlrp3annot.reads.amplicons.primer_amplicons` names the others);
    an amplicon's pool is its first LEFT primer's, as there. The BED is checked before."""
    sides: dict[str, dict[str, list[tuple[int, int, str]]]] = {"LEFT": {}, "RIGHT": {}}
    for line in bed.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        match = PRIMER_NAME.match(fields[3].strip()) if len(fields) > 3 else None
        if fields[0] != contig or not match:
            continue
        pool = fields[4].strip() if len(fields) > 4 else ""
        side = sides[match["side"].upper()]
        side.setdefault(match["amplicon"], []).append((int(fields[1]), int(fields[2]), pool))
    names = sides["LEFT"].keys() & sides["RIGHT"].keys()
    left: dict[int, set[str]] = {}
    right: dict[int, set[str]] = {}
    for name in names:
        for start, end, _ in sides["LEFT"][name]:
            for pos in range(start - TOLERANCE, end):
                left.setdefault(pos, set()).add(name)
        for start, end, _ in sides["RIGHT"][name]:
            for pos in range(start + 1, end + TOLERANCE + 1):
                right.setdefault(pos, set()).add(name)
    pools = {name: sides["LEFT"][name][0][2] for name in names}
    return Primers(
        {k: frozenset(v) for k, v in left.items()},
        {k: frozenset(v) for k, v in right.items()},
        pools,
    )


def _natural(text: str):
    return (0, int(text)) if text.isdigit() else (1, text)


def pool_label(pool: str) -> str:
    """A pool's name in the outputs (VCF values: no ',;=| '): 'pool 1' in words."""
    clean = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in pool)
    return f"pool_{clean}"


def read_amplicons(read, primers: Primers) -> frozenset[str]:
    """The amplicons whose primer holds the read's 5' end as sequenced."""
    cigar = read.cigartuples or []
    if read.is_reverse:
        return primers.right.get(read.reference_end + _clipped(reversed(cigar)), frozenset())
    return primers.left.get(read.reference_start - _clipped(cigar), frozenset())


def _clipped(cigar) -> int:
    """The clipped bases (soft and hard) at the start of ``cigar``."""
    n = 0
    for op, length in cigar:
        if op not in _HARD_OR_SOFT:
            break
        n += length
    return n


def fragment_pools(reads, primers: Primers) -> dict[str, str | None]:
    """Each read name's pool (None: no amplicon, or amplicons of two pools), from its
    primary mapped reads' 5' ends: the amplicons every one of them names."""
    named: dict[str, frozenset[str]] = {}
    for read in reads:
        if read.flag & (SECONDARY | SUPPLEMENTARY) or read.is_unmapped:
            continue
        found = read_amplicons(read, primers)
        name = read.query_name
        named[name] = named[name] & found if name in named else found
    out: dict[str, str | None] = {}
    for name, amplicons in named.items():
        pools = {primers.pools[a] for a in amplicons}
        out[name] = pools.pop() if len(pools) == 1 else None
    return out


def split_pools(
    path: Path, handle, region: str, primers: Primers, folder: Path
) -> tuple[dict[str, Path], int]:
    """The reads of ``handle`` over ``region`` written to one indexed BAM per pool (in
    their order: still sorted), and the number of reads of no pool."""
    import pysam

    contig, span = region.split(":")
    lo, hi = (int(x) for x in span.split("-"))
    pools = fragment_pools(handle.fetch(contig, lo - 1, hi), primers)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(folder.iterdir()))}"
    out = {p: folder / f"{stem}.{pool_label(p)}.bam" for p in primers.pool_names}
    writers = {p: pysam.AlignmentFile(str(f), "wb", template=handle) for p, f in out.items()}
    dropped = 0
    try:
        for read in handle.fetch(contig, lo - 1, hi):
            pool = pools.get(read.query_name)
            if pool is None:
                dropped += 1
            else:
                writers[pool].write(read)
    finally:
        for writer in writers.values():
            writer.close()
    for f in out.values():
        pysam.index(str(f))
    return out, dropped


def pool_backgrounds(
    counts: list[Counts], panel: list[Counts], ref: np.ndarray, settings: CallSettings
) -> list[tuple]:
    """Per file (or pool) of ``counts``: (SNV background, indel background, its index in
    them), each pool's from the same pool's counts of the other samples. A panel of normals
    keeps no pools: its counts serve every pool (a panel made from pooled reads)."""
    groups: dict[str, list[int]] = {}
    for s, c in enumerate(counts):
        groups.setdefault(c.pool, []).append(s)
    out: list[tuple] = [()] * len(counts)
    for pool, members in groups.items():
        batch = [counts[s] for s in members]
        normals = [c for c in panel if c.pool in ("", pool)]
        snv = snv_background(batch, normals, ref, settings)
        indel = indel_background(batch, normals, settings)
        for j, s in enumerate(members):
            out[s] = (snv, indel, j)
    return out


def tested_alleles(libraries: list[Counts]) -> list[int]:
    """The alleles each library's threshold is Bonferroni-corrected over: its own (three
    SNVs a covered position, and the indels seen), as every library reads every position.
    A library's amplicon pools each decide alone where one pool reads: the family is then
    the union of its pools' tests, so each pool is corrected over all of them (the
    sample's family-wise error stays at ``alpha``)."""
    own = [
        max(3 * int((c.depth > 0).sum()) + sum(1 for k in c.indels if c.indels[k].any()), 1)
        for c in libraries
    ]
    groups = [c.library.removesuffix(pool_label(c.pool)) if c.pool else c.library
              for c in libraries]  # fmt: skip
    total: dict[str, int] = {}
    for group, n, c in zip(groups, own, libraries, strict=True):
        total[group] = total.get(group, 0) + n if c.pool else n
    return [total[g] if c.pool else n for g, n, c in zip(groups, own, libraries, strict=True)]


# (pool's index, k libraries with a say) -> (other SNV limits, indel limits, known lods)
PartsAt = Callable[[int, int], tuple[np.ndarray, np.ndarray, dict[Allele, float | None]]]


def judge_pools(
    pools: list[Counts],
    found: list[list[Candidate]],
    groups: list[str],
    parts_at: PartsAt,
    ref: np.ndarray,
    known,
    settings: CallSettings,
):
    """One sample's pools (and replicate libraries: ``groups``) judged together: the
    candidates, limits, per-position SNV limits and, per allele, the labels of the pools
    that read it. At each position or allele the k pools with a say (:func:`~nlrp3annot.
    reads.replicates.voting`) must each find it: their limits are taken at power
    1 - (1 - power) / k, and the highest of them is the sample's (nan below the depth)."""
    labels = [c.library for c in pools]
    snv_say = voting(np.stack([c.depth for c in pools]), groups, settings.min_depth)
    snv_say = snv_say[:, ref >= 0]  # the SNV limits' positions
    indel_say = voting(np.stack([c.indel_depth.sum(axis=0) for c in pools]), groups,
                       settings.min_depth)  # fmt: skip
    ks = sorted(set(snv_say.sum(axis=0).tolist()) | set(indel_say.sum(axis=0).tolist()))
    parts = {k: [parts_at(i, k) for i in range(len(pools))] for k in ks}
    other = _highest_of_say({k: [p[0] for p in v] for k, v in parts.items()}, snv_say)
    indels = _highest_of_say({k: [p[1] for p in v] for k, v in parts.items()}, indel_say)
    read_by: dict[Allele, tuple[int, ...]] = {}
    pooled = pooled_candidates(pools, found, labels, settings.report_p, groups,
                               settings.min_depth, read_by)  # fmt: skip
    for c in pooled:
        if c.known:
            say = read_by[(c.pos, c.ref, c.alt)]
            c.lod = set_limit([parts[len(say)][i][2].get((c.pos, c.ref, c.alt)) for i in say]
                              if len(say) in parts else [None])  # fmt: skip
    limits = scan_limits(pooled, [(other, indels)], known, settings)
    names = {allele: tuple(labels[i] for i in say) for allele, say in read_by.items()}
    return pooled, limits, per_position(ref, [(other, indels)]), names


def _highest_of_say(by_k: dict[int, list[np.ndarray]], say: np.ndarray) -> np.ndarray:
    """Per position, the highest limit of the pools with a say there, at the power of
    their number (nan where any of them has none)."""
    k_at = say.sum(axis=0)
    out = np.full(say.shape[1], np.nan)
    for k, limits in by_k.items():
        at = k_at == k
        if not at.any():
            continue
        values = np.stack(limits)[:, at]  # (pools, positions)
        chosen = np.where(say[:, at], values, -np.inf)
        highest = chosen.max(axis=0)
        unknown = (np.isnan(values) & say[:, at]).any(axis=0)
        out[at] = np.where(unknown, np.nan, highest)
    return out
