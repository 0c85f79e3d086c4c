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

_COMPLEMENT = str.maketrans("ACGT", "TGCA")


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

    transcript: object  # nlrp3annot.reference.Transcript
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


def _cds_parts(locus: Locus) -> list[tuple[int, int]]:
    t = locus.transcript
    return [
        (max(s, t.cds_start), min(e, t.cds_end))
        for s, e in t.exons
        if e >= t.cds_start and s <= t.cds_end
    ]


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
    for i, (s, e) in enumerate(t.exons):
        rows.append(("exon", s, e, "."))
        a, b = max(s, t.cds_start), min(e, stop_start - 1)
        if a <= b:
            rows.append(("CDS", a, b, str((3 - done % 3) % 3)))
            done += b - a + 1
        del i
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
            fh.write(
                f"chr1\tRefSeq\t{feature}\t{s - d}\t{e - d}\t.\t+\t{frame}\t{attrs}{number}\n"
            )


def write_gff3(locus: Locus, path: Path) -> None:
    """GFF3 for bcftools csq: Ensembl-style IDs, biotype=, CDS includes the stop codon."""
    t, d = locus.transcript, locus.shift
    tx = f"transcript:{t.accession}"
    lines = [
        ("gene", t.tx_start, t.tx_end, ".",
         f"ID=gene:{t.gene_id};Name={t.gene};biotype=protein_coding"),
        ("mRNA", t.tx_start, t.tx_end, ".",
         f"ID={tx};Parent=gene:{t.gene_id};Name={t.accession};biotype=protein_coding"),
    ]
    done = 0
    for s, e in t.exons:
        if s < t.cds_start:
            lines.append(("five_prime_UTR", s, min(e, t.cds_start - 1), ".", f"Parent={tx}"))
        lines.append(("exon", s, e, ".", f"Parent={tx}"))
        a, b = max(s, t.cds_start), min(e, t.cds_end)
        if a <= b:
            lines.append(("CDS", a, b, str((3 - done % 3) % 3),
                          f"ID=CDS:{t.protein_id};Parent={tx}"))
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

    @property
    def span(self) -> tuple[int, int]:
        """Reference bases the record covers (anchor included), plus the base after an
        insertion (the tools treat an insertion as touching both flanks)."""
        end = self.pos + len(self.ref) - 1
        return self.pos, end + (1 if len(self.alt) > len(self.ref) else 0)


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
    cds = [(max(s, t.cds_start), min(e, t.cds_end)) for s, e in exons
           if e >= t.cds_start and s <= t.cds_end]
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


def write_vcf(variants: list[Var], path: Path, shift: int, contig_length: int) -> None:
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.write(f"##contig=<ID=chr1,length={contig_length}>\n")
        fh.write('##INFO=<ID=CAT,Number=1,Type=String,Description="where the variant was put">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, v in enumerate(variants, start=1):
            fh.write(
                f"chr1\t{v.pos - shift}\tv{i}\t{v.ref}\t{v.alt}\t.\t.\tCAT={v.category}.{v.kind}\n"
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
        ["java", "-Xmx1g", "-jar", snpeff_jar(), "build", "-c", "snpEff.config", "-gtf22",
         "-v", "-noLog", SNPEFF_GENOME],
        cwd=folder,
    )
    return proc.stdout + proc.stderr


def run_snpeff(folder: Path, vcf: Path, out: Path) -> None:
    proc = run(
        ["java", "-Xmx1g", "-jar", snpeff_jar(), "ann", "-c", "snpEff.config", "-noLog",
         "-noStats", SNPEFF_GENOME, str(vcf)],
        cwd=folder,
    )
    out.write_text(proc.stdout)


def run_bcftools(fasta: Path, gff3: Path, vcf: Path, out: Path) -> str:
    """norm (check REF, left-align) then csq per variant; returns norm's stderr summary."""
    pysam.faidx(str(fasta))
    normed = out.with_name(out.name + ".norm.vcf")
    norm = run(["bcftools", "norm", "-f", str(fasta), "-c", "x", "-m", "-any", "-Ov",
                "-o", str(normed), str(vcf)])
    run(["bcftools", "csq", "-f", str(fasta), "-g", str(gff3), "--local-csq", "-p", "a",
         "-Ov", "-o", str(out), str(normed)])
    return norm.stderr


def run_ours(vcf: Path, out: Path) -> None:
    run([sys.executable, "-m", "nlrp3annot", "annotate", str(vcf), "--fasta", str(GENOME),
         "-o", str(out), "-q"])


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
            info = dict(
                (kv.split("=", 1) if "=" in kv else (kv, "")) for kv in f[7].split(";")
            )
            yield int(f[1]), f[3], f[4], info


def parse_ours(path: Path) -> dict[tuple[int, str, str], Call]:
    import csv

    out = {}
    with open(path) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            key = (int(row["pos"]), row["ref"], row["alt"])
            assert key not in out, key
            out[key] = Call(
                set(filter(None, row["consequence"].split("&"))),
                row["hgvs_c"].split(":", 1)[-1],
                row["hgvs_p"].split(":", 1)[-1],
                {"impact": row["impact"]},
            )
    return out


def parse_snpeff(path: Path, shift: int, accession: str) -> dict[tuple[int, str, str], Call]:
    out = {}
    for pos, ref, alt, info in _vcf_records(path):
        key = (pos + shift, ref, alt)
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


def parse_bcftools(path: Path, shift: int) -> dict[tuple[int, str, str], Call]:
    out = {}
    for pos, ref, alt, info in _vcf_records(path):
        key = (pos + shift, ref, alt)
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
# The common vocabulary is VEP's SO names without the "_variant" suffix.
VEP_FOLD = {
    "splice_donor_5th_base_variant": "splice_region",
    "splice_donor_region_variant": "splice_region",
    "splice_polypyrimidine_tract_variant": "splice_region",
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
    "splice_donor_region_variant": "splice_region",
    "splice_donor_5th_base_variant": "splice_region",
    "splice_polypyrimidine_tract_variant": "splice_region",
    "5_prime_UTR_truncation": "5_prime_UTR",
    "3_prime_UTR_truncation": "3_prime_UTR",
}
BCFTOOLS_FOLD = {
    "5_prime_utr": "5_prime_UTR",
    "3_prime_utr": "3_prime_UTR",
    "splice_acceptor": "splice_acceptor",
    "splice_donor": "splice_donor",
    "inframe_altering": "inframe_altering",
}

SEVERITY = [
    "splice_acceptor", "splice_donor", "stop_gained", "frameshift", "stop_lost", "start_lost",
    "inframe_insertion", "inframe_deletion", "inframe_altering", "missense",
    "protein_altering", "splice_region", "start_retained", "stop_retained", "synonymous",
    "coding_sequence", "5_prime_UTR", "3_prime_UTR", "intron", "upstream", "downstream",
]
CODING_OR_SPLICE = set(SEVERITY[: SEVERITY.index("coding_sequence") + 1])


def strip_suffix(term: str) -> str:
    return term[: -len("_variant")] if term.endswith("_variant") else term


def fold_terms(terms: set[str], table: dict[str, str]) -> set[str]:
    return {strip_suffix(table.get(t, t)) for t in terms if t}


def most_severe(terms: set[str]) -> str:
    ranked = [t for t in SEVERITY if t in terms]
    return ranked[0] if ranked else ""


# --- HGVS folding ----------------------------------------------------------------------------
_AA3 = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
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
    """'260R>260W' -> 'p.Arg260Trp' (single residue changes only, else '')."""
    m = re.fullmatch(r"(\d+)([A-Z*])>(\d+)([A-Z*])", aa_change)
    if not m or m.group(1) != m.group(3):
        return ""
    ref, alt = _AA3[m.group(2)], _AA3[m.group(4)]
    return f"p.{ref}{m.group(1)}{'=' if ref == alt else alt}"


def revcomp(s: str) -> str:
    return s.translate(_COMPLEMENT)[::-1]
