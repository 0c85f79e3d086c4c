#!/usr/bin/env python3
"""Reads made by tools we did not write, on the TEST locus (not the real genome): ART
(``art_illumina``, the empirical HiSeq 2500 profile, 150 bp pairs) makes the reads, ``bwa
mem`` aligns them, ``samtools fixmate``/``sort``/``markdup`` finish them as a lab's pipeline
does. The scan is tested and benchmarked on these (tests/test_scan_art.py,
scripts/benchmark.py R3) beside freebayes.

Mosaic alleles are made by mixing reads of a reference haplotype and of haplotypes carrying
the alleles, in proportion to their allele fractions. Library artefacts that real data
carry are added to ART's reads before alignment, from ART's own true alignment of each read:

- ``oxidative``: 8-oxoG damage, seen as G>T in read 1 only (read orientation): reference
  G>T on F1R2 fragments (read 1 forward) and C>A on F2R1 fragments. Each position and
  strand has its own susceptibility (gamma, shape 0.5: a few positions are hot), the same in
  every sample, as sequence-context damage is.
- ``deamination``: FFPE cytosine deamination on the original strand, seen in both mates:
  reference C>T on F1R2 fragments and G>A on F2R1 fragments.
- ``duplicates``: that share of fragments gets PCR copies (mean ``family_size`` reads in
  all), which ``samtools markdup`` marks; each copy has its own sequencing errors (drawn
  from its ART quality string on the error-free read); ``pcr_error`` adds per-base errors
  made early in PCR and shared by part of a family.
- ``umi``: every fragment is a family (UMI protocols amplify every molecule) with a random
  8-mer UMI in the RX tag (``bwa mem -C``); ``family_max`` bounds a family's read pairs
  (a UMI kit's 1-6: the Poisson size drawn again while above it).
- stray molecules (``simulate_sample(molecules=...)``): exactly that many fragments of an
  allele, as contamination from another sample brings, read 1 forward and reverse in turn.

    python scripts/simulate_art.py --out DIR --sample NAME [--design capture|locus]
        [--depth 2800] [--allele POS:REF:ALT:FRACTION ...] [--oxidative 0.002]
        [--deamination 0.001] [--duplicates 0.3] [--pcr-error 0.001] [--umi] [--seed 1]

Needs art_illumina, bwa and samtools (Debian: art-nextgen-simulation-tools bwa samtools).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

HERE = Path(__file__).resolve().parent.parent
FASTA = HERE / "tests" / "data" / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
CHR1_LENGTH = 248_956_422
# The real-looking bases of the TEST genome (its FASTA header says so): NLRP3 +/- 9 kb
SLICE = (247_407_173, 247_457_817)
# The MANE coding exons and splice sites (nlrp3annot.patients.coverage.coding_targets)
CODING = [
    (247418801, 247419079), (247423228, 247423351), (247423845, 247425601),
    (247429583, 247429757), (247434101, 247434275), (247435968, 247436142),
    (247443970, 247444144), (247444649, 247444823), (247448403, 247448504),
]  # fmt: skip
CAPTURE_PAD = 250  # bases of intron each side of a captured exon
# amplicon design: tiled amplicons over each coding region, primers left in the reads
AMPLICON = 220  # bases, primers included: 150 bp mates overlap in the middle
AMPLICON_STEP = 150  # tiles overlap by 70 bases, more than two primers (2 x PRIMER)
PRIMER = 22
OXO_SEED = 8  # position susceptibilities are a property of the sequence, not the sample
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class Mosaic:
    """An allele (VCF-style, GRCh38 1-based) at an allele fraction."""

    pos: int
    ref: str
    alt: str
    fraction: float


@dataclass(frozen=True)
class Library:
    design: str = "capture"  # capture: coding exons +/- 250 bp; locus: NLRP3 +/- 9 kb;
    # amplicon: tiled amplicons over the coding exons, read 1 always from the forward
    # primer (a directional assay: every fragment F1R2), MiSeq v3 profile, no duplicate
    # marking (every read of an amplicon starts at its primer)
    depth: float = 2800.0  # read depth aimed at (both mates count)
    fragment_mean: int = 250
    fragment_sd: int = 40
    oxidative: float = 0.0  # mean G>T rate per read-1 G (read orientation)
    deamination: float = 0.0  # mean C>T rate per original-strand C
    duplicates: float = 0.0  # share of fragments with PCR copies
    family_size: float = 3.0  # mean reads per copied fragment (or per UMI family)
    family_max: int = 0  # most read pairs in a family (0: no bound)
    # capture: each exon its own fold, so every exon's middle gets the depth (one fold for
    # all, from the mean template, leaves the long exon 4 at ~80% and short exons at ~115%)
    even_depth: bool = False
    pcr_error: float = 0.0  # per base and family: an early PCR error in part of the family
    umi: bool = False
    mark_duplicates: bool = True


@dataclass
class Locus:
    """The TEST locus as a small FASTA (contig chr1, shifted) with its bwa index."""

    folder: Path
    sequence: str = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with pysam.FastaFile(str(FASTA)) as fasta:
            self.sequence = fasta.fetch("chr1", SLICE[0] - 1, SLICE[1]).upper()
        fa = self.fasta
        if not Path(str(fa) + ".bwt").exists():
            fa.write_text(">chr1\n" + _wrap(self.sequence))
            _run(["bwa", "index", str(fa)])

    @property
    def fasta(self) -> Path:
        return self.folder / "locus.fa"

    def base(self, pos: int) -> str:
        return self.sequence[pos - SLICE[0]]


def _wrap(sequence: str, width: int = 60) -> str:
    return "".join(sequence[i : i + width] + "\n" for i in range(0, len(sequence), width))


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def haplotype(locus: Locus, alleles: list[Mosaic]) -> str:
    """The slice with ``alleles`` applied (REF checked against the reference)."""
    seq = locus.sequence
    for a in sorted(alleles, key=lambda a: -a.pos):
        at = a.pos - SLICE[0]
        if seq[at : at + len(a.ref)] != a.ref:
            raise ValueError(
                f"{a.pos} {a.ref}>{a.alt}: the reference has {seq[at : at + len(a.ref)]}"
            )
        seq = seq[:at] + a.alt + seq[at + len(a.ref) :]
    return seq


def templates(sequence: str, design: str) -> list[tuple[str, int, str]]:
    """(name, slice offset, bases) to sample fragments from: each captured exon with its
    padding, or the whole slice. Offsets are valid for a haplotype whose indels lie inside
    the templates (positions after an indel inside a template shift within it only)."""
    if design == "locus":
        return [("L0", 0, sequence)]
    if design == "amplicon":
        return [(f"A{lo}", lo, sequence[lo : lo + AMPLICON]) for lo in amplicon_starts()]
    out = []
    for start, end in CODING:
        lo = start - CAPTURE_PAD - SLICE[0]
        hi = end + CAPTURE_PAD - SLICE[0] + 1
        out.append((f"T{lo}", lo, sequence[lo:hi]))
    return out


def amplicon_starts() -> list[int]:
    """Slice offsets (0-based) of the tiled amplicons: each coding region from one primer
    before its first base to one primer after its last, every base of it outside the
    primers of at least one amplicon."""
    starts = []
    for start, end in CODING:
        lo = start - SLICE[0] - PRIMER - 5
        last = end - SLICE[0] + PRIMER + 5 - AMPLICON + 1
        starts += list(range(lo, last, AMPLICON_STEP)) + [max(last, lo)]
    return sorted(set(starts))


def primers_bed(path: Path, pools: int = 2) -> Path:
    """The amplicons' primers as BED6 (ARTIC/iVar/samtools ampliconclip): left primers on
    +, right primers on -, in chr1 coordinates of the TEST genome. Neighbouring amplicons
    (which overlap) alternate between ``pools`` pools (column 5), as tiled panels do."""
    with path.open("w") as handle:
        for n, lo in enumerate(amplicon_starts()):
            start = SLICE[0] - 1 + lo  # 0-based chr1
            pool = n % pools + 1
            handle.write(f"chr1\t{start}\t{start + PRIMER}\tA{n}_LEFT\t{pool}\t+\n")
            end = start + AMPLICON
            handle.write(f"chr1\t{end - PRIMER}\t{end}\tA{n}_RIGHT\t{pool}\t-\n")
    return path


def art_reads(
    sequence: str, design: str, depth: float, library: Library, folder: Path, tag: str,
    seed: int,
) -> list[tuple]:  # fmt: skip
    """ART's pairs for one haplotype at ``depth``: a list of (read1, read2) true alignments,
    each (name, flag, slice start 0-based, cigar, seq, qual, error-free seq), SEQ in
    reference orientation."""
    if depth <= 0:
        return []
    pieces = templates(sequence, design)
    template = np.mean([len(b) for _, _, b in pieces])
    if design == "amplicon":
        # -amp -p: a pair from both ends of every amplicon, read 1 from its start (the
        # forward primer); -f is pairs per amplicon, and tiles overlap, so about half
        # the depth aimed at (both mates count: a pair gives 2 reads over the middle)
        pairs_each = max(int(round(depth * AMPLICON_STEP / AMPLICON / 2)), 1)
        mode = ["-ss", "MSv3", "-amp", "-p", "-f", str(pairs_each)]
    elif library.even_depth and design == "capture":
        pairs = []
        for k, piece in enumerate(pieces):
            pairs += _art_pairs([piece], _paired(library, depth, len(piece[2])), folder,
                                f"{tag}_{k}", seed * 10 + k)  # fmt: skip
        return pairs
    else:
        mode = _paired(library, depth, template)
    return _art_pairs(pieces, mode, folder, tag, seed)


def _paired(library: Library, depth: float, template: float) -> list[str]:
    """art_illumina's paired-end HiSeq 2500 arguments for ``depth`` in the middle of a
    template ``template`` bases long."""
    # ART's fold is the mean over the template; fragments are fewer within a fragment's
    # length of its ends, so the middle (the exon) gets fold * L / (L - fragment)
    fold = depth * max(template - library.fragment_mean, 1) / template
    return ["-ss", "HS25", "-p", "-m", str(library.fragment_mean), "-s",
            str(library.fragment_sd), "-f", f"{fold:.4f}"]  # fmt: skip


def molecule_pairs(
    locus: Locus, allele: Mosaic, count: int, library: Library, folder: Path, tag: str,
    seed: int,
) -> list[tuple]:  # fmt: skip
    """Exactly ``count`` fragments (``fragment_mean`` bases) carrying ``allele``, placed so
    the allele falls at different points of each (40 bases in from either end at most),
    read 1 forward and reverse in turn (art_illumina -amp -p, HiSeq 2500 profile)."""
    if count <= 0:
        return []
    sequence = haplotype(locus, [allele])
    at, length = allele.pos - SLICE[0], library.fragment_mean
    pieces = []
    for k in range(count):
        lo = at - 40 - (k * (length - 80 - len(allele.alt))) // max(count - 1, 1)
        pieces.append((f"S{k}_{lo}", lo, sequence[lo : lo + length]))
    pairs = _art_pairs(pieces, ["-ss", "HS25", "-amp", "-p", "-f", "1"], folder, tag, seed)
    return [(b, a) if k % 2 else (a, b) for k, (a, b) in enumerate(pairs)]


def _art_pairs(pieces: list[tuple[str, int, str]], mode: list[str], folder: Path, tag: str,
               seed: int) -> list[tuple]:  # fmt: skip
    """art_illumina (``mode``: profile, paired or amplicon, fold) on the templates
    ``pieces``, parsed into pairs of true alignments on the slice (see art_reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    fa = folder / f"{tag}.fa"
    fa.write_text("".join(f">{name}\n{_wrap(bases)}" for name, _, bases in pieces))
    prefix = folder / tag
    common = ["-l", "150", "-sam", "-ef", "-na", "-q", "-rs", str(seed), "-d", tag, "-i",
              str(fa), "-o", str(prefix)]  # fmt: skip
    _run(["art_illumina", *mode, *common])
    offsets = {name: offset for name, offset, _ in pieces}
    clean = {}
    with open(f"{prefix}_errFree.sam") as handle:
        for line in handle:
            if not line.startswith("@"):
                f = line.split("\t")
                clean[(f[0], int(f[1]) & 0x40 != 0)] = f[9]
    pairs, pending = [], {}
    with open(f"{prefix}.sam") as handle:
        for line in handle:
            if line.startswith("@"):
                continue
            f = line.rstrip("\n").split("\t")
            flag = int(f[1])
            read = (
                f[0], flag, offsets[f[2]] + int(f[3]) - 1, f[5], f[9], f[10],
                clean[(f[0], flag & 0x40 != 0)],
            )  # fmt: skip
            mate = pending.pop(f[0], None)
            if mate is None:
                pending[f[0]] = read
            else:
                pairs.append((mate, read) if mate[1] & 0x40 else (read, mate))
    for suffix in (".sam", "_errFree.sam", "1.fq", "2.fq", ".fa"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    return pairs


def ref_positions(start: int, cigar: str, length: int) -> np.ndarray:
    """Slice position (0-based) of each of the ``length`` read bases, -1 for inserted or
    clipped bases (ART's SAM now and then has a CIGAR one base longer than its read)."""
    out: list[int] = []
    pos, number = start, ""
    for ch in cigar:
        if ch.isdigit():
            number += ch
            continue
        n = int(number)
        number = ""
        if ch in "M=X":
            out.extend(range(pos, pos + n))
            pos += n
        elif ch in "IS":
            out.extend([-1] * n)
        elif ch in "DN":
            pos += n
    out = (out + [-1] * length)[:length]
    return np.array(out, dtype=np.int64)


class Damage:
    """Per-position susceptibilities, [strand, slice position]; drawn with a fixed seed, so
    the same positions are hot in every sample, as sequence-context damage is."""

    def __init__(self, length: int, library: Library, rng: np.random.Generator) -> None:
        fixed = np.random.default_rng(OXO_SEED)
        shape = 0.5
        self.oxo = fixed.gamma(shape, library.oxidative / shape, (2, length))
        self.deam = fixed.gamma(shape, library.deamination / shape, (2, length))
        self.any_oxo = library.oxidative > 0
        self.any_deam = library.deamination > 0
        self.rng = rng


def _change(read: list, at: np.ndarray, new: str) -> None:
    """Read bases at indices ``at`` replaced by ``new`` (in place)."""
    if at.size:
        seq = bytearray(read[4].encode())
        for i in at.tolist():
            seq[i] = ord(new)
        read[4] = seq.decode()


def damage_pair(r1: list, r2: list, damage: Damage, slice_seq: str) -> None:
    """Oxidative (read 1 only) and deamination (both mates) changes, in place on the
    reference-orientation sequences of [name, flag, start, cigar, seq, qual, clean]."""
    rng = damage.rng
    top = not r1[1] & 0x10  # read 1 forward: read 1 comes from the original top strand
    strand = 0 if top else 1
    if damage.any_oxo:
        pos = ref_positions(r1[2], r1[3], len(r1[4]))
        seq = np.frombuffer(r1[4].encode(), dtype=np.uint8)
        # a read-orientation G: reference G on a forward read 1, reference C on a reverse one
        target = ord("G") if top else ord("C")
        ok = (pos >= 0) & (seq == target)
        rate = np.where(ok, damage.oxo[strand, np.maximum(pos, 0)], 0.0)
        _change(r1, np.flatnonzero(rng.random(len(seq)) < rate), "T" if top else "A")
    if damage.any_deam:
        lo = min(r1[2], r2[2])
        hi = min(max(r1[2], r2[2]) + 160, len(slice_seq))
        span = np.frombuffer(slice_seq[lo:hi].encode(), dtype=np.uint8)
        original = ord("C") if top else ord("G")
        rate = np.where(span == original, damage.deam[strand, lo:hi], 0.0)
        hit = lo + np.flatnonzero(rng.random(hi - lo) < rate)
        if hit.size:
            for read in (r1, r2):
                pos = ref_positions(read[2], read[3], len(read[4]))
                seq = np.frombuffer(read[4].encode(), dtype=np.uint8)
                at = np.flatnonzero(np.isin(pos, hit) & (seq == original))
                _change(read, at, "T" if top else "A")


def reseq(read: list, rng: np.random.Generator) -> list:
    """A PCR copy of ``read`` sequenced again: the error-free bases with new errors drawn
    from the read's own ART quality string."""
    clean = read[6]
    quals = np.frombuffer(read[5].encode(), dtype=np.uint8).astype(float) - 33
    error = np.flatnonzero(rng.random(len(clean)) < 10 ** (-quals / 10))
    seq = bytearray(clean.encode())
    for i in error.tolist():
        if chr(seq[i]) in "ACGT":
            seq[i] = ord("ACGT"[("ACGT".index(chr(seq[i])) + int(rng.integers(1, 4))) % 4])
    copy = list(read)
    copy[4] = seq.decode()
    return copy


def family_pairs(library: Library, rng: np.random.Generator) -> int:
    """Read pairs of one copied fragment's family: 1 + Poisson(family_size - 1), drawn
    again while above ``family_max`` (a truncated Poisson, so no pile-up at the bound)."""
    copies = 1 + int(rng.poisson(max(library.family_size - 1, 0)))
    while library.family_max and copies > library.family_max:
        copies = 1 + int(rng.poisson(max(library.family_size - 1, 0)))
    return copies


def pcr_errors(pair: tuple[list, list], family: list, rate: float, rng) -> None:
    """Errors of early PCR cycles: each shared by a random part of the family, at the same
    reference position in both mates of every copy that carries it."""
    r1, r2 = pair
    lo, hi = min(r1[2], r2[2]), max(r1[2], r2[2]) + 150
    for _ in range(int(rng.binomial(hi - lo, rate))):
        pos = int(rng.integers(lo, hi))
        new = "ACGT"[int(rng.integers(0, 4))]
        share = rng.uniform(0.2, 0.5)
        for copy in family:
            if rng.random() < share:
                for read in copy:
                    at = ref_positions(read[2], read[3], len(read[4])) == pos
                    _change(read, np.flatnonzero(at), new)


def fastq_record(read: list, name: str, comment: str) -> str:
    seq, qual = read[4], read[5]
    if read[1] & 0x10:  # SEQ is in reference orientation: back to read orientation
        seq, qual = seq.translate(COMPLEMENT)[::-1], qual[::-1]
    return f"@{name}{comment}\n{seq}\n+\n{qual}\n"


def simulate_sample(
    out: Path, sample: str, alleles: list[Mosaic], library: Library, seed: int,
    locus: Locus | None = None, molecules: list[tuple[Mosaic, int]] = (),
) -> Path:  # fmt: skip
    """``out`` (a .bam, indexed, on chr1 of the TEST genome) of one sample; ``molecules``:
    (allele, count) of stray molecules added to the sample's (their fraction ignored)."""
    out = Path(out)
    work = out.parent / f".{out.stem}.art"
    locus = locus or Locus(out.parent / ".locus")
    rng = np.random.default_rng(seed)
    groups: dict[float, list[Mosaic]] = {}
    for a in alleles:
        groups.setdefault(a.fraction, []).append(a)
    reference_share = 1.0 - sum(groups)
    if reference_share < -1e-9:
        raise ValueError(f"{sample}: allele fractions add up to more than 1")
    pairs = art_reads(locus.sequence, library.design, library.depth * max(reference_share, 0),
                      library, work, "h0", seed)  # fmt: skip
    for k, (fraction, members) in enumerate(sorted(groups.items()), start=1):
        pairs += art_reads(haplotype(locus, members), library.design, library.depth * fraction,
                           library, work, f"h{k}", seed * 100 + k)  # fmt: skip
    for k, (allele, count) in enumerate(molecules, start=1):
        pairs += molecule_pairs(locus, allele, count, library, work, f"s{k}", seed * 100 + 50 + k)
    damage = Damage(len(locus.sequence), library, rng)
    fq1, fq2 = work / "r1.fq", work / "r2.fq"
    with fq1.open("w") as h1, fq2.open("w") as h2:
        for n, (a, b) in enumerate(pairs):
            r1, r2 = list(a), list(b)
            copies = 1
            if library.umi or rng.random() < library.duplicates:
                copies = family_pairs(library, rng)
            family = [(r1, r2)] + [(reseq(r1, rng), reseq(r2, rng)) for _ in range(copies - 1)]
            if library.pcr_error and copies > 1:
                pcr_errors((r1, r2), family, library.pcr_error, rng)
            umi = "".join(rng.choice(list("ACGT"), 8)) if library.umi else ""
            comment = f"\tRX:Z:{umi}" if umi else ""
            for c, (x, y) in enumerate(family):
                damage_pair(x, y, damage, locus.sequence)
                name = f"{sample}:{n}:{c}"
                h1.write(fastq_record(x, name, comment))
                h2.write(fastq_record(y, name, comment))
    aligned = work / "aligned.bam"
    bwa = ["bwa", "mem", "-t", "2", "-R", f"@RG\\tID:{sample}\\tSM:{sample}"]
    if library.umi:
        bwa.append("-C")
    sam = subprocess.run([*bwa, str(locus.fasta), str(fq1), str(fq2)], check=True,
                         capture_output=True).stdout  # fmt: skip
    fixed = subprocess.run(["samtools", "fixmate", "-m", "-", "-"], input=sam, check=True,
                           capture_output=True).stdout  # fmt: skip
    sort = subprocess.run(["samtools", "sort", "-o", "-", "-"], input=fixed, check=True,
                          capture_output=True).stdout  # fmt: skip
    if library.mark_duplicates:
        sort = subprocess.run(["samtools", "markdup", "-", "-"], input=sort, check=True,
                              capture_output=True).stdout  # fmt: skip
    aligned.write_bytes(sort)
    shift_to_chr1(aligned, out)
    shutil.rmtree(work, ignore_errors=True)
    return out


def shift_to_chr1(slice_bam: Path, out: Path) -> None:
    """The slice's alignments moved to their chr1 positions, with chr1's real length in the
    header (so the build is told as from any GRCh38 BAM)."""
    offset = SLICE[0] - 1
    with pysam.AlignmentFile(str(slice_bam)) as src:
        header = src.header.to_dict()
        header["SQ"] = [{"SN": "chr1", "LN": CHR1_LENGTH}]
        with pysam.AlignmentFile(str(out), "wb", header=header) as dst:
            for read in src.fetch(until_eof=True):
                new = pysam.AlignedSegment.from_dict(read.to_dict(), dst.header)
                if read.reference_id >= 0:  # mapped, or unmapped placed beside its mate
                    new.reference_start = read.reference_start + offset
                if read.next_reference_id >= 0:
                    new.next_reference_start = read.next_reference_start + offset
                dst.write(new)
    pysam.index(str(out))


def write_truth(path: Path, rows: list[tuple[str, Mosaic]]) -> None:
    with path.open("w") as handle:
        handle.write("sample\tpos\tref\talt\tfraction\n")
        for sample, a in rows:
            handle.write(f"{sample}\t{a.pos}\t{a.ref}\t{a.alt}\t{a.fraction}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for NAME.bam")
    parser.add_argument("--sample", required=True)
    parser.add_argument("--design", choices=["capture", "locus", "amplicon"], default="capture")
    parser.add_argument("--depth", type=float, default=2800)
    parser.add_argument("--allele", action="append", default=[],
                        help="POS:REF:ALT:FRACTION (GRCh38, VCF-style)")  # fmt: skip
    for name in ("oxidative", "deamination", "duplicates", "pcr_error"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=0.0)
    parser.add_argument("--umi", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    alleles = []
    for text in args.allele:
        pos, ref, alt, fraction = text.split(":")
        alleles.append(Mosaic(int(pos), ref, alt, float(fraction)))
    library = Library(
        args.design, args.depth, oxidative=args.oxidative, deamination=args.deamination,
        duplicates=args.duplicates, pcr_error=args.pcr_error, umi=args.umi,
        mark_duplicates=args.design != "amplicon",
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    bam = simulate_sample(args.out / f"{args.sample}.bam", args.sample, alleles, library,
                          args.seed)  # fmt: skip
    print(bam)


if __name__ == "__main__":
    main()
