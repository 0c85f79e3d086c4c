"""Helpers for tests/test_differential.py: a locus-only reference for SnpEff and bcftools csq,
the NLRP3 model written as GTF/GFF3, seeded random variants, the three tools' runs and the
parsing/folding of their outputs into one vocabulary.

Everything here is independent of nlrp3annot's naming code: only the transcript model
(exons, CDS ends, protein) and the test genome are shared with it.
"""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pysam

DATA = Path(__file__).parent / "data"
GENOME = DATA / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
CHR1_LENGTH = 248_956_422
LOCUS_FLANK = 6_000  # bases of the test genome kept on each side of the transcript
NEAR_GENE = 4_000  # upstream/downstream variants are placed within this distance
SNPEFF_GENOME = "nlrp3locus"


# --- tools -------------------------------------------------------------------------------
def snpeff_jar() -> str | None:
    """The jar of the Debian libsnpeff-java package, or None."""
    if shutil.which("dpkg") is None:
        return None
    try:
        out = subprocess.run(
            ["dpkg", "-L", "libsnpeff-java"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.endswith("/snpeff.jar") and Path(line).is_file():
            return line
    return None


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("bcftools") is None:
        missing.append("bcftools")
    if shutil.which("java") is None or snpeff_jar() is None:
        missing.append("SnpEff (java + libsnpeff-java jar)")
    return missing


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
        )
    return proc


# --- the locus -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Locus:
    """The test genome from ``start`` to ``end`` (1-based inclusive) and the transcript on it.

    The tools see the locus as contig ``chr1`` starting at 1: tool position =
    genomic position - ``shift``.
    """

    transcript: object  # nlrp3annot.genome.reference.Transcript
    start: int
    end: int
    bases: str

    @property
    def shift(self) -> int:
        return self.start - 1

    def get(self, a: int, b: int) -> str:
        """Genomic bases a..b inclusive."""
        assert self.start <= a and b <= self.end, (a, b)
        return self.bases[a - self.start : b - self.start + 1]

    def base(self, pos: int) -> str:
        return self.get(pos, pos)

    def cds_sequence(self) -> str:
        t = self.transcript
        return "".join(
            self.get(max(s, t.cds_start), min(e, t.cds_end))
            for s, e in t.exons
            if e >= t.cds_start and s <= t.cds_end
        )


def load_locus(transcript) -> Locus:
    if transcript.exons != tuple(sorted(transcript.exons)):
        raise ValueError("exons must be in genomic order")
    start, end = transcript.tx_start - LOCUS_FLANK, transcript.tx_end + LOCUS_FLANK
    with pysam.FastaFile(str(GENOME)) as fasta:
        bases = fasta.fetch("chr1", start - 1, end).upper()
    if len(bases) != end - start + 1 or "N" in bases:
        raise ValueError("the test genome has no complete sequence around NLRP3")
    return Locus(transcript, start, end, bases)


def translate(dna: str) -> str:
    from Bio.Seq import Seq

    return str(Seq(dna).translate())


def write_locus_fasta(locus: Locus, path: Path) -> None:
    with open(path, "w") as fh:
        fh.write(">chr1\n")
        for i in range(0, len(locus.bases), 60):
            fh.write(locus.bases[i : i + 60] + "\n")


def write_gtf(locus: Locus, path: Path) -> None:
    """GTF2.2 (Ensembl style): CDS excludes the stop codon; start_codon/stop_codon rows."""
    t, d = locus.transcript, locus.shift
    attrs = (
        f'gene_id "{t.gene_id}"; transcript_id "{t.accession}"; gene_name "{t.gene}"; '
        f'gene_biotype "protein_coding"; transcript_biotype "protein_coding";'
    )
    rows = [("transcript", t.tx_start, t.tx_end, ".")]
    stop_start = t.cds_end - 2
    done = 0
    for s, e in t.exons:
        rows.append(("exon", s, e, "."))
        a, b = max(s, t.cds_start), min(e, stop_start - 1)
        if a <= b:
            rows.append(("CDS", a, b, str((3 - done % 3) % 3)))
            done += b - a + 1
    rows.append(("start_codon", t.cds_start, t.cds_start + 2, "0"))
    rows.append(("stop_codon", stop_start, t.cds_end, "0"))
    for s, e in t.exons:  # codon rows must not cross an intron (true for NLRP3)
        for a, b in ((t.cds_start, t.cds_start + 2), (stop_start, t.cds_end)):
            if s <= a <= e:
                assert b <= e, "start/stop codon split by an intron"
    with open(path, "w") as fh:
        for feature, s, e, frame in rows:
            number = ""
            if feature == "exon":
                number = f' exon_number "{t.exons.index((s, e)) + 1}";'
            fh.write(f"chr1\tRefSeq\t{feature}\t{s - d}\t{e - d}\t.\t+\t{frame}\t{attrs}{number}\n")


def write_gff3(locus: Locus, path: Path) -> None:
    """GFF3 for bcftools csq: Ensembl-style IDs, biotype=, CDS includes the stop codon."""
    t, d = locus.transcript, locus.shift
    tx = f"transcript:{t.accession}"
    lines = [
        (
            "gene",
            t.tx_start,
            t.tx_end,
            ".",
            f"ID=gene:{t.gene_id};Name={t.gene};biotype=protein_coding",
        ),
        (
            "mRNA",
            t.tx_start,
            t.tx_end,
            ".",
            f"ID={tx};Parent=gene:{t.gene_id};Name={t.accession};biotype=protein_coding",
        ),
    ]
    done = 0
    for s, e in t.exons:
        if s < t.cds_start:
            lines.append(("five_prime_UTR", s, min(e, t.cds_start - 1), ".", f"Parent={tx}"))
        lines.append(("exon", s, e, ".", f"Parent={tx}"))
        a, b = max(s, t.cds_start), min(e, t.cds_end)
        if a <= b:
            lines.append(
                ("CDS", a, b, str((3 - done % 3) % 3), f"ID=CDS:{t.protein_id};Parent={tx}")
            )
            done += b - a + 1
        if e > t.cds_end:
            lines.append(("three_prime_UTR", max(s, t.cds_end + 1), e, ".", f"Parent={tx}"))
    with open(path, "w") as fh:
        fh.write("##gff-version 3\n")
        for feature, s, e, phase, attrs in lines:
            fh.write(f"chr1\tRefSeq\t{feature}\t{s - d}\t{e - d}\t.\t+\t{phase}\t{attrs}\n")


# --- random variants ---------------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    """A VCF allele in genomic coordinates (left-aligned, anchor-base style) and its origin."""

    pos: int
    ref: str
    alt: str
    category: str  # where it was placed
    kind: str  # snv, del, ins, dup, homopolymer_ins, repeat_del

    @property
    def key(self) -> tuple[int, str, str]:
        return self.pos, self.ref, self.alt


def left_align_deletion(locus: Locus, start: int, length: int) -> Var:
    """Delete ``start..start+length-1``, moved as far left as the sequence allows."""
    while locus.base(start - 1) == locus.base(start + length - 1):
        start -= 1
    anchor = start - 1
    return Var(anchor, locus.get(anchor, start + length - 1), locus.base(anchor), "", "del")


def left_align_insertion(locus: Locus, before: int, inserted: str) -> Var:
    """Insert ``inserted`` just before genomic position ``before``, left-aligned."""
    while locus.base(before - 1) == inserted[-1]:
        inserted = locus.base(before - 1) + inserted[:-1]
        before -= 1
    anchor = before - 1
    base = locus.base(anchor)
    return Var(anchor, base, base + inserted, "", "ins")


def _regions(locus: Locus) -> dict[str, list[tuple[int, int]]]:
    t = locus.transcript
    exons = list(t.exons)
    introns = [(exons[i][1] + 1, exons[i + 1][0] - 1) for i in range(len(exons) - 1)]
    splice = []
    for a, b in introns:
        splice.append((a - 10, a + 9))  # last 10 exon bases .. intron +10
        splice.append((b - 9, b + 10))  # intron -10 .. first 10 exon bases
    cds = [
        (max(s, t.cds_start), min(e, t.cds_end))
        for s, e in exons
        if e >= t.cds_start and s <= t.cds_end
    ]
    utr = [(s, min(e, t.cds_start - 1)) for s, e in exons if s < t.cds_start]
    utr += [(max(s, t.cds_end + 1), e) for s, e in exons if e > t.cds_end]
    return {
        "splice_site": splice,
        "cds": cds,
        "utr": utr,
        "start_stop_codon": [(t.cds_start - 6, t.cds_start + 8), (t.cds_end - 8, t.cds_end + 6)],
        "intron": [(a + 11, b - 11) for a, b in introns],
        "upstream": [(t.tx_start - NEAR_GENE, t.tx_start - 1)],
        "downstream": [(t.tx_end + 1, t.tx_end + NEAR_GENE)],
        "transcript_ends": [(t.tx_start - 8, t.tx_start + 8), (t.tx_end - 8, t.tx_end + 8)],
    }


CATEGORY_WEIGHTS = {
    "splice_site": 40,
    "cds": 25,
    "utr": 9,
    "start_stop_codon": 4,
    "intron": 10,
    "upstream": 5,
    "downstream": 5,
    "transcript_ends": 2,
}
KIND_WEIGHTS = {"snv": 50, "del": 15, "repeat_del": 5, "ins": 10, "dup": 12, "homopolymer_ins": 8}


def _pick_position(rng: random.Random, spans: list[tuple[int, int]]) -> int:
    sizes = [b - a + 1 for a, b in spans]
    a, b = rng.choices(spans, weights=sizes)[0]
    return rng.randint(a, b)


def _random_bases(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _make(locus: Locus, rng: random.Random, kind: str, pos: int) -> Var:
    if kind == "snv":
        ref = locus.base(pos)
        return Var(pos, ref, rng.choice([b for b in "ACGT" if b != ref]), "", kind)
    if kind == "del":
        return left_align_deletion(locus, pos, rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 5, 6]))
    if kind == "repeat_del":
        # delete one unit of a short tandem repeat (or homopolymer run) near pos
        for p in range(pos, pos + 60):
            for unit in (1, 2, 3):
                if locus.get(p, p + unit - 1) == locus.get(p + unit, p + 2 * unit - 1):
                    return left_align_deletion(locus, p, unit)
        return left_align_deletion(locus, pos, 1)
    if kind == "ins":
        return left_align_insertion(locus, pos, _random_bases(rng, rng.randint(1, 6)))
    if kind == "dup":
        n = rng.randint(1, 6)
        return left_align_insertion(locus, pos, locus.get(pos - n, pos - 1))
    if kind == "homopolymer_ins":
        return left_align_insertion(locus, pos, locus.base(pos - 1) * rng.randint(1, 3))
    raise ValueError(kind)


def random_variants(locus: Locus, n: int, seed: int = 1234) -> list[Var]:
    """``n`` distinct left-aligned variants (overlaps allowed: csq runs with --local-csq)."""
    rng = random.Random(seed)
    regions = _regions(locus)
    categories = list(CATEGORY_WEIGHTS)
    kinds = list(KIND_WEIGHTS)
    taken: set[tuple[int, str, str]] = set()
    out: list[Var] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 200 * n:
            raise RuntimeError(f"could only place {len(out)} of {n} variants")
        category = rng.choices(categories, weights=[CATEGORY_WEIGHTS[c] for c in categories])[0]
        kind = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
        pos = _pick_position(rng, regions[category])
        v = _make(locus, rng, kind, pos)
        if v.ref == v.alt or v.key in taken:
            continue
        taken.add(v.key)
        out.append(Var(v.pos, v.ref, v.alt, category, kind))
    return sorted(out, key=lambda v: (v.pos, v.ref, v.alt))


def write_vcf(records: list[tuple[str, Var]], path: Path, shift: int, contig_length: int) -> None:
    """Sites-only VCF of (ID, variant) records, positions minus ``shift``, sorted."""
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.write(f"##contig=<ID=chr1,length={contig_length}>\n")
        fh.write('##INFO=<ID=CAT,Number=1,Type=String,Description="where the variant was put">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for vid, v in sorted(records, key=lambda r: (r[1].pos, r[1].ref, r[1].alt)):
            fh.write(
                f"chr1\t{v.pos - shift}\t{vid}\t{v.ref}\t{v.alt}\t.\t.\tCAT={v.category}.{v.kind}\n"
            )


# --- running the tools --------------------------------------------------------------------
def build_snpeff(locus: Locus, folder: Path) -> str:
    """Build the SnpEff database of the locus; returns the build log (stdout + stderr)."""
    t = locus.transcript
    genome_dir = folder / "data" / SNPEFF_GENOME
    genome_dir.mkdir(parents=True, exist_ok=True)
    (folder / "snpEff.config").write_text(
        f"data.dir = ./data/\n{SNPEFF_GENOME}.genome : NLRP3 test locus\n"
        f"{SNPEFF_GENOME}.chr1.codonTable : Standard\n"
    )
    write_gtf(locus, genome_dir / "genes.gtf")
    write_locus_fasta(locus, genome_dir / "sequences.fa")
    (genome_dir / "cds.fa").write_text(f">{t.accession}\n{locus.cds_sequence()}\n")
    (genome_dir / "protein.fa").write_text(f">{t.accession}\n{t.protein}\n")
    proc = run(
        [
            "java",
            "-Xmx1g",
            "-jar",
            snpeff_jar(),
            "build",
            "-c",
            "snpEff.config",
            "-gtf22",
            "-v",
            "-noLog",
            SNPEFF_GENOME,
        ],
        cwd=folder,
    )
    return proc.stdout + proc.stderr


def run_snpeff(folder: Path, vcf: Path, out: Path) -> None:
    proc = run(
        [
            "java",
            "-Xmx1g",
            "-jar",
            snpeff_jar(),
            "ann",
            "-c",
            "snpEff.config",
            "-noLog",
            "-noStats",
            SNPEFF_GENOME,
            str(vcf),
        ],
        cwd=folder,
    )
    out.write_text(proc.stdout)


def run_bcftools(fasta: Path, gff3: Path, vcf: Path, shifted: Path, out: Path) -> str:
    """``bcftools norm -f`` on the VCF (REF check, left-alignment), then ``csq --local-csq``
    on its records plus the 3'-shifted copies (which must not be normalised back).
    Returns norm's summary line."""
    pysam.faidx(str(fasta))
    normed = out.with_name(out.name + ".norm.vcf")
    norm = run(
        [
            "bcftools",
            "norm",
            "-f",
            str(fasta),
            "-c",
            "x",
            "-m",
            "-any",
            "-Ov",
            "-o",
            str(normed),
            str(vcf),
        ]
    )
    merged = out.with_name(out.name + ".in.vcf")
    header, body = [], []
    for path in (normed, shifted):
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                if path == normed:
                    header.append(line)
            else:
                body.append(line.split("\t"))
    body.sort(key=lambda f: (int(f[1]), f[3], f[4]))
    merged.write_text("\n".join(header + ["\t".join(f) for f in body]) + "\n")
    run(
        [
            "bcftools",
            "csq",
            "-f",
            str(fasta),
            "-g",
            str(gff3),
            "--local-csq",
            "-Ov",
            "-o",
            str(out),
            str(merged),
        ]
    )
    return norm.stderr.strip()


def run_ours(vcf: Path, out: Path) -> None:
    run(
        [
            sys.executable,
            "-m",
            "nlrp3annot",
            "annotate",
            str(vcf),
            "--fasta",
            str(GENOME),
            "-o",
            str(out),
            "-q",
        ]
    )


# --- parsing -------------------------------------------------------------------------------
@dataclass
class Call:
    """One tool's annotation of one variant on the NLRP3 transcript."""

    terms: set[str] = field(default_factory=set)
    hgvs_c: str = ""
    hgvs_p: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _vcf_records(path: Path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            info = dict((kv.split("=", 1) if "=" in kv else (kv, "")) for kv in f[7].split(";"))
            yield f[2], f[4], info


def parse_ours(path: Path) -> dict[str, Call]:
    import csv

    out = {}
    with open(path) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            key = row["id"]
            assert key not in out, key
            out[key] = Call(
                set(filter(None, row["consequence"].split("&"))),
                row["hgvs_c"].split(":", 1)[-1],
                row["hgvs_p"].split(":", 1)[-1],
                {"impact": row["impact"]},
            )
    return out


def parse_snpeff(path: Path, accession: str) -> dict[str, Call]:
    out = {}
    for key, alt, info in _vcf_records(path):
        call = Call()
        for entry in info.get("ANN", "").split(","):
            f = entry.split("|")
            if len(f) < 16 or f[0] != alt:
                continue
            if f[6] == accession:
                call.terms |= set(f[1].split("&"))
                call.hgvs_c, call.hgvs_p = f[9], f[10]
                call.extra = {"impact": f[2], "messages": f[15]}
            else:
                call.extra.setdefault("other", "")
                call.extra["other"] += f"{f[1]}:{f[6]};"
        out[key] = call
    return out


def parse_bcftools(path: Path) -> dict[str, Call]:
    out = {}
    for key, _alt, info in _vcf_records(path):
        call = Call()
        for entry in filter(None, info.get("BCSQ", "").split(",")):
            f = entry.split("|")
            if f[0].startswith("@"):
                call.extra["compound"] = f[0]
                continue
            call.terms |= set(f[0].lstrip("*").split("&"))
            if len(f) > 5:
                call.extra["aa"] = f[5]
            if len(f) > 6:
                call.extra["dna"] = f[6]
        out[key] = call
    return out


# --- folding into one vocabulary -------------------------------------------------------------
# The common vocabulary is VEP's SO names without the "_variant" suffix. VEP's finer
# donor-side terms replace splice_region_variant at intron +3..+6 (the same window SnpEff and
# csq call splice_region); the polypyrimidine tract (-3..-17) has no counterpart in either
# tool and is dropped (its -3..-8 part carries splice_region_variant anyway).
VEP_FOLD = {
    "splice_donor_5th_base_variant": "splice_region",
    "splice_donor_region_variant": "splice_region",
    "splice_polypyrimidine_tract_variant": "",
}
SNPEFF_FOLD = {
    "conservative_inframe_deletion": "inframe_deletion",
    "disruptive_inframe_deletion": "inframe_deletion",
    "conservative_inframe_insertion": "inframe_insertion",
    "disruptive_inframe_insertion": "inframe_insertion",
    "5_prime_UTR_premature_start_codon_gain_variant": "5_prime_UTR",
    "initiator_codon_variant": "start_retained",
    "non_canonical_start_codon": "start_retained",
    "start_retained_variant": "start_retained",
    "exon_loss_variant": "exon_loss",
    "5_prime_UTR_truncation": "5_prime_UTR",
    "3_prime_UTR_truncation": "3_prime_UTR",
}
BCFTOOLS_FOLD = {  # csq writes SO names without "_variant"; only the UTR case differs
    "5_prime_utr": "5_prime_UTR",
    "3_prime_utr": "3_prime_UTR",
}

SEVERITY = [
    "splice_acceptor",
    "splice_donor",
    "stop_gained",
    "frameshift",
    "stop_lost",
    "start_lost",
    "inframe_insertion",
    "inframe_deletion",
    "inframe_altering",
    "missense",
    "protein_altering",
    "splice_region",
    "start_retained",
    "stop_retained",
    "synonymous",
    "coding_sequence",
    "5_prime_UTR",
    "3_prime_UTR",
    "intron",
    "upstream_gene",
    "downstream_gene",
]


def strip_suffix(term: str) -> str:
    return term[: -len("_variant")] if term.endswith("_variant") else term


def fold_terms(terms: set[str], table: dict[str, str]) -> set[str]:
    return {strip_suffix(table.get(t, t)) for t in terms if t and table.get(t, t)}


SPLICE_TERMS = {"splice_donor", "splice_acceptor", "splice_region"}


def consequence_values(ctx: Ctx) -> tuple[set[str], set[str]]:
    """Both sides in the common vocabulary.

    - intron_variant as a co-term of a splice term is dropped on both sides: SnpEff writes
      splice_donor_variant&intron_variant and splice_region_variant&intron_variant, csq writes
      splice_region alone, VEP writes intron_variant with splice_region but not with
      splice_donor/acceptor. Where no splice term is involved, intron is compared.
    - splice_region_variant as a co-term of splice_donor/acceptor is dropped on both sides:
      csq reports only the donor/acceptor term (VEP's splice_region predicate does the
      same), SnpEff and nlrp3annot add splice_region for a change that also reaches the
      exon end or intron +3..+8.
    - csq has no upstream/downstream terms: they are dropped from our side for csq.
    """
    ours = fold_terms(ctx.ours.terms, VEP_FOLD)
    table = SNPEFF_FOLD if ctx.tool == "snpeff" else BCFTOOLS_FOLD
    theirs = fold_terms(ctx.theirs.terms, table)
    if ctx.tool == "bcftools":
        ours -= {"upstream_gene", "downstream_gene"}
    if (ours | theirs) & SPLICE_TERMS:
        ours.discard("intron")
        theirs.discard("intron")
    if (ours | theirs) & {"splice_donor", "splice_acceptor"}:
        ours.discard("splice_region")
        theirs.discard("splice_region")
    ctx.ours_terms, ctx.theirs_terms = ours, theirs
    return ours, theirs


def set_diff(ours: set[str], theirs: set[str]) -> list[str]:
    return sorted("+" + t for t in ours - theirs) + sorted("-" + t for t in theirs - ours)


def text_diff(ours: str, theirs: str) -> list[str]:
    return [] if ours == theirs else [""]


def most_severe(terms: set[str]) -> str:
    ranked = [t for t in SEVERITY if t in terms]
    return ranked[0] if ranked else ""


# --- HGVS folding ----------------------------------------------------------------------------
_AA3 = {
    "A": "Ala",
    "R": "Arg",
    "N": "Asn",
    "D": "Asp",
    "C": "Cys",
    "Q": "Gln",
    "E": "Glu",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "L": "Leu",
    "K": "Lys",
    "M": "Met",
    "F": "Phe",
    "P": "Pro",
    "S": "Ser",
    "T": "Thr",
    "W": "Trp",
    "Y": "Tyr",
    "V": "Val",
    "*": "Ter",
}


def fold_snpeff_hgvs_c(text: str) -> str:
    """SnpEff 5.1d's older HGVS c. style -> current style."""
    text = re.sub(r"del[ACGTN]+ins", "delins", text)
    text = re.sub(r"(del|dup)[ACGTN]+$", r"\1", text)
    return text


def fold_snpeff_hgvs_p(text: str) -> str:
    """p.Glu4Glu -> p.Glu4=, '*' -> Ter."""
    text = text.replace("*", "Ter")
    m = re.fullmatch(r"p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})", text)
    if m and m.group(1) == m.group(3):
        return f"p.{m.group(1)}{m.group(2)}="
    return text


def frameshift_stem(text: str) -> str:
    """p.Asp54GlyfsTer3 / p.Asp54fs -> p.Asp54fs (compare up to 'fs')."""
    m = re.match(r"(p\.[A-Z][a-z]{2}\d+)(?:[A-Z][a-z]{2})?fs", text)
    return f"{m.group(1)}fs" if m else text


def bcftools_protein(aa_change: str) -> str:
    """'260R>260W' -> 'p.Arg260Trp', '19D' -> 'p.Asp19=' (one residue only, else '')."""
    m = re.fullmatch(r"(\d+)([A-Z*])(?:>(\d+)([A-Z*]))?", aa_change)
    if not m or (m.group(3) and m.group(1) != m.group(3)):
        return ""
    ref = _AA3[m.group(2)]
    alt = _AA3[m.group(4)] if m.group(4) else ref
    return f"p.{ref}{m.group(1)}{'=' if ref == alt else alt}"


# --- geometry: edits, the 3' shift and where an edit sits on the transcript -----------------
@dataclass(frozen=True)
class Edit:
    """Reference bases start..end become ``alt``; an insertion has end == start - 1 and sits
    between ``end`` and ``start``."""

    start: int
    end: int
    alt: str

    @property
    def is_insertion(self) -> bool:
        return self.end < self.start

    @property
    def is_deletion(self) -> bool:
        return self.end >= self.start and not self.alt


def edit_of(v: Var) -> Edit:
    ref, alt, pos = v.ref, v.alt, v.pos
    if len(ref) != len(alt) and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return Edit(pos, pos + len(ref) - 1, alt)


def shift_right(locus: Locus, e: Edit) -> Edit:
    """The HGVS 3' rule, independently of nlrp3annot: move an indel as far 3' as it goes."""
    if e.is_deletion:
        start, end = e.start, e.end
        while locus.base(end + 1) == locus.base(start):
            start, end = start + 1, end + 1
        return Edit(start, end, "")
    if e.is_insertion:
        start, alt = e.start, e.alt
        while locus.base(start) == alt[0]:
            alt = alt[1:] + alt[0]
            start += 1
        return Edit(start, start - 1, alt)
    return e


def var_of(locus: Locus, e: Edit, like: Var, right_anchor: bool = False) -> Var:
    """VCF form of an edit: anchor base before it, or (``right_anchor``, deletions only) the
    base after it.

    csq trims a common suffix before a common prefix, which undoes a 3' shift written with
    the usual left anchor (GG>G at the 3' end of a G run is read as the first G deleted);
    with the anchor on the right it reads a deletion where it is. (A right-anchored
    insertion, C>GC, is read by csq 1.16 as a substitution plus insertion, so insertions
    keep the left anchor and csq may read them one base to the left.)"""
    if right_anchor and e.is_deletion:
        after = e.end + 1
        ref = locus.get(e.start, after)
        return Var(e.start, ref, e.alt + locus.base(after), like.category, like.kind)
    if e.is_deletion or e.is_insertion:
        anchor = e.start - 1
        ref = locus.get(anchor, e.end) if e.is_deletion else locus.base(anchor)
        alt = locus.base(anchor) + e.alt
        return Var(anchor, ref, alt, like.category, like.kind)
    return Var(e.start, locus.get(e.start, e.end), e.alt, like.category, like.kind)


class Model:
    """Independent reading of the transcript model: exons, introns, splice windows."""

    def __init__(self, transcript) -> None:
        self.t = transcript
        ex = list(transcript.exons)
        self.exons = ex
        self.introns = [(ex[i][1] + 1, ex[i + 1][0] - 1) for i in range(len(ex) - 1)]

    def exonic(self, pos: int) -> bool:
        return any(s <= pos <= e for s, e in self.exons)

    def intronic(self, pos: int) -> bool:
        return any(s <= pos <= e for s, e in self.introns)

    def coding(self, pos: int) -> bool:
        return self.exonic(pos) and self.t.cds_start <= pos <= self.t.cds_end

    def base_terms(self, pos: int) -> set[str]:
        """SO splice terms (SnpEff/bcftools/VEP windows) a change of this one base gets."""
        terms = set()
        for a, b in self.introns:
            if pos in (a, a + 1):
                terms.add("splice_donor")
            if pos in (b - 1, b):
                terms.add("splice_acceptor")
            if a + 2 <= pos <= a + 7 or b - 7 <= pos <= b - 2:
                terms.add("splice_region")
            if a - 3 <= pos <= a - 1 or b + 1 <= pos <= b + 3:
                terms.add("splice_region")
        return terms

    def touched(self, e: Edit) -> list[int]:
        """Bases a change touches; for an insertion its two flanking bases."""
        if e.is_insertion:
            return [e.end, e.start]
        return list(range(e.start, e.end + 1))

    def crosses_junction(self, e: Edit) -> bool:
        """Exonic and non-exonic bases both changed (or flank an insertion)."""
        states = {self.exonic(p) for p in self.touched(e)}
        return len(states) == 2

    def touches_coding(self, e: Edit) -> bool:
        return any(self.coding(p) for p in self.touched(e))

    def in_window(self, e: Edit, lo: int, hi: int) -> bool:
        return any(lo <= p <= hi for p in self.touched(e))

    def near_start_codon(self, e: Edit) -> bool:
        return self.in_window(e, self.t.cds_start - 1, self.t.cds_start + 3)

    def near_stop_codon(self, e: Edit) -> bool:
        return self.in_window(e, self.t.cds_end - 3, self.t.cds_end + 1)

    def intron_offsets(self, e: Edit) -> set[int]:
        """Intron offsets (+n from the donor side, -n from the acceptor side) touched."""
        out = set()
        for p in self.touched(e):
            for a, b in self.introns:
                if a <= p <= b:
                    out.add(p - a + 1)
                    out.add(-(b - p + 1))
        return out


# --- the whole run -------------------------------------------------------------------------
@dataclass
class Dataset:
    locus: Locus
    model: Model
    variants: dict[str, Var]  # ID -> left-aligned variant (what every tool is given)
    shifted: dict[str, Var]  # ID -> 3'-shifted copy, for indels that move
    ours: dict[str, Call]
    snpeff: dict[str, Call]  # ID (and ID + SHIFTED_SUFFIX) -> SnpEff's call
    bcftools: dict[str, Call]
    snpeff_build_log: str
    norm_summary: str


SHIFTED_SUFFIX = "_3p"


def prepare(transcript, folder: Path, n: int, seed: int = 1234) -> Dataset:
    """Generate the variants, run nlrp3annot, SnpEff and bcftools csq, parse all three."""
    locus = load_locus(transcript)
    model = Model(transcript)
    variants = {f"v{i}": v for i, v in enumerate(random_variants(locus, n, seed), start=1)}
    shifted, right_anchored = {}, {}
    for vid, v in variants.items():
        e = edit_of(v)
        r = shift_right(locus, e)
        if r != e:
            shifted[vid + SHIFTED_SUFFIX] = var_of(locus, r, v)
            right_anchored[vid + SHIFTED_SUFFIX] = var_of(locus, r, v, right_anchor=True)
    left = list(variants.items())
    write_vcf(left, folder / "ours.vcf", 0, CHR1_LENGTH)
    write_vcf(left, folder / "tools.vcf", locus.shift, len(locus.bases))
    write_vcf(
        list(right_anchored.items()), folder / "tools.shifted.vcf", locus.shift, len(locus.bases)
    )
    write_vcf(left + list(shifted.items()), folder / "tools.all.vcf", locus.shift, len(locus.bases))
    write_locus_fasta(locus, folder / "locus.fa")
    write_gff3(locus, folder / "genes.gff3")

    snpeff_dir = folder / "snpeff"
    build_log = build_snpeff(locus, snpeff_dir)
    run_snpeff(snpeff_dir, folder / "tools.all.vcf", folder / "snpeff.vcf")
    norm = run_bcftools(
        folder / "locus.fa",
        folder / "genes.gff3",
        folder / "tools.vcf",
        folder / "tools.shifted.vcf",
        folder / "csq.vcf",
    )
    run_ours(folder / "ours.vcf", folder / "ours.tsv")
    return Dataset(
        locus,
        model,
        variants,
        shifted,
        parse_ours(folder / "ours.tsv"),
        parse_snpeff(folder / "snpeff.vcf", transcript.accession),
        parse_bcftools(folder / "csq.vcf"),
        build_log,
        norm,
    )


# --- comparison engine -----------------------------------------------------------------------
@dataclass
class Ctx:
    """One variant compared with one tool on one aspect."""

    vid: str
    tool: str
    var: Var
    left: Edit  # as written in the VCF (left-aligned)
    right: Edit  # after the HGVS 3' shift
    model: Model
    ours: Call
    theirs: Call
    ours_terms: set[str]
    theirs_terms: set[str]
    shifted: bool  # theirs is the tool's call on the 3'-shifted copy
    locus: Locus | None = None

    @property
    def is_snv(self) -> bool:
        return len(self.var.ref) == 1 and len(self.var.alt) == 1

    @property
    def is_indel(self) -> bool:
        return not self.is_snv


@dataclass(frozen=True)
class Allowance:
    """A named, counted disagreement class with its reason.

    ``applies(ctx, diff)`` says whether it explains one difference: for consequences ``diff``
    is '+term' (only nlrp3annot has it) or '-term' (only the other tool), for HGVS it is ''.
    ``cap`` is the most variants the reason may explain; more fails the test.
    """

    name: str
    tool: str  # 'snpeff' or 'bcftools'
    aspect: str  # 'consequence', 'hgvs_c', 'hgvs_p'
    cap: int
    reason: str
    applies: object  # Callable[[Ctx, str], bool]
    bug: bool = False  # a suspected nlrp3annot bug (reported), not a style difference


@dataclass
class Outcome:
    compared: int = 0
    agree_raw: int = 0  # equal before any allowance
    agree_class: int = 0  # most severe term equal (consequence aspect only)
    used: dict[str, list[str]] = field(default_factory=dict)  # allowance -> variant IDs
    unexplained: list[str] = field(default_factory=list)  # human-readable lines


def _explain(ctx: Ctx, diffs: list[str], allowances: list[Allowance]) -> tuple[list[str], set]:
    """(unexplained diffs, names of the allowances used)."""
    used, left = set(), []
    for d in diffs:
        hit = next((a for a in allowances if a.applies(ctx, d)), None)
        if hit is None:
            left.append(d)
        else:
            used.add(hit.name)
    return left, used


def compare(
    ds: Dataset,
    tool: str,
    aspect: str,
    allowances: list[Allowance],
    fold: object,  # Callable[[Ctx], tuple[object, object] | None]: comparable values or None
    diff_of: object,  # Callable[[object, object], list[str]]: the differences
    shift_allowance: Allowance | None,
    describe: object,  # Callable[[Ctx], str]
) -> Outcome:
    """Compare every variant; differences must be explained by ``allowances``, trying the
    tool's call on the 3'-shifted copy (counted under ``shift_allowance``) when that helps."""
    calls = ds.snpeff if tool == "snpeff" else ds.bcftools
    mine = [a for a in allowances if a.tool == tool and a.aspect == aspect]
    out = Outcome(used={a.name: [] for a in mine})
    if shift_allowance is not None:
        out.used[shift_allowance.name] = []
    for vid, v in ds.variants.items():
        left = edit_of(v)
        right = shift_right(ds.locus, left)
        options = [(False, calls[vid])]
        if shift_allowance is not None and vid + SHIFTED_SUFFIX in calls:
            options.append((True, calls[vid + SHIFTED_SUFFIX]))
        best = None
        for shifted, theirs in options:
            ctx = Ctx(
                vid,
                tool,
                v,
                left,
                right,
                ds.model,
                ds.ours[vid],
                theirs,
                set(),
                set(),
                shifted,
                ds.locus,
            )
            values = fold(ctx)
            if values is None:
                break  # not comparable on this aspect
            diffs = diff_of(*values)
            missing, used = _explain(ctx, diffs, mine)
            if shifted:
                used.add(shift_allowance.name)
            # prefer the explanation the tool itself confirms (its call on the shifted copy)
            score = (len(missing), len(used - {shift_allowance.name} if shifted else used))
            if best is None or score < best[0]:
                best = (score, ctx, diffs, missing, used, values)
            if not diffs:
                break
        if best is None:
            continue
        _, ctx, diffs, missing, used, values = best
        out.compared += 1
        raw = fold(
            Ctx(
                vid,
                tool,
                v,
                left,
                right,
                ds.model,
                ds.ours[vid],
                calls[vid],
                set(),
                set(),
                False,
                ds.locus,
            )
        )
        out.agree_raw += not diff_of(*raw)
        if aspect == "consequence":
            out.agree_class += most_severe(raw[0]) == most_severe(raw[1])
        if missing:
            out.unexplained.append(f"{vid} {describe(ctx)} unexplained: {' '.join(missing)}")
        else:
            for name in used:
                out.used[name].append(vid)
    return out


# --- an independent protein oracle -----------------------------------------------------------
_AA1 = {three: one for one, three in _AA3.items()}


def _translate_to_stop(dna: str) -> tuple[str, bool]:
    """Protein up to and including the first stop; (protein, found a stop)."""
    protein = translate(dna[: len(dna) - len(dna) % 3])
    if "*" in protein:
        return protein[: protein.index("*") + 1], True
    return protein, False


def coding_transcript(locus: Locus, model: Model, edit: Edit | None = None) -> str | None:
    """Spliced sequence from c.1 to the transcript end, with ``edit`` applied when it lies
    inside the coding part of one exon (else None)."""
    t = model.t
    parts = []
    for s, e in model.exons:
        seq = locus.get(s, e)
        if edit is not None and s <= min(edit.start, edit.end) and max(edit.start, edit.end) <= e:
            a, b = edit.start - s, edit.end - s + 1
            seq = seq[:a] + edit.alt + seq[b:]
        parts.append((s, e, seq))
    if edit is not None:
        lo, hi = sorted((edit.start, edit.end))
        inside = any(s <= lo and hi <= e for s, e in model.exons)
        if not inside or lo < t.cds_start or hi > t.cds_end:
            return None
    spliced = "".join(p[2] for p in parts)
    before = sum(min(e, t.cds_start - 1) - s + 1 for s, e in model.exons if s < t.cds_start)
    return spliced[before:]


def true_protein(locus: Locus, model: Model, edit: Edit | None = None) -> tuple[str, bool] | None:
    coding = coding_transcript(locus, model, edit)
    return None if coding is None else _translate_to_stop(coding)


def _residues(text: str) -> str:
    return "".join(_AA1[text[i : i + 3]] for i in range(0, len(text), 3))


_P_RANGE = r"([A-Z][a-z]{2})(\d+)(?:_([A-Z][a-z]{2})(\d+))?"


def apply_hgvs_p(desc: str, ref: str) -> str | None:
    """The protein an HGVS p. description (in-frame kinds) makes of ``ref`` (ending in '*'),
    cut after its first stop; None for forms it does not model (fs, ext, ?)."""
    d = desc[2:] if desc.startswith("p.") else desc
    m = re.fullmatch(
        _P_RANGE + r"(=|del|dup|delins((?:[A-Z][a-z]{2})+)|ins((?:[A-Z][a-z]{2})+)"
        r"|[A-Z][a-z]{2})",
        d,
    )
    if not m:
        return None
    a3, a, b3, b, op, delins, ins = m.groups()
    a = int(a)
    b = int(b) if b else a
    if ref[a - 1] != _AA1.get(a3) or (b3 and ref[b - 1] != _AA1.get(b3)):
        return None
    if op == "=":
        out = ref
    elif op == "del":
        out = ref[: a - 1] + ref[b:]
    elif op == "dup":
        out = ref[:b] + ref[a - 1 : b] + ref[b:]
    elif delins:
        out = ref[: a - 1] + _residues(delins) + ref[b:]
    elif ins:
        if b != a + 1:
            return None
        out = ref[:a] + _residues(ins) + ref[a:]
    else:  # substitution, e.g. Arg260Trp or Leu27Ter
        out = ref[: a - 1] + _AA1[op] + ref[a:]
    return out[: out.index("*") + 1] if "*" in out else out


def oracle_frameshift(ref: str, alt: str, found_stop: bool) -> str:
    """HGVS p. of a frameshift from the two proteins: p.Xxx#YyyfsTerN, or p.Xxx#Ter when the
    first changed residue is a stop, or p.Ter#YyyextTerN when the stop itself changes."""
    d = next(i for i, (x, y) in enumerate(zip(ref, alt, strict=False)) if x != y)
    first = f"{_AA3[ref[d]]}{d + 1}"
    if alt[d] == "*":
        return f"p.{first}Ter"
    if ref[d] == "*":
        return f"p.{first}{_AA3[alt[d]]}ext" + (f"Ter{len(alt) - 1 - d}" if found_stop else "Ter?")
    return f"p.{first}{_AA3[alt[d]]}fs" + (f"Ter{len(alt) - d}" if found_stop else "Ter?")


def c_label(model: Model, pos: int) -> str:
    """HGVS c. position of an exonic, upstream or downstream base (not intronic)."""
    t = model.t
    starts, total = [], 0
    for s, e in model.exons:
        starts.append(total + 1)
        total += e - s + 1

    def tx_of(p: int) -> int:
        for (s, e), t0 in zip(model.exons, starts, strict=True):
            if s <= p <= e:
                return t0 + p - s
        raise ValueError(p)

    if pos < t.tx_start:
        tx = 1 - (t.tx_start - pos)
    elif pos > t.tx_end:
        tx = total + pos - t.tx_end
    else:
        tx = tx_of(pos)
    c1, last = tx_of(t.cds_start), tx_of(t.cds_end)
    if tx < c1:
        return str(tx - c1)
    if tx > last:
        return f"*{tx - last}"
    return str(tx - c1 + 1)
